"""``twinbridge graph``: the materialized twin of a mapping, serialized, without disturbing a running gateway.

The model and ontology graphs are rebuilt from the mapping in memory (the mapping is the truth; a gateway
rebuilds them the same way when it starts). The live graph comes from the twin's on-disk store when there is
one: opened normally when it is free, else as a read-only snapshot of the store the running gateway holds
locked. The store is never written here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from gateway.model import TwinModel
from gateway.twin.twin import Twin

FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "nquads": ox.RdfFormat.N_QUADS,
}


class StoreInUse(Exception):
    """The on-disk store is locked by a running gateway and cannot be read even as a snapshot."""


def read_store(path: str | Path, read_only: Callable[[str], ox.Store] = ox.Store.read_only) -> tuple[ox.Store, bool]:
    """The store at ``path`` for reading, and whether it is a read-only snapshot of a store in use."""
    try:
        return ox.Store(str(path)), False
    except OSError as exc:
        if "lock" not in str(exc).lower():
            raise
        locked = exc
    try:
        return read_only(str(path)), True
    except OSError as exc:
        raise StoreInUse(
            f"the twin store {path} is in use by a running gateway and cannot be read now ({locked}); "
            "query that gateway's SPARQL endpoint, or stop it first"
        ) from exc


def _load_live(twin: Twin, path: Path, note: Callable[[str], None]) -> None:
    store, snapshot = read_store(path)
    if snapshot:
        note(f"{path} is in use by a running gateway: its live graph is a read-only snapshot")
    live = ox.NamedNode(twin.ids.graph_live)
    quads = list(store.quads_for_pattern(None, None, None, live))
    del store  # releases the lock (pyoxigraph has no close())
    twin.store.clear_graph(live)
    twin.store.extend(quads)


def graph_bytes(
    model: TwinModel, graph: str, fmt: str, prefixes: dict[str, str], note: Callable[[str], None] = print
) -> bytes:
    """One graph (``model``, ``ontology``, ``live``) or ``all`` of them, in ``fmt`` (a key of FORMATS)."""
    twin = Twin(model, in_memory=True)
    path = Path(model.settings.store) if model.settings.store else None
    if path is not None and graph in ("live", "all") and path.is_dir() and any(path.iterdir()):
        _load_live(twin, path, note)
    rdf = FORMATS[fmt]
    opts: dict[str, object] = {"prefixes": prefixes} if rdf == ox.RdfFormat.TURTLE else {}
    if graph == "all":
        if rdf == ox.RdfFormat.N_QUADS:
            return twin.store.dump(format=rdf) or b""
        # formats without named graphs get every graph merged
        merged = ox.Store()
        merged.extend(ox.Quad(q.subject, q.predicate, q.object) for q in twin.store)
        return merged.dump(format=rdf, from_graph=ox.DefaultGraph(), **opts) or b""  # type: ignore[arg-type]
    name = ox.NamedNode(
        {"model": twin.ids.graph_model, "ontology": twin.ids.graph_ontology}.get(graph, twin.ids.graph_live)
    )
    if rdf == ox.RdfFormat.N_QUADS:
        # N-Quads names the graph on every line: only that graph's quads, with their graph
        return ox.serialize(twin.store.quads_for_pattern(None, None, None, name), format=rdf) or b""
    return twin.store.dump(format=rdf, from_graph=name, **opts) or b""  # type: ignore[arg-type]
