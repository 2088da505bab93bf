"""/sparql refuses what would let a client act through the gateway: updates (however written) and SERVICE.

Oxigraph runs ``SERVICE <iri> {...}`` by calling that IRI over HTTP, so an accepted SERVICE query lets any
reader reach addresses only the gateway can reach. A local HTTP server counts the calls: there must be none.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.integration.gateway.northbound.http.settings.conftest import Serve, client


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.end_headers()
            self.wfile.write(b'{"head":{"vars":[]},"results":{"bindings":[{}]}}')

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}", hits
    srv.shutdown()
    srv.server_close()


async def test_service_is_refused_and_never_called(serve: Serve, listener: tuple[str, list[str]]) -> None:
    url, hits = listener
    _, base = await serve("    anonymous_read: true")
    queries = [
        f"SELECT * WHERE {{ SERVICE <{url}/a> {{ ?s ?p ?o }} }}",
        f"select * where {{ service silent <{url}/b> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s a ?t .SERVICE<{url}/c>{{?x ?y ?z}} }}",
        f"PREFIX e: <{url}/> SELECT * WHERE {{ # a comment with a quote ' \n SERVICE e:d {{ ?s ?p ?o }} }}",
        f"PREFIX ex: <http://x/> SELECT * WHERE {{ ?s ex:a\\'b ?o . SERVICE <{url}/e> {{ ?x ?y ?z }} }}",
        f'SELECT * WHERE {{ BIND("#" AS ?h) SERVICE <{url}/f> {{ ?s ?p ?o }} }}',
    ]
    async with client(base, token=None) as c:
        for q in queries:
            for r in (
                await c.get("/sparql", params={"query": q}),
                await c.post("/sparql", data={"query": q}),
                await c.post("/sparql", content=q, headers={"Content-Type": "application/sparql-query"}),
            ):
                assert r.status_code == 403, (q, r.text)
                assert "SERVICE" in r.json()["error"]
    assert hits == []


async def test_service_lookalikes_still_run(serve: Serve) -> None:
    _, base = await serve()
    q = (
        'PREFIX service: <http://api.test/> PREFIX ex: <http://x/> SELECT ?service ("SERVICE <http://x> {}" AS ?s) '
        "WHERE { ?service a <https://brickschema.org/schema/Brick#AHU> . "
        "OPTIONAL { ?service service:service ?x } OPTIONAL { ?service ex:serviceLevel ?y } }  # SERVICE <x> {}"
    )
    async with client(base) as c:
        r = await c.get("/sparql", params={"query": q})
        assert r.status_code == 200, r.text
        assert [b["service"]["value"] for b in r.json()["results"]["bindings"]] == ["http://api.test/asset/ahu1"]


async def test_updates_refused_however_written(serve: Serve) -> None:
    _, base = await serve()
    updates = [
        "# tidy up\nINSERT DATA { <http://x> <http://y> <http://z> }",
        "PREFIX tb: <https://w3id.org/twinbridge#> # live values\nDELETE WHERE { ?p tb:value ?v }",
        "BASE <http://api.test/> PREFIX : <#> CLEAR ALL",
    ]
    async with client(base) as c:
        for u in updates:
            r = await c.get("/sparql", params={"query": u})
            assert r.status_code == 403 and "Update" in r.json()["error"], (u, r.text)
        n = await c.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
        assert int(n.json()["results"]["bindings"][0]["n"]["value"]) > 100  # nothing was cleared


async def test_oversized_query_bodies_are_refused(serve: Serve) -> None:
    _, base = await serve()
    huge = "ASK {} #" + "x" * 2_000_000

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the cap must hold while reading
        for i in range(0, len(huge), 65_536):
            yield huge[i : i + 65_536].encode()

    async with client(base) as c:
        r = await c.post("/sparql", content=huge, headers={"Content-Type": "application/sparql-query"})
        assert r.status_code == 413 and "1,000,000 bytes" in r.json()["error"]
        r = await c.post("/sparql", content=chunked(), headers={"Content-Type": "application/sparql-query"})
        assert r.status_code == 413
        r = await c.post("/sparql", data={"query": huge})
        assert r.status_code == 413
        r = await c.post("/sparql", content="ASK {}", headers={"Content-Type": "application/sparql-query"})
        assert r.status_code == 200  # an ordinary query still runs


async def test_service_hidden_from_a_text_scanner_is_refused(serve: Serve, listener: tuple[str, list[str]]) -> None:
    """Each of these runs SERVICE in Oxigraph, yet a scanner of the text sees no SERVICE keyword in it."""
    url, hits = listener
    _, base = await serve()
    queries = [
        # a comment ended by a bare CR (Oxigraph ends comments at CR or LF)
        f"SELECT * WHERE {{ # note\rSERVICE <{url}/cr> {{ ?s ?p ?o }} }}",
        # a \\u escape inside an IRI (valid there), then a '#' in the same IRI
        f"SELECT * WHERE {{ BIND(<http://x/\\u0041#> AS ?i) SERVICE <{url}/uchar> {{ ?s ?p ?o }} }}",
        # an IRI holding a quote, then '<' as a comparison with a string holding '>'
        f"SELECT * WHERE {{ BIND(<http://x/a'b> AS ?i) BIND(1<'x>' AS ?z) SERVICE <{url}/cmp> {{ ?s ?p ?o }} "
        "BIND('q' AS ?w) }",
    ]
    async with client(base) as c:
        for q in queries:
            r = await c.get("/sparql", params={"query": q})
            assert r.status_code == 403, (q, r.text)
            assert "SERVICE" in r.json()["error"]
    assert hits == []


async def test_service_nested_escaped_or_variable_is_refused(serve: Serve, listener: tuple[str, list[str]]) -> None:
    """SERVICE wherever the grammar allows it, spelled with escapes or a variable endpoint: 403, no request."""
    url, hits = listener
    _, base = await serve()
    queries = [
        f"SELECT * WHERE {{ BIND(<{url}/var> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ VALUES ?e {{ <{url}/values> }} SERVICE SILENT ?e {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c FILTER EXISTS {{ SERVICE <{url}/exists> {{ ?s ?p ?o }} }} }}",
        f"ASK {{ ?a ?b ?c MINUS {{ SERVICE <{url}/minus> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ OPTIONAL {{ SERVICE <{url}/sub> {{ ?s ?p ?o }} }} }} }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {{ ?a ?b ?c }} UNION {{ SERVICE <{url}/union> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ \\u0053ERV\\U00000049CE <{url}/escaped> {{ ?s ?p ?o }} }}",
        f'SELECT * WHERE {{ BIND("#" AS ?h) SERVICE <{url}/hash> {{ ?s ?p ?o }} }}',
    ]
    async with client(base) as c:
        for q in queries:
            r = await c.post("/sparql", data={"query": q})
            assert r.status_code == 403 and "SERVICE" in r.json()["error"], (q, r.text)
        r = await c.get("/metrics")
        assert f'twinbridge_sparql_query_errors_total{{reason="service"}} {len(queries)}.0' in r.text
    assert hits == []
