"""SHACL check of a materialized twin, reported in the integrator's terms (which point, which file).

The model graph plus what the shapes need from the ontology (twinbridge.ttl, the Brick classes in use with
their superclasses, the units in use) is validated with pyshacl against ontology/shapes.ttl. Each violation
becomes a ``ConfigError`` at the mapping position of the point, asset, location, property or source it is about,
carrying the shape's message, never raw SHACL output. A 1,000-point model takes about a second (docs/ontology.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import unquote

import rdflib
from rdflib.namespace import SH

from adapters.contract.rdf import BRICK
from gateway.classes import compact
from gateway.config.errors import ConfigError
from gateway.ontology import SHAPES_TTL, validation_ntriples
from gateway.twin.materialize import model_ntriples, used_units
from gateway.twin.vocab import TwinIRIs

if TYPE_CHECKING:
    from adapters.contract.model import Asset, Location, Origin, Property
    from gateway.model import TwinModel


_FAMILY_ROOTS = ("Site", "Location", "Equipment", "Point", "Collection")


@dataclass(frozen=True, slots=True)
class Violation:
    """One shape violation, in SHACL terms."""

    focus: str
    path: str | None
    message: str
    value: str | None


@cache
def _shapes() -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(SHAPES_TTL, format="turtle")
    return g


def validate_ntriples(data: str, *, ontology: str = "") -> list[Violation]:
    """Violations of ontology/shapes.ttl by an N-Triples graph (``ontology``, if given, resolves classes)."""
    import pyshacl  # slow to import; only `validate` needs it

    g = rdflib.Graph()
    g.parse(data=data + ontology, format="nt")
    # inplace: the graph is ours, no copy; no inference: the ontology triples in the graph are enough for
    # sh:class / sh:targetClass, which follow rdfs:subClassOf in the data graph.
    conforms, results, _ = pyshacl.validate(g, shacl_graph=_shapes(), inference="none", inplace=True)
    if conforms:
        return []
    out = set()
    for r in results.subjects(rdflib.RDF.type, SH.ValidationResult):
        path = results.value(r, SH.resultPath)
        msg = results.value(r, SH.resultMessage)
        value = results.value(r, SH.value)
        out.add(
            Violation(
                str(results.value(r, SH.focusNode)),
                str(path) if isinstance(path, rdflib.URIRef) else None,
                str(msg) if msg else "shape violated",
                str(value) if value is not None else None,
            )
        )
    return sorted(out, key=lambda v: (v.focus, v.message, v.value or ""))


def _describe(model: TwinModel, ids: TwinIRIs, iri: str) -> tuple[str | None, Origin | None]:
    """("point 'x'", origin) for the IRI of a point (or its address), asset, location, source or an entity's
    property node; (None, None) otherwise."""
    entity, sep, key = iri.partition("/property/")
    if sep:
        what, origin = _describe(model, ids, entity)
        prop = next((p for p in _properties(model, ids, entity) if p.key == unquote(key)), None)
        return (f"{what} property '{unquote(key)}'" if what else None), (prop and prop.origin) or origin
    lid = ids.location_id(iri)
    if lid is not None:
        loc = model.locations.get(lid)
        return f"location '{lid}'", loc.origin if loc else None
    pid = ids.point_id(iri.removesuffix("/ref"))
    if pid is not None:
        p = model.points.get(pid)
        return f"point '{pid}'", p.origin if p else None
    aid = ids.asset_id(iri)
    if aid is not None:
        a = model.assets.get(aid)
        return f"asset '{aid}'", a.origin if a else None
    prefix = ids.base + "source/"
    if iri.startswith(prefix):
        sid = iri[len(prefix) :]
        return f"source '{sid}'", model.source_origins.get(sid)
    return None, None


def _properties(model: TwinModel, ids: TwinIRIs, iri: str) -> tuple[Property, ...]:
    """The properties of the asset, point or location ``iri`` names (none for anything else)."""
    pid, aid, lid = ids.point_id(iri), ids.asset_id(iri), ids.location_id(iri)
    entity = (
        model.points.get(pid) if pid else model.assets.get(aid) if aid else model.locations.get(lid) if lid else None
    )
    return entity.properties if entity is not None else ()


def _detail(model: TwinModel, ids: TwinIRIs, v: Violation) -> str:
    """ " (got ...)" naming the offending value in mapping terms, or "" when the message says it all."""
    if v.value is None or v.value == v.focus:
        return ""
    if v.value.startswith(("http://", "https://", "urn:")):
        what, _ = _describe(model, ids, v.value)
        return f" (got {what or compact(v.value)})"
    return f" (got {v.value})"


def check_model(model: TwinModel) -> list[ConfigError]:
    """Shape violations of the model's materialized graph, as errors at their mapping positions."""
    return check_graph(model, model_ntriples(model, TwinIRIs(model.settings.base_iri)))


def check_graph(model: TwinModel, data: str) -> list[ConfigError]:
    """Shape violations of a graph (N-Triples) about ``model``, as errors at the model's mapping positions.

    ``check_model`` with the materialized model graph; also usable on a graph built or edited otherwise.
    """
    ids = TwinIRIs(model.settings.base_iri)
    points = model.points.values()
    others: list[Asset | Location] = [*model.assets.values(), *model.locations.values()]
    # the families the relationship shapes name are always there (brick:Site -> brick:Location for tb:Site)
    class_iris = {c for e in [*points, *others] for c in e.classes} | {BRICK + c for c in _FAMILY_ROOTS}
    ontology = validation_ntriples(class_iris, sorted(used_units(points, others)), model.ontology_fragments)
    violations = validate_ntriples(data, ontology=ontology)
    errors = []
    for v in violations:
        what, origin = _describe(model, ids, v.focus)
        file, line, col = (origin.file, origin.line, origin.col) if origin else ("<twin>", 0, 0)
        errors.append(ConfigError(file, line, col, what or compact(v.focus), v.message + _detail(model, ids, v)))
    return errors
