"""Turn the twin model into N-Triples: assets, points, addresses, sources, locations (docs/twin-graph.md).

Locations, placements, relations and properties are written by gateway/twin/topology.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from adapters.contract.model import Asset, AssetLevel, Location, Point, PointKind
from adapters.contract.rdf import BRICK, HCTL, IRI, QK, QUDT, REF, SOSA, TB, UNIT, XSD
from gateway import units
from gateway.model import TwinModel
from gateway.twin.terms import string_literal, term, typed
from gateway.twin.topology import entity_topology, location_triples, property_units
from gateway.twin.vocab import BRICK_LAST_KNOWN_VALUE, COMMENT, LABEL, RDF_TYPE, TwinIRIs

_LEVEL_CLASS = {
    AssetLevel.SITE: TB + "Site",
    AssetLevel.AREA: TB + "Area",
    AssetLevel.LINE: TB + "Line",
    AssetLevel.EQUIPMENT: TB + "Equipment",
}
_KIND_CLASSES = {
    PointKind.MEASUREMENT: (TB + "Measurement", SOSA + "Sensor"),
    PointKind.STATUS: (TB + "Status", SOSA + "Sensor"),
    PointKind.SETPOINT: (TB + "Setpoint", SOSA + "Actuator"),
    PointKind.COMMAND: (TB + "Command", SOSA + "Actuator"),
}


def _t(s: str, p: str, o: str) -> str:
    return f"<{s}> <{p}> {o} .\n"


def _double(v: float) -> str:
    return typed(repr(float(v)), XSD + "double")


def asset_triples(a: Asset, ids: TwinIRIs) -> Iterator[str]:
    """N-Triples lines of one asset."""
    s = ids.asset(a.id)
    yield _t(s, RDF_TYPE, f"<{_LEVEL_CLASS[a.level]}>")
    for c in a.classes:
        yield _t(s, RDF_TYPE, f"<{c}>")
    yield _t(s, TB + "id", string_literal(a.id))
    yield _t(s, LABEL, string_literal(a.label))
    if a.description:
        yield _t(s, COMMENT, string_literal(a.description))
    if a.parent is not None:
        parent = ids.asset(a.parent)
        yield _t(s, BRICK + "isPartOf", f"<{parent}>")
        yield _t(parent, BRICK + "hasPart", f"<{s}>")
    if a.profile:
        yield _t(s, TB + "profile", string_literal(a.profile))
    yield from entity_topology(s, a, ids, a.location)


def point_triples(p: Point, model: TwinModel, ids: TwinIRIs) -> Iterator[str]:
    """N-Triples lines of one point and its protocol address."""
    s = ids.point(p.id)
    asset = ids.asset(p.asset)
    yield _t(s, RDF_TYPE, f"<{TB}Point>")
    # brick:Point itself too, so a Brick app's `?p a brick:Point` needs no subclass reasoning
    yield _t(s, RDF_TYPE, f"<{BRICK}Point>")
    for c in _KIND_CLASSES[p.kind]:
        yield _t(s, RDF_TYPE, f"<{c}>")
    for c in p.classes:
        yield _t(s, RDF_TYPE, f"<{c}>")
    yield _t(s, TB + "id", string_literal(p.id))
    yield _t(s, LABEL, string_literal(p.label))
    if p.description:
        yield _t(s, COMMENT, string_literal(p.description))
    yield _t(s, BRICK + "isPointOf", f"<{asset}>")
    yield _t(asset, BRICK + "hasPoint", f"<{s}>")
    yield _t(s, TB + "datatype", f"<{p.datatype.xsd}>")
    if p.unit:
        u = f"<{UNIT}{p.unit}>"
        yield _t(s, QUDT + "hasUnit", u)
        yield _t(s, BRICK + "hasUnit", u)
        info = units.get_unit(p.unit)
        if info is not None and info.quantity_kinds:
            yield _t(s, QUDT + "hasQuantityKind", f"<{QK}{info.quantity_kinds[0]}>")
    yield _t(s, TB + "writable", typed("true" if p.writable else "false", XSD + "boolean"))
    if model.settings.standard_values:
        # the value node's brick:value/brick:timestamp are live (gateway/twin/live.py); the link is static
        yield _t(s, BRICK_LAST_KNOWN_VALUE, f"<{ids.value(p.id)}>")
    if p.min is not None:
        yield _t(s, TB + "minValue", _double(p.min))
    if p.max is not None:
        yield _t(s, TB + "maxValue", _double(p.max))
    tr = p.transform
    if tr.scale != 1.0:
        yield _t(s, TB + "scale", _double(tr.scale))
    if tr.offset != 0.0:
        yield _t(s, TB + "offset", _double(tr.offset))
    if tr.source_unit:
        yield _t(s, TB + "sourceUnit", f"<{UNIT}{tr.source_unit}>")
    # the protocol address, owned by the adapter's address model
    r = ids.ref(p.id)
    source = model.sources[p.source]
    yield _t(s, REF + "hasExternalReference", f"<{r}>")
    yield _t(r, RDF_TYPE, f"<{REF}ExternalReference>")
    yield _t(r, RDF_TYPE, f"<{p.address.ref_class}>")
    yield _t(r, TB + "viaSource", f"<{ids.source(p.source)}>")
    yield _t(r, TB + "writable", typed("true" if p.address.writable() else "false", XSD + "boolean"))
    target = p.address.target(source)
    if target:
        yield _t(r, HCTL + "hasTarget", string_literal(target))
    for pred, obj in p.address.rdf():
        yield _t(r, pred, term(obj))
    yield from entity_topology(s, p, ids, model.location_of(p.id))


def source_triples(model: TwinModel, ids: TwinIRIs) -> Iterator[str]:
    """N-Triples lines of every source (never credentials)."""
    for sid, cfg in model.sources.items():
        s = ids.source(sid)
        yield _t(s, RDF_TYPE, f"<{TB}Source>")
        yield _t(s, TB + "id", string_literal(sid))
        yield _t(s, TB + "kind", string_literal(cfg.kind))
        yield _t(s, LABEL, string_literal(cfg.label or sid))
        endpoint = cfg.endpoint()
        if endpoint:
            yield _t(s, TB + "endpoint", string_literal(endpoint))


def model_ntriples(
    model: TwinModel,
    ids: TwinIRIs,
    assets: Iterable[Asset] | None = None,
    points: Iterable[Point] | None = None,
    *,
    locations: Iterable[Location] | None = None,
    with_sources: bool = True,
) -> str:
    """The ``model`` graph (or the given subset of it; ``None`` is all of a kind) as N-Triples text."""
    parts: list[str] = []
    if with_sources:
        parts.extend(source_triples(model, ids))
    for loc in model.locations.values() if locations is None else locations:
        parts.extend(location_triples(loc, ids))
    for a in model.assets.values() if assets is None else assets:
        parts.extend(asset_triples(a, ids))
    for p in model.points.values() if points is None else points:
        parts.extend(point_triples(p, model, ids))
    return "".join(parts)


def used_units(points: Iterable[Point], others: Iterable[Asset | Location] = ()) -> set[str]:
    """Every unit referenced by the points (their unit, source unit and quantity properties) and by the
    quantity properties of ``others``."""
    points = list(points)
    out = property_units(points) | property_units(others)
    for p in points:
        if p.unit:
            out.add(p.unit)
        if p.transform.source_unit:
            out.add(p.transform.source_unit)
    return out


__all__ = ["IRI", "model_ntriples", "used_units"]
