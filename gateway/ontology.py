"""The ontology graph of the twin: the twinbridge ontology, Brick's class hierarchy and the units in use."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from gateway.units import units_ntriples

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"
TWINBRIDGE_TTL = ONTOLOGY_DIR / "twinbridge.ttl"
BRICK_TTL = ONTOLOGY_DIR / "brick.ttl"
SHAPES_TTL = ONTOLOGY_DIR / "shapes.ttl"


@cache
def _static_ntriples() -> str:
    store = ox.Store()
    for path in (TWINBRIDGE_TTL, BRICK_TTL):
        if path.exists():
            store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
    return store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).decode()


def ontology_ntriples(unit_names: Iterable[str] = ()) -> str:
    """The twinbridge ontology, the Brick class hierarchy and the given QUDT units, as N-Triples."""
    return _static_ntriples() + units_ntriples(unit_names)
