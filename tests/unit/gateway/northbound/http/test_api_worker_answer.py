"""The query worker's answer step on a small store: dataset selection, formats, errors, the size cap.

``_answer`` is what the worker process runs for each query; here it runs in-process on a store filled by the
test (three named graphs, as in a twin), and every body is parsed back.
"""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox
import pytest

from gateway.northbound.http.history_functions import HistoryFunctions
from gateway.northbound.http.query_worker import _answer

MODEL, LIVE = "http://t/graph/model", "http://t/graph/live"
P = "http://t/point/p"


@pytest.fixture(scope="module")
def store() -> ox.Store:
    s = ox.Store()
    s.add(ox.Quad(ox.NamedNode(P), ox.NamedNode("http://t/kind"), ox.Literal("measurement"), ox.NamedNode(MODEL)))
    s.add(ox.Quad(ox.NamedNode(P), ox.NamedNode("http://t/value"), ox.Literal(21.5), ox.NamedNode(LIVE)))
    for i in range(200):
        s.add(ox.Quad(ox.NamedNode(f"http://t/x{i}"), ox.NamedNode("http://t/n"), ox.Literal(i), ox.NamedNode(MODEL)))
    return s


def _ask(store: ox.Store, q: str, accept: list[str] | None = None, **kw: object) -> tuple[object, ...]:
    args = {"default_graphs": [], "named_graphs": [], "max_bytes": 1_000_000, **kw}
    history = HistoryFunctions(None, "http://t/")  # history off: these queries call no tbh: function
    return _answer(store, history, 7, q, accept or [], args["default_graphs"], args["named_graphs"], args["max_bytes"])


def _count(answer: tuple[object, ...]) -> int:
    assert answer[:3] == (7, "ok", "application/sparql-results+json"), answer
    return int(json.loads(answer[3])["results"]["bindings"][0]["n"]["value"])  # type: ignore[arg-type]


def test_default_graph_is_the_union_unless_chosen(store: ox.Store) -> None:
    q = f"SELECT (COUNT(*) AS ?n) WHERE {{ <{P}> ?p ?o }}"
    assert _count(_ask(store, q)) == 2  # model + live together
    assert _count(_ask(store, q, default_graphs=[LIVE])) == 1
    assert _count(_ask(store, q, default_graphs=[LIVE, MODEL])) == 2
    assert _count(_ask(store, q, default_graphs=["http://t/graph/none"])) == 0
    g = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ <{P}> ?p ?o }} }}"
    assert _count(_ask(store, g, named_graphs=[MODEL])) == 1  # only the listed named graphs are visible
    assert _count(_ask(store, g)) == 2


def test_every_format_parses_back(store: ox.Store) -> None:
    select = f"SELECT ?v WHERE {{ <{P}> <http://t/value> ?v }}"
    for mime, fmt in [
        ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
        ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
    ]:
        _, status, ctype, body = _ask(store, select, [mime])
        assert status == "ok" and str(ctype).startswith(mime)
        values = [s["v"].value for s in ox.parse_query_results(body, format=fmt)]  # type: ignore[arg-type, index, union-attr]
        assert values == ["21.5"], mime
    _, status, ctype, body = _ask(store, select, ["text/csv"])  # CSV is lossy: Oxigraph does not read it back
    assert status == "ok" and str(ctype).startswith("text/csv")
    assert list(csv.DictReader(io.StringIO(body.decode()))) == [{"v": "21.5"}]  # type: ignore[union-attr]
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{LIVE}> {{ ?s ?p ?o }} }}"
    for mime, rdf in [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ]:
        _, status, ctype, body = _ask(store, construct, [mime])
        assert status == "ok" and str(ctype).startswith(mime)
        triples = list(ox.parse(body, format=rdf))  # type: ignore[arg-type]
        assert [(t.subject.value, t.object.value) for t in triples] == [(P, "21.5")], mime
    _, status, _, body = _ask(store, f"ASK {{ <{P}> ?p ?v FILTER(?v = 21.5) }}", ["text/tab-separated-values"])
    assert status == "ok" and bool(ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV))  # type: ignore[arg-type]


def test_errors_are_classified(store: ox.Store) -> None:
    syntax = _ask(store, "SELECT ?x WHERE { ?x ?y }")
    assert syntax[1] == "syntax" and "1:" in str(syntax[2])  # the parser's message with line:column
    assert _ask(store, "SELECT * WHERE { ?s ?p ?o }", ["image/png"])[1] == "notacceptable"
    assert _ask(store, "CONSTRUCT WHERE { ?s ?p ?o }", ["text/csv"])[1] == "notacceptable"
    bad = _ask(store, "ASK {}", default_graphs=["not an iri"])
    assert bad[1] == "badgraph" and "absolute IRI" in str(bad[2])
    assert _ask(store, "ASK {}", named_graphs=["also not"])[1] == "badgraph"
    # the guard parses an update as one and refuses it before Oxigraph sees it
    assert _ask(store, "# a comment first\nINSERT DATA { <http://a> <http://b> <http://c> }")[1] == "update"


def test_size_cap(store: ox.Store) -> None:
    everything = "SELECT * WHERE { ?s ?p ?o }"
    ok = _ask(store, everything, ["text/csv"], max_bytes=100_000)
    assert ok[1] == "ok" and len(ok[3]) > 5_000  # type: ignore[arg-type]
    for mime in ("text/csv", "application/sparql-results+json"):
        big = _ask(store, everything, [mime], max_bytes=5_000)
        assert big[1] == "toolarge" and "5,000 byte limit" in str(big[2]) and "LIMIT" in str(big[2])
    big = _ask(store, "CONSTRUCT WHERE { ?s ?p ?o }", ["text/turtle"], max_bytes=1_000)
    assert big[1] == "toolarge"


def test_size_cap_stops_the_serializer_early() -> None:
    """The cap holds while serializing: a result of ~50 MB is cut after the limit, never built whole."""
    import tracemalloc

    big = ox.Store()
    big.bulk_extend(
        ox.Quad(ox.NamedNode(f"http://t/s{i}"), ox.NamedNode("http://t/p"), ox.Literal("v" * 200))
        for i in range(200_000)
    )
    tracemalloc.start()
    history = HistoryFunctions(None, "http://t/")
    answer = _answer(big, history, 1, "SELECT * WHERE { ?s ?p ?o }", [], [], [], 100_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert answer[1] == "toolarge"
    assert peak < 5_000_000, peak  # the parts kept up to the limit, not the whole ~50 MB result as bytes
