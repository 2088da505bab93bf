"""The /sparql guard on named cases: what it refuses, what it lets through, and the text Oxigraph then runs."""

from __future__ import annotations

import socket

import pyoxigraph as ox
import pytest

from gateway.northbound.http.guard import SERVICE_REFUSED, UPDATE_REFUSED, canonical, check


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on return: nothing listens there


H = f"<http://127.0.0.1:{_closed_port()}/sparql>"


@pytest.mark.parametrize(
    "query",
    [
        f"SELECT * WHERE {{ SERVICE {H} {{ ?s ?p ?o }} }}",
        f"select * where {{ service silent {H} {{ ?s ?p ?o }} }}",
        "SELECT * WHERE { BIND(<http://h/> AS ?e) SERVICE ?e { ?s ?p ?o } }",  # a variable endpoint
        f"PREFIX e: {H[:-1]}/> SELECT * WHERE {{ SERVICE e:x {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ OPTIONAL {{ SERVICE {H} {{ ?s ?p ?o }} }} }} }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o FILTER NOT EXISTS {{ SERVICE {H} {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ BIND(EXISTS {{ SERVICE {H} {{ }} }} AS ?x) }}",
        f"ASK {{ {{ ?a ?b ?c }} UNION {{ ?a ?b ?c MINUS {{ SERVICE {H} {{ ?s ?p ?o }} }} }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ SERVICE {H} {{ ?s ?p ?o }} }} }}",
        # what walked around the text scanners
        f"SELECT * WHERE {{ # note\rSERVICE {H} {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<http://x/\\u0041#> AS ?i) SERVICE {H} {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ BIND(<http://x/a'b> AS ?i) BIND(1<'x>' AS ?z) SERVICE {H} {{ ?s ?p ?o }} "
        "BIND('q' AS ?w) }",
        f'SELECT * WHERE {{ BIND("#" AS ?h) SERVICE {H} {{ ?s ?p ?o }} }}',  # rdflib's own SERVICE text search
        f"SELECT * WHERE {{ \\u0053ERVICE {H} {{ ?s ?p ?o }} }}",  # an escaped keyword is the keyword
    ],
)
def test_service_refused(query: str) -> None:
    verdict = check(query)
    assert verdict.kind == "service" and verdict.text == SERVICE_REFUSED, verdict


def test_escape_read_two_ways_is_refused() -> None:
    """Oxigraph reads this \\u0022 as a quote inside the string and would run the SERVICE after it; by the
    grammar the escape is decoded first and opens a long string. The guard refuses it (rdflib reads it as
    malformed), and would hand Oxigraph only the decoded text anyway."""
    query = f'SELECT * WHERE {{ BIND("\\u0022 # " AS ?x) SERVICE {H} {{ ?s ?p ?o }}\n}}'
    assert check(query).kind == "syntax"
    with pytest.raises(ConnectionRefusedError):  # what Oxigraph would do with the original text
        list(ox.Store().query(query))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ?service WHERE { ?service a ?t }",
        "PREFIX service: <http://x/> SELECT * WHERE { ?s service:service ?o }",
        "PREFIX brick: <https://brickschema.org/schema/Brick#> SELECT ?r WHERE { ?r a brick:Food_Service_Room }",
        'SELECT * WHERE { ?s ?p "SERVICE <http://h/> {}" }',
        "SELECT * WHERE { ?s <http://x/service> ?o } # SERVICE <http://h/> {}",
        "ASK {}",
        "SELECT * WHERE { ?s ?p ?o FILTER(?o < 3 && ?o > 1) }",
    ],
)
def test_lookalikes_pass(query: str) -> None:
    assert check(query).kind == "ok"


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <http://a> <http://b> <http://c> }",
        "  delete where { ?s ?p ?o }",
        "# first a comment\nCLEAR ALL",
        "PREFIX tb: <https://w3id.org/twinbridge#> # the live graph\nDELETE WHERE { ?p tb:value ?v }",
        "BASE <http://x/> PREFIX : <#> PREFIX ex:<http://e/> DROP GRAPH :g",
        "WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "LOAD <http://h/data.ttl>",
        "\\u0043LEAR ALL",
    ],
)
def test_updates_refused(update: str) -> None:
    assert check(update).kind == "update" and check(update).text == UPDATE_REFUSED


def test_malformed_is_refused_with_a_position() -> None:
    verdict = check("SELECT * WHERE { ?s ?p ")
    assert verdict.kind == "syntax" and verdict.text.startswith("error at 1:")
    assert check("SELECT * WHERE { ?s un:known ?o }").kind == "syntax"  # an undeclared prefix


def test_canonical_text_is_what_oxigraph_runs() -> None:
    assert canonical('SELECT ("\\u00e9t\\U000000E9" AS ?x) {}') == 'SELECT ("été" AS ?x) {}'
    assert canonical("ASK {\r\n# c\r}") == "ASK {\n# c\n}"
    verdict = check('SELECT ("\\u00e9" AS ?x) WHERE { }')
    assert verdict.kind == "ok"
    row = next(iter(ox.Store().query(verdict.text)))  # type: ignore[call-overload]
    assert row["x"].value == "é"


@pytest.mark.parametrize("query", ['SELECT ("\\u005Cu0041" AS ?x) {}', 'SELECT ("\\uD800" AS ?x) {}'])
def test_escapes_without_one_reading_are_refused(query: str) -> None:
    verdict = check(query)
    assert verdict.kind == "syntax" and ("escape" in verdict.text or "Unicode" in verdict.text), verdict


def test_a_repeated_query_is_parsed_once_and_judged_the_same() -> None:
    from gateway.northbound.http import guard

    query = "SELECT ?p ?v WHERE { ?p <https://w3id.org/twinbridge#value> ?v } # repeated " + str(id(guard))
    before = guard._remembered.cache_info()
    first, second = guard.check(query), guard.check(query)
    after = guard._remembered.cache_info()
    assert first == second and first.kind == "ok"
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    refused = "ASK { SERVICE <http://127.0.0.1:9/> { ?a ?b ?c } } # " + str(id(guard))
    assert guard.check(refused).kind == guard.check(refused).kind == "service"
    huge = "SELECT * WHERE { ?a ?b ?c } #" + "x" * (guard._CACHED_CHARS + 1)
    guard.check(huge)
    assert guard._remembered.cache_info().currsize == after.currsize + 1  # the long text is not kept
