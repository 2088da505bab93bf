"""SPARQL 1.1 Protocol over real HTTP; every result parsed back with a SPARQL/RDF parser."""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET

import httpx
import pyoxigraph as ox
import pytest

from gateway.runtime import Gateway

Q = (
    "PREFIX tb: <https://w3id.org/twinbridge#> SELECT ?p ?v WHERE { ?p tb:value ?v ; "
    "<https://brickschema.org/schema/Brick#isPointOf> <http://t.local/asset/boiler1> }"
)
CONSTRUCT = (
    "CONSTRUCT { ?p <https://w3id.org/twinbridge#value> ?v } WHERE { ?p <https://w3id.org/twinbridge#value> ?v }"
)


def _json_rows(body: bytes) -> list[dict[str, str]]:
    data = json.loads(body)
    return [{k: v["value"] for k, v in b.items()} for b in data["results"]["bindings"]]


async def test_get_post_form_and_direct_post(client: httpx.AsyncClient) -> None:
    expected = [{"p": "http://t.local/point/boiler1.temp", "v": "71.5"}]
    r = await client.get("/sparql", params={"query": Q})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-results+json")
    assert _json_rows(r.content) == expected
    r = await client.post("/sparql", data={"query": Q})
    assert r.status_code == 200 and _json_rows(r.content) == expected
    r = await client.post("/sparql", content=Q, headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 200 and _json_rows(r.content) == expected


async def test_select_formats(client: httpx.AsyncClient) -> None:
    r = await client.get("/sparql", params={"query": Q}, headers={"Accept": "application/sparql-results+xml"})
    ns = {"s": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(r.content)
    assert [b.find("s:literal", ns).text for b in root.iterfind(".//s:binding[@name='v']", ns)] == ["71.5"]  # type: ignore[union-attr]
    r = await client.get("/sparql", params={"query": Q}, headers={"Accept": "text/csv"})
    assert list(csv.DictReader(io.StringIO(r.text))) == [{"p": "http://t.local/point/boiler1.temp", "v": "71.5"}]
    r = await client.get("/sparql", params={"query": Q}, headers={"Accept": "text/tab-separated-values"})
    lines = r.text.strip().splitlines()
    assert lines[0] == "?p\t?v" and lines[1].startswith("<http://t.local/point/boiler1.temp>\t")
    parsed = ox.parse_query_results(r.content, format=ox.QueryResultsFormat.TSV)
    assert [str(s["p"].value) for s in parsed] == ["http://t.local/point/boiler1.temp"]
    r = await client.get("/sparql", params={"query": Q}, headers={"Accept": "image/png"})
    assert r.status_code == 406 and "error" in r.json()


async def test_ask_construct_describe(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/sparql", params={"query": "ASK { <http://t.local/asset/ahu1> a <https://brickschema.org/schema/Brick#AHU> }"}
    )
    assert json.loads(r.content)["boolean"] is True
    for accept, fmt in [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ]:
        r = await client.get("/sparql", params={"query": CONSTRUCT}, headers={"Accept": accept})
        assert r.status_code == 200, (accept, r.text)
        triples = list(ox.parse(r.content, format=fmt))
        assert len(triples) == 4, accept
    r = await client.get(
        "/sparql", params={"query": "DESCRIBE <http://t.local/point/ahu1.fan>"}, headers={"Accept": "text/turtle"}
    )
    store = ox.Store()
    store.load(r.content, format=ox.RdfFormat.TURTLE)
    assert bool(store.query("ASK { <http://t.local/point/ahu1.fan> <https://w3id.org/twinbridge#writable> true }"))


async def test_graphs_and_service_description(client: httpx.AsyncClient) -> None:
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?p <https://w3id.org/twinbridge#value> ?v }"
    r = await client.get("/sparql", params={"query": q, "default-graph-uri": "http://t.local/graph/model"})
    assert _json_rows(r.content) == [{"n": "0"}]  # live values are not in the model graph
    r = await client.get("/sparql", params={"query": q, "default-graph-uri": "http://t.local/graph/live"})
    assert _json_rows(r.content) == [{"n": "4"}]
    r = await client.get("/sparql")
    assert r.headers["content-type"].startswith("text/turtle")
    store = ox.Store()
    store.load(r.content, format=ox.RdfFormat.TURTLE)
    assert bool(store.query("ASK { ?s a <http://www.w3.org/ns/sparql-service-description#Service> }"))


async def test_malformed_query_and_updates_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert r.status_code == 400 and "malformed query" in r.json()["error"] and "1:" in r.json()["error"]
    upd = "INSERT DATA { <http://x> <http://y> <http://z> }"
    r = await client.get("/sparql", params={"query": upd})
    assert r.status_code == 403 and "Update" in r.json()["error"]
    r = await client.post("/sparql", content=upd, headers={"Content-Type": "application/sparql-update"})
    assert r.status_code == 403
    r = await client.post("/sparql", data={"update": upd})
    assert r.status_code == 403


async def test_time_limit_stops_query_and_replaces_worker(client: httpx.AsyncClient, gateway: Gateway) -> None:
    worker = gateway.services["http"].app.state.api.worker  # type: ignore[attr-defined]
    old_pid = worker._proc.pid
    t0 = time.monotonic()
    r = await client.get(
        "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"}
    )
    elapsed = time.monotonic() - t0
    assert r.status_code == 503 and "limit" in r.json()["error"]
    assert elapsed < 2 + 5
    assert worker.killed == 1 and worker._proc.pid != old_pid
    # the replacement answers with current data
    r = await client.get("/sparql", params={"query": Q})
    assert _json_rows(r.content) == [{"p": "http://t.local/point/boiler1.temp", "v": "71.5"}]


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-000000000", "Basic abc"])
async def test_auth_required(base_url: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as c:
        r = await c.get("/sparql", params={"query": Q})
        assert r.status_code == 401 and r.json()["error"]
        assert r.headers["www-authenticate"] == "Bearer"
        assert (await c.get("/health")).status_code == 200
