"""Topology and nameplates in the model graph: locations, placements, relations and static properties.

How the plant hangs together lives beside the asset tree (docs/twin-graph.md, "Locations", "Relations",
"Properties"): a location tree of Brick location classes, ``brick:hasLocation`` from assets and points into it,
any Brick or custom relation between entities with its inverse on the target, and nameplate properties in
standard terms, a quantity as a ``qudt:QuantityValue`` node. Every line is N-Triples, like materialize.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from adapters.contract.model import Asset, Location, Point, Property, Relation, TargetKind
from adapters.contract.rdf import BRICK, QUDT, TB, UNIT, XSD
from gateway.twin.terms import double_lexical, iri, string_literal, term, typed
from gateway.twin.vocab import COMMENT, LABEL, OWL, RDF_TYPE, TwinIRIs

LOCATION_CLASS = TB + "Location"
HAS_LOCATION = BRICK + "hasLocation"
IS_LOCATION_OF = BRICK + "isLocationOf"
HAS_PART = BRICK + "hasPart"
IS_PART_OF = BRICK + "isPartOf"
QUANTITY_VALUE = QUDT + "QuantityValue"

Entity = Asset | Point | Location


def _t(s: str, p: str, o: str) -> str:
    return f"<{s}> <{p}> {o} .\n"


def entity_iri(kind: TargetKind, target: str, ids: TwinIRIs) -> str:
    """The IRI a relation target names: an asset, point or location id of the twin, or a term's own IRI."""
    if kind is TargetKind.ASSET:
        return ids.asset(target)
    if kind is TargetKind.POINT:
        return ids.point(target)
    if kind is TargetKind.LOCATION:
        return ids.location(target)
    return target


def location_triples(loc: Location, ids: TwinIRIs) -> Iterator[str]:
    """N-Triples lines of one location: classes, id, label, its parent and its own relations and properties."""
    s = ids.location(loc.id)
    yield _t(s, RDF_TYPE, f"<{LOCATION_CLASS}>")
    for c in loc.classes:
        yield _t(s, RDF_TYPE, iri(c))
    yield _t(s, TB + "id", string_literal(loc.id))
    yield _t(s, LABEL, string_literal(loc.label))
    if loc.description:
        yield _t(s, COMMENT, string_literal(loc.description))
    if loc.parent is not None:
        parent = ids.location(loc.parent)
        yield _t(s, IS_PART_OF, f"<{parent}>")
        yield _t(parent, HAS_PART, f"<{s}>")
    yield from relation_triples(s, loc.relations, ids)
    yield from property_triples(s, loc.properties)


def placement_triples(subject: str, location: str | None, ids: TwinIRIs) -> Iterator[str]:
    """``brick:hasLocation`` from an asset or point to its location, and ``brick:isLocationOf`` back."""
    if location is None:
        return
    loc = ids.location(location)
    yield _t(subject, HAS_LOCATION, f"<{loc}>")
    yield _t(loc, IS_LOCATION_OF, f"<{subject}>")


def relation_triples(subject: str, relations: Iterable[Relation], ids: TwinIRIs) -> Iterator[str]:
    """Each relation on its subject and, when the relation has an inverse, the inverse on its target."""
    for r in relations:
        target = entity_iri(r.target_kind, r.target, ids)
        yield f"<{subject}> {iri(r.predicate)} {iri(target)} .\n"
        if r.inverse:
            yield f"{iri(target)} {iri(r.inverse)} <{subject}> .\n"


def property_triples(subject: str, properties: Iterable[Property]) -> Iterator[str]:
    """Static properties: a quantity as a ``qudt:QuantityValue`` node, IRIs one per triple, else a literal."""
    for prop in properties:
        pred = iri(prop.predicate)
        if prop.unit is not None:
            node = TwinIRIs.property(subject, prop.key)
            yield f"<{subject}> {pred} <{node}> .\n"
            yield from _quantity_triples(node, prop)
        elif isinstance(prop.value, tuple):
            yield from (f"<{subject}> {pred} {iri(v)} .\n" for v in prop.value)
        else:
            yield f"<{subject}> {pred} {term(prop.value)} .\n"


def _quantity_triples(node: str, prop: Property) -> Iterator[str]:
    value = prop.value
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        # the loader only gives a unit to numbers; anything else is a bug upstream, said plainly
        raise ValueError(f"property '{prop.key}' has unit {prop.unit} but its value {value!r} is not a number")
    number = typed(double_lexical(float(value)), XSD + "double")
    unit = f"<{UNIT}{prop.unit}>"
    # QUDT's terms and Brick's own (brick:value/brick:hasUnit), so either vocabulary finds the number and unit
    yield _t(node, RDF_TYPE, f"<{QUANTITY_VALUE}>")
    yield _t(node, QUDT + "numericValue", number)
    yield _t(node, QUDT + "hasUnit", unit)
    yield _t(node, BRICK + "value", number)
    yield _t(node, BRICK + "hasUnit", unit)


def entity_topology(subject: str, entity: Asset | Point, ids: TwinIRIs, location: str | None) -> Iterator[str]:
    """An asset's or point's location (a point's own, else its asset's: ``TwinModel.location_of``), relations and
    properties."""
    yield from placement_triples(subject, location, ids)
    yield from relation_triples(subject, entity.relations, ids)
    yield from property_triples(subject, entity.properties)


def property_units(entities: Iterable[Entity]) -> set[str]:
    """Every unit the entities' quantity properties use (the ontology graph describes them)."""
    return {p.unit for e in entities for p in e.properties if p.unit}


def relation_declarations(entities: Iterable[Entity]) -> str:
    """``owl:ObjectProperty``, label and ``owl:inverseOf`` of the integrator's own relations (``ex:maintainedBy``)
    the entities use, for the ontology graph; Brick's and twinbridge's are declared in their ontology files."""
    lines: set[str] = set()
    for e in entities:
        for r in e.relations:
            if r.predicate.startswith((BRICK, TB)):
                continue
            lines.update(_declaration(r.predicate, r.name, r.inverse))
            if r.inverse:
                lines.update(_declaration(r.inverse, r.inverse_name or r.inverse, r.predicate))
    return "".join(sorted(lines))


def _declaration(predicate: str, label: str, inverse: str | None) -> Iterator[str]:
    p = iri(predicate)
    yield f"{p} <{RDF_TYPE}> <{OWL}ObjectProperty> .\n"
    yield f"{p} <{LABEL}> {string_literal(label)} .\n"
    if inverse:
        yield f"{p} <{OWL}inverseOf> {iri(inverse)} .\n"
