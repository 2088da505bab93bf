"""Edge gateways for the replication tests, and the comparison of a gateway's graphs with the store's copy."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml

from gateway.remote_store.client import SparqlStore
from gateway.remote_store.settings import StoreSettings
from gateway.replication.replicator import Replicator
from gateway.replication.sync import GraphText
from gateway.runtime import Gateway

XSD = "http://www.w3.org/2001/XMLSchema#"
# Virtuoso 7 prints xsd:double and xsd:float results with 6 significant digits (it stores them exactly: STR(?v)
# gives every digit), so numbers are compared to that precision
_FLOATS = (XSD + "double", XSD + "float")


def edge_mapping(
    folder: Path, name: str, store: dict[str, Any], *, graph: str, points: int = 6, interval: str = "0.05s", **rep: Any
) -> Path:
    """A gateway named ``name`` with one sim source of ``points`` changing points, replicating into ``store``."""
    signals = [
        {"signal": "sine", "offset": 20, "amplitude": 5, "period": "7s"},
        {"signal": "random_walk", "initial": 250, "step": 2, "min": 200, "max": 300},
        {"signal": "counter", "initial": 0, "rate": 10},
    ]
    doc = {
        "twin": {
            "name": name,
            "base_iri": "http://plant.example/",
            "replicate": [{**store, "graph": graph, "flush_interval": "0.1s", "check_interval": "1s", **rep}],
        },
        "sources": [{"id": "sim1", "kind": "sim", "interval": interval, "seed": 1}],
        "assets": [
            {"id": name, "type": "site", "label": f"Site {name}"},
            {
                "id": f"{name}_meter",
                "type": "brick:Electrical_Meter",
                "parent": name,
                "label": "Main meter",
                "source": "sim1",
                "points": [
                    {
                        "id": f"p{i}",
                        "class": "brick:Electric_Power_Sensor" if i == 0 else "brick:Sensor",
                        "unit": "KiloW",
                        "datatype": "double",
                        "address": signals[i % len(signals)],
                    }
                    for i in range(points)
                ],
            },
        ],
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def replicator(gw: Gateway) -> Replicator:
    return gw.replication.replicators[0]


async def quiesce(gw: Gateway, timeout: float = 20.0) -> None:
    """Stop the gateway's sources and wait until every change has reached the store."""
    await asyncio.gather(*(sup.stop() for sup in gw.supervisors.values()))
    rep = replicator(gw)
    deadline = asyncio.get_running_loop().time() + timeout
    while rep.state != "live" or rep.live.backlog or (rep._sub is not None and rep._sub.pending):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"replication did not settle: {rep.describe()}")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # one more flush interval: a flush may be in flight
    while rep.live.backlog:
        await asyncio.sleep(0.05)


def _norm(term: Any) -> Any:
    if isinstance(term, ox.Literal) and term.datatype.value == XSD + "dateTime":
        return ("time", datetime.fromisoformat(term.value.replace("Z", "+00:00")))  # 12.4594Z = 12.459400Z
    if isinstance(term, ox.Literal) and term.datatype.value in _FLOATS:
        value = float(term.value)
        return ("num", float(f"{value:.6g}") if math.isfinite(value) else term.value)
    return str(term)


def triples(ntriples: str, skolem: str) -> set[tuple[Any, Any, Any]]:
    """A graph as a set of comparable triples (blank nodes skolemized, numbers to Virtuoso's precision)."""
    text = GraphText.of(ntriples, skolem).text
    parsed = ox.parse(text, format=ox.RdfFormat.N_TRIPLES)
    return {(_norm(t.subject), _norm(t.predicate), _norm(t.object)) for t in parsed}


async def local_triples(gw: Gateway, graph: str, skolem: str) -> set[tuple[Any, Any, Any]]:
    text = await gw.view.query(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
        lambda r: (r.serialize(format=ox.RdfFormat.N_TRIPLES) or b"").decode(),
    )
    return triples(text, skolem)


async def store_triples(store: SparqlStore, graph: str, skolem: str) -> set[tuple[Any, Any, Any]]:
    response = await store.query_raw(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", accept="application/n-triples"
    )
    return triples(response.text, skolem)


async def assert_mirrored(gw: Gateway, settings: dict[str, Any]) -> None:
    """The store's copy of the gateway's model and live graphs equals the gateway's own."""
    rep = replicator(gw)
    skolem = f"{rep.graphs.base}.well-known/genid/"
    store = SparqlStore(StoreSettings(**{k: v for k, v in settings.items() if k in StoreSettings.model_fields}))
    try:
        ids = gw.view.ids
        for mine, theirs in ((ids.graph_model, rep.graphs.model), (ids.graph_live, rep.graphs.live)):
            local, remote = await local_triples(gw, mine, skolem), await store_triples(store, theirs, skolem)
            assert local, f"the gateway's {mine} is empty"
            assert local == remote, (
                f"{theirs}: {len(local - remote)} triple(s) only on the gateway, e.g. {sorted(local - remote)[:2]}; "
                f"{len(remote - local)} only in the store, e.g. {sorted(remote - local)[:2]}"
            )
    finally:
        await store.aclose()
