"""Whole-graph work between a gateway and a store: model and ontology pushes, and the cheap check that tells
whether the store still holds what was pushed (a store restarted without its data, a graph dropped by hand).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from adapters.contract.rdf import XSD
from gateway.remote_store.client import SparqlStore
from gateway.remote_store.graphs import MODEL_HASH, MODEL_TRIPLES, ONTOLOGY_HASH, GatewayGraphs
from gateway.twin.terms import string_literal

if TYPE_CHECKING:
    from gateway.twin.view import TwinView


@dataclass(frozen=True, slots=True)
class GraphText:
    """A graph as N-Triples lines, with a hash that does not depend on their order."""

    lines: list[str]
    hash: str

    @classmethod
    def of(cls, ntriples: str, skolem: str) -> GraphText:
        """The graph with its blank nodes made IRIs under ``skolem`` (RDF 1.1 skolemization).

        Blank nodes cannot cross requests: a structure split over two INSERT DATA chunks would come apart, and
        some stores refuse them in INSERT DATA. Their names are derived from what they say, so two gateways with
        the same ontology produce the same IRIs and the same hash, and the shared graph holds it once.
        """
        lines = [line + "\n" for line in ntriples.splitlines() if line.strip()]
        if any("_:" in line for line in lines):
            lines = skolemize(lines, skolem)
        lines.sort()
        return cls(lines, hashlib.sha256("".join(lines).encode()).hexdigest())

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _split(line: str) -> tuple[str, str, str]:
    subject, rest = line.split(" ", 1)
    head = rest.rstrip()[:-1].rstrip()  # without the final " ."
    predicate, obj = head.split(" ", 1)
    return subject, predicate, obj


def skolemize(lines: list[str], base: str, rounds: int = 4) -> list[str]:
    """Replace blank nodes by IRIs named by a few rounds of hashing their neighbourhood (as in colour
    refinement), so equal structures get equal names whatever labels the serializer chose."""
    triples = [_split(line) for line in lines]
    nodes = {t for s, _, o in triples for t in (s, o) if t.startswith("_:")}
    label = dict.fromkeys(nodes, "")
    for _ in range(rounds):
        seen: dict[str, list[str]] = {n: [] for n in nodes}
        for s, p, o in triples:
            if s in seen:
                seen[s].append(f"> {p} {label.get(o, o)}")
            if o in seen:
                seen[o].append(f"< {label.get(s, s)} {p}")
        label = {n: hashlib.sha256("\n".join(sorted(seen[n])).encode()).hexdigest()[:32] for n in nodes}
    iri = {n: f"<{base}{label[n]}>" for n in nodes}
    return [f"{iri.get(s, s)} {p} {iri.get(o, o)} .\n" for s, p, o in triples]


def _ntriples(result: Any) -> str:
    return (result.serialize(format=ox.RdfFormat.N_TRIPLES) or b"").decode()


async def local_graph(view: TwinView, graph: str, skolem: str) -> GraphText:
    """One of the twin's own graphs, as it is now (blank nodes skolemized under ``skolem``)."""
    text = await view.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", _ntriples)
    return GraphText.of(text, skolem)


@dataclass(frozen=True, slots=True)
class StoreState:
    """What the store holds of one gateway, by the cheap check."""

    model_hash: str | None
    model_triples_recorded: int | None
    model_triples: int
    live_triples: int
    ontology_hashes: frozenset[str]


async def check(store: SparqlStore, graphs: GatewayGraphs) -> StoreState:
    """Counts of the gateway's model and live graphs, the model hash it recorded, and every ontology hash any
    gateway recorded (three small queries)."""
    meta = await store.select(
        f"""SELECT ?h ?n WHERE {{ GRAPH <{graphs.meta}> {{ <{graphs.gateway}> <{MODEL_HASH}> ?h .
            OPTIONAL {{ <{graphs.gateway}> <{MODEL_TRIPLES}> ?n }} }} }}"""
    )
    # each graph named in its own pattern: Virtuoso matches GRAPH ?g against every graph before VALUES narrows it,
    # and under write load that count held up every gateway's updates for 7-12 s (bench scale_out, N = 8)
    counts = await store.select(
        f"""SELECT ?g (COUNT(*) AS ?n) WHERE {{
            {{ GRAPH <{graphs.model}> {{ ?s ?p ?o }} BIND(<{graphs.model}> AS ?g) }} UNION
            {{ GRAPH <{graphs.live}> {{ ?s ?p ?o }} BIND(<{graphs.live}> AS ?g) }} }} GROUP BY ?g"""
    )
    ontology = await store.select(f"SELECT DISTINCT ?h WHERE {{ GRAPH ?m {{ ?gw <{ONTOLOGY_HASH}> ?h }} }}")
    by_graph = {row["g"].value: int(row["n"].value) for row in counts if "g" in row}
    recorded = meta[0] if len(meta) == 1 else {}
    return StoreState(
        model_hash=recorded["h"].value if "h" in recorded else None,
        model_triples_recorded=int(recorded["n"].value) if "n" in recorded else None,
        model_triples=by_graph.get(graphs.model, 0),
        live_triples=by_graph.get(graphs.live, 0),
        ontology_hashes=frozenset(row["h"].value for row in ontology if "h" in row),
    )


def model_current(state: StoreState, model: GraphText) -> bool:
    """Whether the store's copy of the model is the one this gateway has."""
    return state.model_hash == model.hash and state.model_triples == len(model.lines)


async def push_model(store: SparqlStore, graphs: GatewayGraphs, model: GraphText) -> None:
    """Replace the store's model graph, then record its hash (a push cut short leaves no hash, so the next
    check pushes again)."""
    await _set_meta(store, graphs, MODEL_HASH, None)
    await store.put_graph(graphs.model, model.text)
    await _set_meta(store, graphs, MODEL_HASH, string_literal(model.hash))
    await _set_meta(store, graphs, MODEL_TRIPLES, f'"{len(model.lines)}"^^<{XSD}integer>')


async def push_ontology(store: SparqlStore, graphs: GatewayGraphs, ontology: GraphText, known: frozenset[str]) -> bool:
    """Add this gateway's ontology triples to the shared graph unless some gateway already loaded the same;
    returns whether anything was sent. Only ever inserts: the graph is shared."""
    if ontology.hash not in known:
        await store.insert(graphs.ontology, ontology.lines)
    await _set_meta(store, graphs, ONTOLOGY_HASH, string_literal(ontology.hash))
    return ontology.hash not in known


async def _set_meta(store: SparqlStore, graphs: GatewayGraphs, predicate: str, value: str | None) -> None:
    g, gw = graphs.meta, graphs.gateway
    update = f"DELETE WHERE {{ GRAPH <{g}> {{ <{gw}> <{predicate}> ?o }} }}"
    if value is not None:
        update += f" ;\nINSERT DATA {{ GRAPH <{g}> {{ <{gw}> <{predicate}> {value} }} }}"
    await store.update(update)
