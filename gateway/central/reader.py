"""Read the shared store: which gateways replicate into it, their models and their live values.

Everything is read with plain SPARQL SELECTs (any store), in pages: stores cap a result's rows (Virtuoso at
10,000 by default, silently) and Virtuoso also refuses ``ORDER BY ... OFFSET`` past its sort limit (SR353), so
pages follow a key instead of an offset: ``FILTER(STR(?s) > last) ORDER BY STR(?s) LIMIT n``, each page resuming
after the last subject it read whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyoxigraph as ox

from adapters.contract.rdf import XSD
from adapters.contract.sample import Quality
from gateway.remote_store import graphs as meta
from gateway.remote_store.graphs import GatewayGraphs
from gateway.twin.terms import string_literal
from gateway.twin.vocab import (
    GATEWAY_TIME,
    QUALITY,
    QUALITY_IRIS,
    QUALITY_REASON,
    SOURCE_TIME,
    STATUS_CODE,
    VALUE,
)

if TYPE_CHECKING:
    from gateway.remote_store.client import SparqlStore

PAGE = 10_000  # rows per request: Virtuoso's default ResultSetMaxRows, so no page is cut short by the store
Term = ox.NamedNode | ox.BlankNode | ox.Literal
Triple = tuple[str, str, Term]  # subject IRI, predicate IRI, object


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    """One gateway as its meta graph describes it."""

    name: str
    graphs: GatewayGraphs
    base_iri: str | None
    model_hash: str | None
    model_triples: int | None
    lease_until: datetime | None
    instance: str | None = None
    started_at: datetime | None = None

    def alive(self, now: datetime) -> bool:
        """Whether its lease is still running (it renews it while it runs)."""
        return self.lease_until is not None and self.lease_until > now


@dataclass(frozen=True, slots=True)
class LiveRow:
    """One point's state as its gateway last replicated it."""

    iri: str
    value: Term | None
    source_time: datetime | None
    gateway_time: datetime
    quality: Quality
    status: str
    reason: str | None


def to_datetime(term: Term | None) -> datetime | None:
    """An xsd:dateTime literal as an aware datetime (UTC when the literal has no zone); None when absent or bad."""
    if term is None:
        return None
    try:
        value = datetime.fromisoformat(term.value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _int(term: Term | None) -> int | None:
    try:
        return int(term.value) if term is not None else None
    except ValueError:
        return None


def _datetime_literal(value: datetime) -> str:
    return f'"{value.isoformat()}"^^<{XSD}dateTime>'


async def read_gateways(store: SparqlStore, base: str) -> dict[str, GatewayInfo]:
    """Every gateway whose meta graph is under ``base`` (the store's graph base), by name."""
    query = f"""SELECT ?g ?n ?h ?c ?l ?b ?i ?s WHERE {{ GRAPH ?g {{
        ?gw a <{meta.GATEWAY_CLASS}> ; <{meta.NAME}> ?n .
        OPTIONAL {{ ?gw <{meta.MODEL_HASH}> ?h }} OPTIONAL {{ ?gw <{meta.MODEL_TRIPLES}> ?c }}
        OPTIONAL {{ ?gw <{meta.LEASE_UNTIL}> ?l }} OPTIONAL {{ ?gw <{meta.BASE_IRI}> ?b }}
        OPTIONAL {{ ?gw <{meta.INSTANCE}> ?i }} OPTIONAL {{ ?gw <{meta.STARTED_AT}> ?s }} }}
        FILTER(STRSTARTS(STR(?g), {string_literal(base + "gateway/")})) }}"""
    out: dict[str, GatewayInfo] = {}
    for row in await store.select(query):
        name = row["n"].value
        graphs = GatewayGraphs(base, name)
        if row["g"].value != graphs.meta:  # another gateway's graph naming this one: not its own claim
            continue
        info = GatewayInfo(
            name,
            graphs,
            row["b"].value if "b" in row else None,
            row["h"].value if "h" in row else None,
            _int(row.get("c")),
            to_datetime(row.get("l")),
            row["i"].value if "i" in row else None,
            to_datetime(row.get("s")),
        )
        known = out.get(name)
        # mid-renewal a store may briefly hold two lease values: the later one is the gateway's current claim
        if known is None or (info.lease_until or datetime.min.replace(tzinfo=UTC)) > (
            known.lease_until or datetime.min.replace(tzinfo=UTC)
        ):
            out[name] = info
    return out


async def _pages(store: SparqlStore, select: str, pattern: str, key: str, page: int) -> list[dict[str, Term]]:
    """All rows of ``SELECT {select} WHERE {{ {pattern} }}``, read in pages keyed on the IRI variable ``key``.

    A full page may end inside one key's rows, so that key is read again at the start of the next page; a key
    with more rows than a page (never the case for the twin's subjects) is taken as the store returned it. A
    short page is the end: a store must answer at least ``page`` rows (Virtuoso's default limit is 10,000).
    """
    rows: list[dict[str, Term]] = []
    after: str | None = None
    while True:
        keyset = f" FILTER(STR(?{key}) > {string_literal(after)})" if after is not None else ""
        got = await store.select(f"SELECT {select} WHERE {{ {pattern}{keyset} }} ORDER BY STR(?{key}) LIMIT {page}")
        if len(got) < page:
            rows.extend(got)
            return rows
        last = got[-1][key].value
        whole = [r for r in got if r[key].value != last] or got  # or: one key fills the page
        rows.extend(whole)
        after = whole[-1][key].value


async def read_triples(store: SparqlStore, graph: str, *, page: int = PAGE) -> list[Triple]:
    """Every triple of a graph whose subject is an IRI (the twin's graphs have no blank nodes)."""
    rows = await _pages(store, "?s ?p ?o", f"GRAPH <{graph}> {{ ?s ?p ?o FILTER(isIRI(?s)) }}", "s", page)
    return [(r["s"].value, r["p"].value, r["o"]) for r in rows]


_QUALITY = {iri: Quality(i) for i, iri in enumerate(QUALITY_IRIS)}


async def read_live(store: SparqlStore, graph: str, since: datetime | None, *, page: int = PAGE) -> Sequence[LiveRow]:
    """Point states of a live graph applied (on the edge) after ``since``; all of them when ``since`` is None."""
    newer = f" FILTER(?gt > {_datetime_literal(since)})" if since is not None else ""
    pattern = f"""GRAPH <{graph}> {{ ?p <{GATEWAY_TIME}> ?gt .{newer}
        OPTIONAL {{ ?p <{VALUE}> ?v }} OPTIONAL {{ ?p <{SOURCE_TIME}> ?st }} OPTIONAL {{ ?p <{QUALITY}> ?q }}
        OPTIONAL {{ ?p <{STATUS_CODE}> ?sc }} OPTIONAL {{ ?p <{QUALITY_REASON}> ?r }} }}"""
    rows = await _pages(store, "?p ?gt ?v ?st ?q ?sc ?r", pattern, "p", page)
    out: dict[str, LiveRow] = {}
    for r in rows:
        gt = to_datetime(r.get("gt"))
        if gt is None:
            continue
        quality = _QUALITY.get(r["q"].value, Quality.BAD) if "q" in r else Quality.BAD
        status = r["sc"].value if "sc" in r else ("Good" if quality is Quality.GOOD else "Bad")
        iri = r["p"].value
        out[iri] = LiveRow(
            iri, r.get("v"), to_datetime(r.get("st")), gt, quality, status, r["r"].value if "r" in r else None
        )
    return list(out.values())
