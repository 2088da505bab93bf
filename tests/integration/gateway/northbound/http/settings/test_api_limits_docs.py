"""Over real HTTP: the body limit holds while a body streams in, /docs works offline, OpenAPI declares bearer."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

from tests.integration.gateway.northbound.http.settings.conftest import Serve, client


async def _stream_until_answered(port: int, path: str, total: int) -> tuple[bytes, int]:
    """POST a chunked body of up to ``total`` bytes while reading; returns (status line, bytes sent by then)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer api-reader-token-0123456789\r\n"
        "Content-Type: application/sparql-query\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    writer.write(head.encode())
    sent = 0
    chunk = b"ASK {} #" + b"x" * 65_528

    async def feed() -> None:
        nonlocal sent
        while sent < total:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)

    feeding = asyncio.create_task(feed())
    try:
        status = await asyncio.wait_for(reader.readline(), 30)
    finally:
        feeding.cancel()
        writer.close()
    return status, sent


async def test_chunked_body_over_the_limit_refused_while_streaming(serve: Serve) -> None:
    gw, base = await serve()
    port = gw.services["http"].port  # type: ignore[attr-defined]
    status, sent = await _stream_until_answered(port, "/sparql", total=500_000_000)
    assert status.startswith(b"HTTP/1.1 413"), status
    # answered after about the 1 MB limit (plus what the socket buffers held), not after the 500 MB offered
    assert sent < 50_000_000, sent
    async with client(base) as c:  # the service is unharmed
        r = await c.post("/sparql", content="ASK {}", headers={"Content-Type": "application/sparql-query"})
        assert r.status_code == 200


async def test_body_limit_is_a_setting_and_covers_every_route(serve: Serve) -> None:
    _, base = await serve("    max_body_bytes: 2000")
    query = "ASK { ?s ?p ?o } #" + "x" * 2500
    async with client(base, token="api-operator-token-0123456789") as c:
        r = await c.post("/sparql", content=query, headers={"Content-Type": "application/sparql-query"})
        assert r.status_code == 413 and "2,000 bytes" in r.json()["error"]
        r = await c.put("/points/ahu1.fan/value", json={"value": 10, "pad": "x" * 2500})
        assert r.status_code == 413  # a JSON body too, before it is parsed
        r = await c.put("/points/ahu1.fan/value", json={"value": 10})
        assert r.status_code == 200
        r = await c.get("/sparql", params={"query": "ASK { ?s ?p ?o } #" + "x" * 1500})
        assert r.status_code == 200  # the limit is on bodies; a URL is bounded by the server's line limit


async def test_docs_served_offline(serve: Serve) -> None:
    _, base = await serve()
    async with client(base, token=None) as c:  # no token: the docs describe the API, not the twin
        r = await c.get("/docs")
        assert r.status_code == 200 and "swagger" in r.text.lower()
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", r.text) + re.findall(r"url: *'([^']+)'", r.text)
        assert len(urls) >= 4, urls  # the bundle, the stylesheet, the icon, the OpenAPI document
        for url in urls:
            assert not urlsplit(url).scheme and not url.startswith("//"), url  # local: nothing from a CDN
            asset = await c.get(url)
            assert asset.status_code == 200, url
        types = {u.rsplit(".", 1)[-1]: (await c.get(u)).headers["content-type"] for u in urls}
        assert "javascript" in types["js"] and "text/css" in types["css"]
        assert len((await c.get("/docs/assets/swagger-ui-bundle.js")).content) > 500_000  # the real bundle
        assert '"validatorUrl": null' in r.text  # the validator badge would send the document outside
        assert (await c.get("/redoc")).status_code == 404  # ReDoc would load from a CDN: not offered


async def test_openapi_declares_bearer_auth(serve: Serve) -> None:
    _, base = await serve()
    async with client(base, token=None) as c:
        doc = (await c.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    (name, scheme), *_ = schemes.items()
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    paths = doc["paths"]
    for path, method in [
        ("/sparql", "get"),
        ("/sparql", "post"),
        ("/points", "get"),
        ("/points/{point_id}/value", "put"),
        ("/metrics", "get"),
        ("/stream", "get"),
    ]:
        assert paths[path][method].get("security") == [{name: []}], (path, method)
    assert "security" not in paths["/health"]["get"]
