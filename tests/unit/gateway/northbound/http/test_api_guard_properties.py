"""Property tests of the /sparql guard: generated spellings of SERVICE queries and of updates never pass.

Each example is a batch of spellings, checked in parallel by a pool of processes (rdflib's parser costs 1-5 ms
a query); the two refusal properties check 10,432 spellings together. Spellings vary what text scanners trip
on: keyword case, ``\\u``/``\\U`` escapes anywhere, comments ended by LF, CR or CRLF (or an escaped one)
holding quotes and brackets, decoys with ``#``, quotes and ``<`` before the pattern, prefixed names, variable
endpoints, SILENT, and nesting in groups, OPTIONAL, UNION, MINUS, GRAPH, subqueries, EXISTS / NOT EXISTS in
FILTER and BIND. Hypothesis draws the structure; the letter-level spelling comes from a drawn seed (one draw
instead of dozens keeps generation cheaper than checking). A third property runs what the guard accepts in
Oxigraph against a closed loopback port: none may try to connect.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import socket
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.northbound.http.guard import check, warm_up

BATCH = 32


def fast(examples: int) -> settings:
    """Generation and shrinking only (no example database), no per-example deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _kind(query: str) -> str:
    return check(query).kind


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    warm_up()  # before forking: every worker starts with rdflib's grammar built
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2, mp_context=ctx) as executor:
        yield executor


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: a SERVICE call fails with "connection refused"
    return port


ENDPOINT = f"http://127.0.0.1:{_closed_port()}/sparql"


def keyword(rng: random.Random, word: str) -> str:
    """``word`` in random case, about a quarter of its letters as \\u or \\U escapes."""
    out = []
    for letter in word:
        ch = rng.choice((letter.lower(), letter.upper()))
        roll = rng.random()
        out.append(f"\\u{ord(ch):04x}" if roll < 0.15 else f"\\U{ord(ch):08X}" if roll < 0.25 else ch)
    return "".join(out)


_COMMENTS = ["", " SERVICE", " '", ' "', " <", " >", " {", " }", " #", " \\u0053", " ->", " ' SERVICE \" <"]
_EOLS = ["\n", "\r", "\r\n", "\\u000A", "\\u000D"]
_SPACES = [" ", "\t", "\n", "\r", "\r\n", "\\u0020", "\\u0009"]


def gap(rng: random.Random, needed: bool = True) -> str:
    """Whitespace, maybe with comments and the line ends that close them (or nothing where allowed)."""
    if not needed and rng.random() < 0.3:
        return ""
    text = rng.choice(_SPACES)
    while rng.random() < 0.4:
        text += "#" + rng.choice(_COMMENTS) + rng.choice(_COMMENTS) + rng.choice(_EOLS)
    return text


def iri(rng: random.Random, path: str) -> str:
    """The closed endpoint's IRI, maybe with one character written as an escape (valid in an IRI)."""
    text = f"{ENDPOINT}/{path}"
    if rng.random() < 0.5:
        i = rng.randrange(8, len(text))
        text = text[:i] + f"\\u{ord(text[i]):04X}" + text[i + 1 :]
    return f"<{text}>"


ENDPOINTS = ["iri", "pname", "var", "values"]
DECOYS = [
    "",
    'BIND("#" AS ?h) ',
    "BIND(<http://x/a#> AS ?i) ",
    "BIND(<http://x/a'b> AS ?i) BIND(1<'x>' AS ?z) ",
    'BIND("SERVICE <http://x/> {}" AS ?d) ',
    "BIND('''multi\nline # ''' AS ?m) ",
    "?s <http://x/service> ?o . ",
    "FILTER(?a < ?b) ",
]
WRAPS = [
    "{0}",
    "{{ {0} }}",
    "OPTIONAL {{ {0} }}",
    "{{ {0} }} UNION {{ ?a ?b ?c }}",
    "{{ ?a ?b ?c }} UNION {{ {0} }}",
    "?a ?b ?c MINUS {{ {0} }}",
    "GRAPH ?g {{ {0} }}",
    "{{ SELECT * WHERE {{ {0} }} }}",
    "?a ?b ?c FILTER EXISTS {{ {0} }}",
    "?a ?b ?c FILTER(NOT EXISTS {{ {0} }})",
    "?a ?b ?c FILTER(?a = ?b || EXISTS {{ {0} }})",
    "BIND(EXISTS {{ {0} }} AS ?e)",
]
FORMS = [
    "SELECT * WHERE {{ {0} }}",
    "SELECT ?s WHERE {{ {0} }} LIMIT 1",
    "select distinct * {{ {0} }}",
    "ASK {{ {0} }}",
    "ASK WHERE {{ {0} }}",
    "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {0} }}",
    "DESCRIBE ?s WHERE {{ {0} }}",
]


@st.composite
def service_query(draw: st.DrawFn) -> str:
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    kind, decoy, form = draw(st.sampled_from(ENDPOINTS)), draw(st.sampled_from(DECOYS)), draw(st.sampled_from(FORMS))
    wraps = draw(st.lists(st.sampled_from(WRAPS), max_size=2))
    prologue, before = "", ""
    if kind == "iri":
        term = iri(rng, "a")
    elif kind == "pname":
        prefix = rng.choice(["e", "service", "svc", ""])
        prologue, term = f"{keyword(rng, 'PREFIX')} {prefix}: <{ENDPOINT}/>{gap(rng)}", f"{prefix}:a"
    else:
        term = rng.choice(["?x", "$x", "?service"])
        before = f"BIND({iri(rng, 'v')} AS {term}) " if kind == "var" else f"VALUES {term} {{ {iri(rng, 'w')} }} "
    silent = keyword(rng, "SILENT") + gap(rng) if draw(st.booleans()) else ""
    pattern = decoy + before + f"{keyword(rng, 'SERVICE')}{gap(rng)}{silent}{term}{gap(rng, False)}{{ ?s ?p ?o }}"
    for wrap in wraps:
        pattern = wrap.format(pattern)
    return prologue + form.format(pattern)


def test_no_service_spelling_passes(pool: ProcessPoolExecutor) -> None:
    kinds: list[str] = []

    @given(st.lists(service_query(), min_size=BATCH, max_size=BATCH))
    @fast(110)
    def prop(queries: list[str]) -> None:
        for q, kind in zip(queries, pool.map(_kind, queries), strict=True):
            assert kind in ("service", "syntax"), q  # refused: as SERVICE, or unreadable (fail closed)
            kinds.append(kind)

    prop()
    assert len(kinds) >= 3_520
    assert kinds.count("service") > 0.9 * len(kinds)  # mostly refused for what they are, not as malformed


UPDATES = [
    "INSERT DATA {{ <http://x/a> <http://x/b> 1 }}",
    "DELETE DATA {{ <http://x/a> <http://x/b> 1 }}",
    "DELETE WHERE {{ ?p <https://w3id.org/twinbridge#value> ?v }}",
    "INSERT {{ ?s <http://x/p> 1 }} WHERE {{ ?s ?p ?o }}",
    "DELETE {{ ?s ?p ?o }} INSERT {{ ?s ?p 2 }} WHERE {{ ?s ?p ?o }}",
    "WITH <http://api.test/graph/live> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
    "LOAD <{e}/data.ttl>",
    "LOAD SILENT <{e}/data.ttl> INTO GRAPH <http://x/g>",
    "CLEAR ALL",
    "CLEAR SILENT DEFAULT",
    "DROP NAMED",
    "DROP GRAPH <http://api.test/graph/live>",
    "CREATE GRAPH <http://x/g>",
    "ADD DEFAULT TO GRAPH <http://x/g>",
    "MOVE SILENT GRAPH <http://x/g> TO DEFAULT",
    "COPY DEFAULT TO <http://x/g>",
    "INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{e}> {{ ?s ?p ?o }} }}",
]
KEYWORDS = {"INSERT", "DELETE", "DATA", "WHERE", "WITH", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY"}
PROLOGUE = ["PREFIX tb: <https://w3id.org/twinbridge#>", "BASE <http://api.test/>", "PREFIX : <#>"]


@st.composite
def update(draw: st.DrawFn) -> str:
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    text = draw(st.sampled_from(UPDATES)).format(e=ENDPOINT)
    text = " ".join(keyword(rng, w) if w in KEYWORDS else w for w in text.split(" "))  # never inside an IRI
    prologue = "".join(
        keyword(rng, decl.split(" ")[0]) + decl[decl.index(" ") :] + gap(rng)
        for decl in draw(st.lists(st.sampled_from(PROLOGUE), max_size=3))
    )
    more = f" ;{gap(rng)}{draw(st.sampled_from(UPDATES)).format(e=ENDPOINT)}" if draw(st.booleans()) else ""
    return gap(rng, False) + prologue + text + more + gap(rng, False)


def test_no_update_spelling_passes(pool: ProcessPoolExecutor) -> None:
    kinds: list[str] = []

    @given(st.lists(update(), min_size=BATCH, max_size=BATCH))
    @fast(216)
    def prop(updates: list[str]) -> None:
        for u, kind in zip(updates, pool.map(_kind, updates), strict=True):
            assert kind in ("update", "syntax"), u
            kinds.append(kind)

    prop()
    assert len(kinds) >= 6_912  # with the SERVICE spellings: 10,432
    assert kinds.count("update") > 0.9 * len(kinds)


@st.composite
def lookalike(draw: st.DrawFn) -> str:
    """A query that only looks like it calls out: SERVICE in comments, strings, IRIs and names."""
    pattern = draw(
        st.sampled_from(
            [
                '?s ?p "SERVICE <{e}> {{}}"',
                "?service <http://x/service> ?o",
                "?s ?p ?o # SERVICE <{e}> {{ ?a ?b ?c }}\n",
                "?s <{e}> ?o",
                "BIND(<{e}> AS ?service)",
                "?s ?p '''SERVICE\n<{e}> {{ ?a ?b ?c }}'''",
            ]
        )
    ).format(e=ENDPOINT)
    return draw(st.sampled_from(FORMS)).format(
        draw(st.sampled_from(DECOYS)) + draw(st.sampled_from(WRAPS)).format(pattern)
    )


def test_what_passes_never_connects() -> None:
    store = ox.Store()
    accepted: list[str] = []

    @given(st.lists(st.one_of(lookalike(), service_query()), min_size=BATCH, max_size=BATCH))
    @fast(15)
    def prop(queries: list[str]) -> None:
        for q in queries:
            verdict = check(q)
            if verdict.kind != "ok":
                continue
            accepted.append(q)
            try:
                result = store.query(verdict.text)
                if isinstance(result, ox.QuerySolutions | ox.QueryTriples):
                    list(result)  # SERVICE runs lazily, while iterating
            except ConnectionError as exc:  # Oxigraph tried the closed port: the guard let SERVICE through
                pytest.fail(f"{q!r} reached the network: {exc}")
            except (SyntaxError, RuntimeError, OSError):
                pass

    prop()
    assert len(accepted) > 100  # the oracle ran on accepted queries (the lookalikes)
