"""The ontology graph of the twin: the twinbridge ontology, Brick's class hierarchy and the units in use.

The twin loads ``ontology_ntriples()`` into its ``graph/ontology`` so SPARQL can follow class hierarchies
(``?p a/rdfs:subClassOf* brick:Temperature_Sensor``), find a relation's inverse (``owl:inverseOf``) and read
unit symbols without a reasoner. The SHACL check
uses the smaller ``validation_ntriples()``: only what its shapes need. Both add the ontology fragments of the
adapters a mapping uses (``TwinModel.ontology_fragments``: each adapter declares the terms it writes).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from gateway import classes
from gateway.units import units_ntriples

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"
TWINBRIDGE_TTL = ONTOLOGY_DIR / "twinbridge.ttl"
BRICK_TTL = ONTOLOGY_DIR / "brick.ttl"
BRICK_PROPERTIES_TTL = ONTOLOGY_DIR / "brick-properties.ttl"
SHAPES_TTL = ONTOLOGY_DIR / "shapes.ttl"
UNITS_TSV = ONTOLOGY_DIR / "units.tsv"
BRICK_CLASSES_TSV = ONTOLOGY_DIR / "brick-classes.tsv"

_OWL_CLASS = "<http://www.w3.org/2002/07/owl#Class>"
_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_SUBCLASS = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
_LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"


def _ntriples(*paths: Path) -> str:
    store = ox.Store()
    for path in paths:
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
    data = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    assert data is not None  # dump returns the bytes when given no output
    return data.decode()


@cache
def twinbridge_ntriples() -> str:
    """ontology/twinbridge.ttl as N-Triples."""
    return _ntriples(TWINBRIDGE_TTL)


@cache
def _static_ntriples() -> str:
    return _ntriples(TWINBRIDGE_TTL, BRICK_TTL, BRICK_PROPERTIES_TTL)


@cache
def _fragment_ntriples(path: str) -> str:
    return _ntriples(Path(path))


def fragments_ntriples(paths: Iterable[str]) -> str:
    """Adapters' ontology fragments (Turtle files) as N-Triples."""
    return "".join(_fragment_ntriples(p) for p in paths)


def ontology_ntriples(unit_names: Iterable[str] = (), fragments: Iterable[str] = ()) -> str:
    """The twinbridge ontology, the Brick class hierarchy and relationship declarations (``owl:inverseOf``,
    ``rdfs:subPropertyOf``), the given QUDT units and adapter fragments, as N-Triples."""
    return _static_ntriples() + fragments_ntriples(fragments) + units_ntriples(unit_names)


def brick_ntriples(class_iris: Iterable[str]) -> str:
    """owl:Class, label and rdfs:subClassOf triples of the given Brick classes and all their superclasses."""
    todo: set[str] = set()
    for iri in class_iris:
        if iri.startswith(classes.BRICK) and classes.brick_family(iri) is not None:
            todo.add(iri)
            todo.update(classes.superclasses(iri))
    lines: list[str] = []
    for iri in sorted(todo):
        s = f"<{iri}>"
        label = classes.label(iri).replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'{s} {_RDF_TYPE} {_OWL_CLASS} .\n{s} {_LABEL} "{label}" .\n')
        lines.extend(f"{s} {_SUBCLASS} <{p}> .\n" for p in classes.parents(iri))
    return "".join(lines)


def validation_ntriples(class_iris: Iterable[str], unit_names: Iterable[str], fragments: Iterable[str] = ()) -> str:
    """What the SHACL check adds to a model graph: the twinbridge ontology, the adapters' fragments, the Brick
    classes in use (with their superclasses) and the units in use. Much smaller than the whole Brick hierarchy,
    so faster."""
    return (
        twinbridge_ntriples() + fragments_ntriples(fragments) + brick_ntriples(class_iris) + units_ntriples(unit_names)
    )
