"""HTTP API settings over real HTTP: anonymous reads, CORS, the result-size cap, error bodies."""

from __future__ import annotations

from tests.integration.gateway.northbound.http.settings.conftest import OPERATOR, READER, Serve, client

SELECT = "SELECT ?p WHERE { ?p a <https://w3id.org/twinbridge#Point> } LIMIT 1"
EVERYTHING = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"


async def test_anonymous_reads_only_when_configured(serve: Serve) -> None:
    _, closed = await serve()
    async with client(closed, token=None) as c:
        for path in ("/points", "/assets", "/sources", "/metrics", f"/sparql?query={SELECT}", "/stream"):
            r = await c.get(path)
            assert r.status_code == 401, path
            assert "bearer token" in r.json()["error"] and r.headers["www-authenticate"] == "Bearer"
        assert (await c.get("/health")).status_code == 200

    _, open_ = await serve("    anonymous_read: true")
    async with client(open_, token=None) as c:
        assert (await c.get("/points", params={"asset": "hall"})).status_code == 200
        r = await c.get("/sparql", params={"query": SELECT})
        assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 1
        r = await c.put("/points/ahu1.fan/value", json={"value": 10})  # anonymous is a reader: no writes
        assert r.status_code == 401 and "bearer token" in r.json()["error"]
    async with client(open_, token="not-a-configured-token-000") as c:
        r = await c.get("/points")  # a wrong token is refused, never downgraded to anonymous
        assert r.status_code == 401 and "unknown" in r.json()["error"]
    async with client(open_, token=READER) as c:
        r = await c.put("/points/ahu1.fan/value", json={"value": 10})
        assert r.status_code == 403 and "operator" in r.json()["error"] and "viewer" in r.json()["error"]
    async with client(open_, token=OPERATOR) as c:
        r = await c.put("/points/ahu1.fan/value", json={"value": 10})
        assert r.status_code == 200 and r.json()["status"] == "Good"


async def test_cors_only_for_configured_origins(serve: Serve) -> None:
    _, base = await serve('    cors_origins: ["https://dash.example"]')
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with client(base) as c:
        r = await c.options("/sparql", headers={"Origin": "https://dash.example", **preflight})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://dash.example"
        assert "authorization" in r.headers["access-control-allow-headers"].lower()
        r = await c.options("/sparql", headers={"Origin": "https://evil.example", **preflight})
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
        r = await c.get("/points", headers={"Origin": "https://dash.example"})
        assert r.headers["access-control-allow-origin"] == "https://dash.example"
        r = await c.get("/points", headers={"Origin": "https://evil.example"})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers

    _, plain = await serve()
    async with client(plain) as c:
        r = await c.get("/points", headers={"Origin": "https://dash.example"})
        assert "access-control-allow-origin" not in r.headers


async def test_result_size_cap(serve: Serve) -> None:
    gw, base = await serve("    max_result_bytes: 4000")
    async with client(base) as c:
        for accept in ("text/turtle", "application/n-triples", "application/ld+json"):
            r = await c.get("/sparql", params={"query": EVERYTHING}, headers={"Accept": accept})
            assert r.status_code == 413, accept
            assert "4,000 byte limit" in r.json()["error"] and "LIMIT" in r.json()["error"]
        r = await c.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}, headers={"Accept": "text/csv"})
        assert r.status_code == 413
        # under the cap the same worker answers (a refused result does not cost a worker)
        worker = gw.services["http"].app.state.api.worker  # type: ignore[attr-defined]
        pid = worker._proc.pid
        r = await c.get("/sparql", params={"query": SELECT})
        assert r.status_code == 200 and worker._proc.pid == pid and worker.killed == 0
        assert 'twinbridge_sparql_query_errors_total{reason="toolarge"} 4.0' in (await c.get("/metrics")).text


async def test_errors_are_json_with_a_message(serve: Serve) -> None:
    _, base = await serve()
    as_json = {"Content-Type": "application/json"}
    async with client(base, token=OPERATOR) as c:
        cases = [
            (await c.get("/no/such/route"), 404),
            (await c.delete("/points/ahu1.fan"), 405),
            (await c.post("/sparql", content="ASK {}", headers={"Content-Type": "text/plain"}), 415),
            (await c.post("/sparql", data={"nothing": "here"}), 400),
            (await c.put("/points/ahu1.fan/value", json={"val": 1}), 422),
            (await c.put("/points/ahu1.fan/value", content=b"{not json", headers=as_json), 422),
            (await c.get("/points", params={"quality": "excellent"}), 422),
            (await c.get("/sparql", params={"query": "ASK {}", "default-graph-uri": "not an iri"}), 400),
            (await c.get("/assets/nope"), 404),
        ]
        for r, status in cases:
            assert r.status_code == status, (r.request.url, r.text)
            body = r.json()
            assert isinstance(body["error"], str) and len(body["error"]) > 5, body
            assert "Traceback" not in r.text and 'File "' not in r.text
        assert any("value" in p for p in cases[4][0].json()["problems"])  # names the missing field
        assert "application/sparql-query" in cases[2][0].json()["error"]  # says what to send instead


async def test_gateway_restarts_with_the_api(serve: Serve) -> None:
    gw, _ = await serve()
    await gw.stop()
    await gw.start()  # builds a new HttpApi on the same gateway (and metrics registry)
    base = f"http://127.0.0.1:{gw.services['http'].port}"  # type: ignore[attr-defined]
    async with client(base) as c:
        r = await c.get("/sparql", params={"query": SELECT})
        assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 1
        assert "twinbridge_http_requests_total" in (await c.get("/metrics")).text
