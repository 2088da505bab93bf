"""The store client against real stores started by the tests: Oxigraph server and Virtuoso (queries, updates,
chunked inserts, whole-graph pushes with and without the Graph Store Protocol), and its errors (unreachable,
wrong credentials, updates refused, malformed requests); bearer auth and TLS through a real proxy."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from bench._sparql_stores import OxigraphServer, StoreServer, VirtuosoServer, free_port
from gateway.remote_store.client import SparqlStore, StoreError
from gateway.remote_store.settings import ReplicaSettings, StoreSettings
from tests.integration.adapters.mqtt.mqtt_tls import make_tls
from tests.integration.gateway.sparql_proxy import BearerProxy

pytestmark = pytest.mark.integration

XSD = "http://www.w3.org/2001/XMLSchema#"
P = ox.NamedNode("http://test.local/p")


@asynccontextmanager
async def opened(settings: dict[str, Any]) -> AsyncIterator[SparqlStore]:
    client = SparqlStore(StoreSettings(**settings))
    try:
        yield client
    finally:
        await client.aclose()


def lines(subject: str, n: int, tag: str = "v") -> list[str]:
    return [f'<{subject}{i}> <{P.value}> "{tag}{i}" .\n' for i in range(n)]


async def count(client: SparqlStore, graph: str) -> int:
    rows = await client.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(rows[0]["n"].value)


async def objects(client: SparqlStore, graph: str) -> set[Any]:
    return {r["o"] for r in await client.select(f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")}


# Terms each store gives back exactly as sent (both store lang tags lower-case and decimals canonical)
TERMS = [
    ox.NamedNode("http://test.local/other"),
    ox.Literal('20 °C "Kälte"\nline two'),
    ox.Literal("Kühler", language="de-ch"),
    ox.Literal("21.5", datatype=ox.NamedNode(XSD + "double")),
    ox.Literal("7", datatype=ox.NamedNode(XSD + "integer")),
    ox.Literal("1.5", datatype=ox.NamedNode(XSD + "decimal")),
    ox.Literal("2026-01-02T03:04:05.123Z", datatype=ox.NamedNode(XSD + "dateTime")),
]


async def test_update_and_select_keep_every_kind_of_term(store: StoreServer, graph_base: str) -> None:
    graph = graph_base + "terms"
    async with opened(store.settings()) as client:
        triples = "".join(f"<http://test.local/s> {P} {t} .\n" for t in TERMS)
        await client.update(f"INSERT DATA {{ GRAPH <{graph}> {{ {triples} }} }}")
        assert await objects(client, graph) == set(TERMS)
        assert await client.ask(f"ASK {{ GRAPH <{graph}> {{ ?s {P} {TERMS[2]} }} }}")
        assert not await client.ask(f'ASK {{ GRAPH <{graph}> {{ ?s {P} "absent" }} }}')


async def test_blank_nodes_in_answers_stay_apart(store: StoreServer, graph_base: str) -> None:
    # Virtuoso labels them nodeID://b10001, which is no valid RDF label: they must still come back as blank nodes
    graph = graph_base + "bnodes"
    async with opened(store.settings()) as client:
        await client.put_graph(graph, f'_:a {P} "1" .\n_:a {P} "2" .\n_:b {P} "3" .\n')
        rows = await client.select(f"SELECT ?s ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    by_value = {r["o"].value: r["s"] for r in rows}
    assert all(isinstance(s, ox.BlankNode) for s in by_value.values())
    assert by_value["1"] == by_value["2"] != by_value["3"]


async def test_insert_sends_chunks_a_store_accepts(store: StoreServer, graph_base: str) -> None:
    # one INSERT DATA of 5,000 triples exhausts Virtuoso's parser ('SP030 memory exhausted'); 3 chunks do not
    graph = graph_base + "chunks"
    async with opened(store.settings()) as client:
        assert await client.insert(graph, iter(lines("http://test.local/c", 5000)), chunk=2000) == 5000
        assert await count(client, graph) == 5000


async def test_delete_data_removes_exactly_the_lines_sent(store: StoreServer, graph_base: str) -> None:
    # a double with all 17 digits: Virtuoso answers it with 6 ("23.0242"), yet matches the text it was sent
    graph = graph_base + "delete"
    values = [f'"23.02421234567891{i}"^^<{XSD}double>' for i in range(8)]
    sent = [f"<http://test.local/v{i}> {P} {v} .\n" for i, v in enumerate(values)]
    async with opened(store.settings()) as client:
        await client.insert(graph, sent)
        await client.update(f"DELETE DATA {{ GRAPH <{graph}> {{\n{''.join(sent[:5])}}} }}")  # as the replicator does
        rows = await client.select(f"SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert {r["s"].value for r in rows} == {f"http://test.local/v{i}" for i in (5, 6, 7)}


@pytest.mark.parametrize("gsp", [True, False], ids=["graph-store-protocol", "sparql-update"])
async def test_put_graph_replaces_one_graph(store: StoreServer, graph_base: str, gsp: bool) -> None:
    graph, neighbour = graph_base + "model", graph_base + "neighbour"
    settings = store.settings() if gsp else store.settings(graph_store_url=None)
    async with opened(settings) as client:
        await client.put_graph(neighbour, "".join(lines("http://test.local/n", 3)))
        await client.put_graph(graph, "".join(lines("http://test.local/a", 4500, "old")))
        await client.put_graph(graph, "".join(lines("http://test.local/a", 2500, "new")))
        assert await count(client, graph) == 2500
        assert await objects(client, graph) == {ox.Literal(f"new{i}") for i in range(2500)}
        assert await count(client, neighbour) == 3
        await client.put_graph(graph, "")
        assert await count(client, graph) == 0


async def test_put_graph_sends_a_large_graph_in_pieces(bearer: BearerProxy, graph_base: str) -> None:
    # one PUT of a large graph stalls Virtuoso's loader: a PUT of the first piece, a POST (which adds) of each other
    graph = graph_base + "pieces"
    async with opened(behind(bearer, bearer.token)) as client:
        await client.put_graph(graph, "".join(lines("http://test.local/o", 100)))
        sent = len(bearer.forwarded)
        await client.put_graph(graph, "".join(lines("http://test.local/n", 2500, "new")), chunk=1000)
        assert await objects(client, graph) == {ox.Literal(f"new{i}") for i in range(2500)}
        pushes = [(m, body.count(b"\n")) for m, path, body in bearer.forwarded[sent:] if path == "/store"]
        assert pushes == [("PUT", 1000), ("POST", 1000), ("POST", 500)]
        await client.put_graph(graph, "")  # nothing: the graph emptied
        assert await count(client, graph) == 0


async def test_put_graph_replaces_a_graph_with_blank_nodes(store: StoreServer, graph_base: str) -> None:
    # DELETE DATA cannot name blank nodes: such a graph is replaced whole (Graph Store Protocol: Virtuoso refuses
    # blank nodes in INSERT DATA)
    graph = graph_base + "bnodes"
    async with opened(store.settings()) as client:
        await client.put_graph(graph, f'_:a {P} "1" .\n_:b {P} "2" .\n')
        await client.put_graph(graph, f'_:c {P} "3" .\n<http://test.local/x> {P} "4" .\n')
        assert await objects(client, graph) == {ox.Literal("3"), ox.Literal("4")}


async def test_a_large_first_push_with_digest_auth(virtuoso: VirtuosoServer, graph_base: str) -> None:
    # a fresh client's first request gets the digest challenge: Virtuoso sends that 401 and closes the connection
    # before reading a body of some MB, so unless the client asks for the challenge first the push fails every time
    graph = graph_base + "first"
    async with opened(virtuoso.settings()) as client:
        await client.put_graph(graph, "".join(lines("http://test.local/d", 200_000)))
        assert await count(client, graph) == 200_000


async def test_a_select_beyond_ten_thousand_rows_is_whole(store: StoreServer, graph_base: str) -> None:
    # Virtuoso's default ResultSetMaxRows (10,000) cuts answers silently; the launcher's ini lifts it
    graph = graph_base + "big"
    async with opened(store.settings()) as client:
        await client.put_graph(graph, "".join(lines("http://test.local/b", 12_000)))
        rows = await client.select(f"SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    assert len(rows) == 12_000


async def test_dataset_parameters_choose_the_graphs(store: StoreServer, graph_base: str) -> None:
    g1, g2, g3 = (graph_base + f"g{i}" for i in (1, 2, 3))
    async with opened(store.settings()) as client:
        for g in (g1, g2, g3):
            await client.insert(g, [f'<{g}/s> <{P.value}> "x" .\n'])
        default = await client.select("SELECT ?s WHERE { ?s ?p ?o }", default_graphs=[g1, g2])
        assert {r["s"].value for r in default} == {g1 + "/s", g2 + "/s"}
        named = await client.select("SELECT ?g ?s WHERE { GRAPH ?g { ?s ?p ?o } }", named_graphs=[g2, g3])
        assert {(r["g"].value, r["s"].value) for r in named} == {(g2, g2 + "/s"), (g3, g3 + "/s")}


@pytest.mark.parametrize("accept", ["text/csv", "application/sparql-results+xml"])
async def test_query_raw_passes_the_stores_own_format(store: StoreServer, graph_base: str, accept: str) -> None:
    graph = graph_base + "raw"
    async with opened(store.settings()) as client:
        await client.insert(graph, ['<http://test.local/r> <http://test.local/p> "raw-value" .\n'])
        response = await client.query_raw(f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", accept)
    assert response.headers["content-type"].startswith(accept)
    assert "raw-value" in response.text


async def test_replica_settings_reach_the_store(store: StoreServer, graph_base: str) -> None:
    client = SparqlStore(ReplicaSettings(**store.settings(graph=graph_base), batch=500))
    try:
        await client.put_graph(graph_base + "r", "".join(lines("http://test.local/r", 10)))
        assert await count(client, graph_base + "r") == 10
    finally:
        await client.aclose()


# -- errors -------------------------------------------------------------------------------------------------
async def test_an_unreachable_store_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/sparql"
    async with opened({"url": url}) as client:
        with pytest.raises(StoreError) as err:
            await client.select("SELECT * WHERE { ?s ?p ?o }")
    assert err.value.status is None and err.value.url == url and not err.value.unauthorized
    assert str(err.value).startswith(f"query {url}: unreachable: ConnectError")


async def test_a_malformed_request_carries_the_stores_message(store: StoreServer, graph_base: str) -> None:
    words = "SP030" if isinstance(store, VirtuosoServer) else "error at"  # how each store names a syntax error
    filler = "".join(lines("http://test.local/f", 50))  # Virtuoso echoes the whole request: the message is cut
    async with opened(store.settings()) as client:
        with pytest.raises(StoreError) as err:
            await client.update(f"INSERT DATA {{ GRAPH <{graph_base}x> {{ <http://test.local/a> {P} }} {filler}")
        assert err.value.status == 400 and words in err.value.message
        assert len(err.value.message) <= 303 and "\n" not in err.value.message
        with pytest.raises(StoreError) as err:
            await client.select("SELECT ?s WHERE { ?s ?p }")
        assert err.value.status == 400 and words in err.value.message


async def test_virtuoso_wrong_credentials_are_a_clear_401(virtuoso: VirtuosoServer, graph_base: str) -> None:
    wrong = virtuoso.settings(auth={"scheme": "digest", "user": "dba", "password": "not-the-password"})
    basic = virtuoso.settings(auth={"scheme": "basic", "user": "dba", "password": "dba"})
    for settings in (wrong, basic):
        async with opened(settings) as client:
            with pytest.raises(StoreError) as err:
                await client.insert(graph_base + "g", lines("http://test.local/w", 1))
        assert err.value.status == 401 and err.value.unauthorized
        # Virtuoso's 401 has no body: the message says what to check (and, when it challenges, which scheme)
        assert "credentials refused" in err.value.message
        assert ("asks for Digest auth" in err.value.message) == (settings is wrong)


async def test_a_store_that_refuses_updates_says_why(virtuoso: VirtuosoServer, graph_base: str) -> None:
    # Virtuoso's anonymous /sparql answers queries but no updates; nor does its anonymous Graph Store endpoint
    anonymous = virtuoso.settings(
        update_url=virtuoso.query_url, graph_store_url=f"{virtuoso.base_url}/sparql-graph-crud", auth=None
    )
    async with opened(anonymous) as client:
        with pytest.raises(StoreError) as err:
            await client.insert(graph_base + "g", lines("http://test.local/u", 1))
        assert err.value.status == 500 and "SECURITY: No permission" in err.value.message
        with pytest.raises(StoreError) as err:
            await client.put_graph(graph_base + "g", "".join(lines("http://test.local/u", 1)))
        assert err.value.status == 403 and err.value.unauthorized
        # the store's error page as its text, not its HTML
        assert "Permission denied" in err.value.message and "<" not in err.value.message


# -- bearer auth and TLS, through a real proxy in front of Oxigraph (which has no login of its own) ----------
@pytest.fixture(scope="module")
def bearer(oxigraph: OxigraphServer) -> Iterator[BearerProxy]:
    proxy = BearerProxy(oxigraph.base_url, secrets.token_urlsafe(16))
    proxy.start()
    yield proxy
    proxy.stop()


def behind(proxy: BearerProxy, token: str | None, **extra: Any) -> dict[str, Any]:
    auth = {"scheme": "bearer", "token": token} if token else None
    return {
        "url": proxy.url + "/query",
        "update_url": proxy.url + "/update",
        "graph_store_url": proxy.url + "/store",
        "auth": auth,
        **extra,
    }


async def test_bearer_auth(bearer: BearerProxy, graph_base: str) -> None:
    async with opened(behind(bearer, bearer.token)) as client:
        await client.put_graph(graph_base + "b", "".join(lines("http://test.local/b", 3)))
        await client.insert(graph_base + "b", lines("http://test.local/c", 2))
        assert await count(client, graph_base + "b") == 5
    for token in ("wrong-token", None):
        async with opened(behind(bearer, token)) as client:
            with pytest.raises(StoreError) as err:
                await client.ask("ASK {}")
        assert err.value.status == 401 and err.value.unauthorized
        assert err.value.message == "invalid or missing bearer token"


async def test_tls_with_a_private_ca_and_a_client_certificate(
    oxigraph: OxigraphServer, tmp_path: Path, graph_base: str
) -> None:
    tls = make_tls(tmp_path / "tls")
    proxy = BearerProxy(oxigraph.base_url, "t", certfile=tls.cert, keyfile=tls.key, client_ca=tls.ca)
    proxy.start()
    try:
        mutual = {"ca_file": str(tls.ca), "cert_file": str(tls.client_cert), "key_file": str(tls.client_key)}
        async with opened(behind(proxy, "t", tls=mutual)) as client:
            await client.put_graph(graph_base + "t", "".join(lines("http://test.local/t", 2)))
            assert await count(client, graph_base + "t") == 2
        reached = len(proxy.forwarded)
        refused = [
            {"ca_file": str(tls.other_ca), "cert_file": str(tls.client_cert), "key_file": str(tls.client_key)},
            {"cert_file": str(tls.client_cert), "key_file": str(tls.client_key)},  # the system CAs only
            {"ca_file": str(tls.ca)},  # no client certificate
        ]
        for settings in refused:
            async with opened(behind(proxy, "t", tls=settings)) as client:
                with pytest.raises(StoreError) as err:
                    await client.ask("ASK {}")
            assert err.value.status is None
        assert len(proxy.forwarded) == reached  # the refused ones never reached the store
    finally:
        proxy.stop()


# -- a store killed, restarted, wiped -----------------------------------------------------------------------
async def test_the_client_outlives_a_store_restart(own_store: StoreServer, graph_base: str) -> None:
    graph = graph_base + "kept"
    async with opened(own_store.settings()) as client:
        await client.insert(graph, lines("http://test.local/k", 10))
        own_store.kill()
        with pytest.raises(StoreError) as err:
            await client.ask("ASK {}")
        assert err.value.status is None
        own_store.restart()
        assert await count(client, graph) == 10  # acknowledged updates survive a SIGKILL
        own_store.restart(wipe=True)
        assert await count(client, graph) == 0
        await client.insert(graph, lines("http://test.local/k", 1))
        assert await count(client, graph) == 1
