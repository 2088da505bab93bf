"""The central view's reading of a real store: a gateway's graphs as the design lays them out (model, live and
meta graph of a real twin, written here without a replicator) read back into the same assets, points, locations
and states, in pages keyed on the subject."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyoxigraph as ox
import pytest

from adapters.contract.model import Relation, TargetKind
from adapters.contract.rdf import XSD
from adapters.contract.sample import Quality, Sample
from bench._sparql_stores import StoreServer
from gateway.central.reader import read_gateways, read_live, read_triples
from gateway.central.rebuild import rebuild
from gateway.config.loader import load_mappings
from gateway.remote_store import graphs as meta
from gateway.remote_store.client import SparqlStore
from gateway.remote_store.graphs import GatewayGraphs
from gateway.remote_store.settings import StoreSettings
from gateway.twin.twin import Twin
from gateway.twin.vocab import RDF_TYPE

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
BASE = "http://demo.twinbridge.local/"
ENV = {"DEMO_TOKEN": "t" * 24, "DEMO_UA_PASSWORD_HASH": "pbkdf2_sha256$1$00$" + "0" * 64}


def _graph_text(twin: Twin, graph: str) -> str:
    result = twin.store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return (result.serialize(format=ox.RdfFormat.N_TRIPLES) or b"").decode()


async def publish(store: SparqlStore, base: str, twin: Twin, name: str, lease: timedelta) -> GatewayGraphs:
    """What a replicating gateway keeps in the store: its model and live graphs and a meta graph."""
    g = GatewayGraphs(base, name)
    model = _graph_text(twin, twin.ids.graph_model)
    await store.put_graph(g.model, model)
    await store.put_graph(g.live, _graph_text(twin, twin.ids.graph_live))
    until = (datetime.now(UTC) + lease).isoformat()
    facts = {
        meta.NAME: f'"{name}"',
        meta.MODEL_HASH: '"h1"',
        meta.MODEL_TRIPLES: f'"{len(model.splitlines())}"^^<{XSD}integer>',
        meta.BASE_IRI: f'"{BASE}"',
        meta.LEASE_UNTIL: f'"{until}"^^<{XSD}dateTime>',
    }
    lines = [f"<{g.gateway}> <{RDF_TYPE}> <{meta.GATEWAY_CLASS}> .\n"]
    lines += [f"<{g.gateway}> <{p}> {o} .\n" for p, o in facts.items()]
    await store.put_graph(g.meta, "".join(lines))
    return g


def _pairs(relations: dict[str, tuple[Relation, ...]]) -> set[frozenset[str]]:
    """Relations as undirected edges between entities (the store does not say on which end one was written)."""
    return {frozenset((sid, r.target)) for sid, rels in relations.items() for r in rels if r.target_kind != "term"}


async def test_the_model_and_states_read_back_are_the_edge_twins(store: StoreServer, graph_base: str) -> None:
    model = load_mappings([ROOT / "examples" / "demo" / "plant.yaml"], env=ENV)
    twin = Twin(model, in_memory=True)
    now = datetime.now(UTC)
    twin.apply(Sample("boiler1.supply_temp", 71.5, now))
    twin.apply(Sample.bad("boiler1.flow", "BadTimeout", "no answer", source_ts=now))
    twin.flush()
    client = SparqlStore(StoreSettings(**store.settings()))
    try:
        g = await publish(client, graph_base, twin, "demo", timedelta(seconds=30))
        await publish(client, graph_base, twin, "expired", timedelta(seconds=-5))
        gateways = await read_gateways(client, graph_base)
        assert set(gateways) == {"demo", "expired"}
        assert gateways["demo"].alive(datetime.now(UTC)) and not gateways["expired"].alive(datetime.now(UTC))
        assert gateways["demo"].model_hash == "h1" and gateways["demo"].base_iri == BASE
        triples = await read_triples(client, g.model, page=50)  # about 14 pages, keyed on the subject
        assert len(triples) == len(set(triples)) == len(_graph_text(twin, twin.ids.graph_model).splitlines())
        edge = rebuild("demo", triples)
        assert edge.triples == len(triples)
        assert set(edge.points) == set(model.points) and set(edge.assets) == set(model.assets)
        assert set(edge.locations) == set(model.locations)
        for pid, p in model.points.items():
            q = edge.points[pid]
            fields = ("asset", "kind", "datatype", "label", "classes", "unit", "writable", "min", "max", "location")
            assert [getattr(q, f) for f in fields] == [getattr(p, f) for f in fields], pid
            assert q.source == f"demo.{p.source}" and q.transform.is_identity
            assert q.address.target(edge.sources[q.source]) == p.address.target(model.sources[p.source])
            assert q.address.ref_class == p.address.ref_class and q.address.writable() == p.address.writable()
        for aid, a in model.assets.items():
            b = edge.assets[aid]
            assert (b.level, b.classes, b.label, b.parent, b.location, b.profile) == (
                a.level, a.classes, a.label, a.parent, a.location, a.profile,
            ), aid  # fmt: skip
            assert {(p.value, p.unit) for p in b.properties} == {
                (p.value, p.unit) for p in a.properties if not isinstance(p.value, tuple)
            }, aid
        for lid, loc in model.locations.items():
            assert (edge.locations[lid].classes, edge.locations[lid].parent) == (loc.classes, loc.parent)
        original = {**{a.id: a.relations for a in model.assets.values()}, **{
            loc.id: loc.relations for loc in model.locations.values()}}  # fmt: skip
        rebuilt = {**{a.id: a.relations for a in edge.assets.values()}, **{
            loc.id: loc.relations for loc in edge.locations.values()}}  # fmt: skip
        assert _pairs(rebuilt) == _pairs(original) and _pairs(original)
        feeds = [r for r in edge.assets["ahu1"].relations if r.target == "hall-room"]
        assert feeds and feeds[0].target_kind is TargetKind.LOCATION and feeds[0].inverse is not None
        # live states: every one the gateway applied (the others wait for their first sample), then only those
        # applied after a time
        states = {edge.point_iris[r.iri]: r for r in await read_live(client, g.live, None, page=1)}
        assert set(states) == {"boiler1.supply_temp", "boiler1.flow"}
        assert states["boiler1.supply_temp"].value == ox.Literal("71.5", datatype=ox.NamedNode(XSD + "float"))
        assert (states["boiler1.flow"].quality, states["boiler1.flow"].status) == (Quality.BAD, "BadTimeout")
        later = max(r.gateway_time for r in states.values())
        assert await read_live(client, g.live, later) == []
    finally:
        await client.aclose()
