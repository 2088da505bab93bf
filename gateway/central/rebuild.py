"""Assets, points, locations and sources rebuilt from the model graph an edge gateway replicated.

The inverse of gateway/twin/materialize.py and topology.py, as far as the graph says: ids from ``tb:id``,
labels, classes, levels, parents, kinds, datatypes, units, writability and ranges; relations between the twin's
entities (a relation and its inverse found on both ends become one relation with its inverse) and to terms;
literal and quantity properties. A point's transform is the identity: values arrive as engineering values and
writes leave as such. What the graph does not hold (profiles' parameters, deadbands, origins) is left out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote

import pyoxigraph as ox

from adapters.contract.model import (
    Asset,
    AssetLevel,
    DataType,
    Location,
    Point,
    PointKind,
    Property,
    PropertyValue,
    Relation,
    TargetKind,
)
from adapters.contract.rdf import BRICK, HCTL, IRI, QUDT, REF, SOSA, TB, UNIT, XSD
from gateway.central.reader import Term, Triple
from gateway.central.sources import RemoteSource, make_address, source_id
from gateway.twin.topology import HAS_LOCATION, HAS_PART, IS_LOCATION_OF, IS_PART_OF, LOCATION_CLASS, QUANTITY_VALUE
from gateway.twin.vocab import BRICK_LAST_KNOWN_VALUE, COMMENT, LABEL, RDF_TYPE

log = logging.getLogger("twinbridge.central")

_LEVELS = {TB + level.value.capitalize(): level for level in AssetLevel}
_KINDS = {TB + kind.value.capitalize(): kind for kind in PointKind}
_POINT_TYPES = {TB + "Point", BRICK + "Point", SOSA + "Sensor", SOSA + "Actuator", *_KINDS}
_DATATYPES = {dt.xsd: dt for dt in DataType}
# what materialize.py writes about an entity besides its relations and properties
_STRUCTURE = {
    RDF_TYPE, TB + "id", LABEL, COMMENT, TB + "profile", IS_PART_OF, HAS_PART, BRICK + "isPointOf",
    BRICK + "hasPoint", HAS_LOCATION, IS_LOCATION_OF, TB + "datatype", QUDT + "hasUnit", BRICK + "hasUnit",
    QUDT + "hasQuantityKind", TB + "writable", BRICK_LAST_KNOWN_VALUE, TB + "minValue", TB + "maxValue",
    TB + "scale", TB + "offset", TB + "sourceUnit", REF + "hasExternalReference", TB + "kind", TB + "endpoint",
}  # fmt: skip
_REF_STRUCTURE = {RDF_TYPE, TB + "viaSource", TB + "writable", HCTL + "hasTarget"}


@dataclass
class EdgeModel:
    """What one gateway's model graph holds, as the contract's objects."""

    gateway: str
    sources: dict[str, RemoteSource] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    points: dict[str, Point] = field(default_factory=dict)
    point_iris: dict[str, str] = field(default_factory=dict)  # point IRI -> point id
    triples: int = 0


def literal_value(term: Term) -> Any:
    """A literal as the Python value materialize.py's ``term()`` would have written it from; an IRI as IRI."""
    if isinstance(term, ox.NamedNode):
        return IRI(term.value)
    if not isinstance(term, ox.Literal):
        return term.value
    dt, text = term.datatype.value, term.value
    try:
        if dt == XSD + "boolean":
            return text in ("true", "1")
        if dt in (XSD + "integer", XSD + "int", XSD + "long", XSD + "short", XSD + "unsignedShort"):
            return int(text)
        if dt in (XSD + "double", XSD + "float", XSD + "decimal"):
            return float(text)
        if dt == XSD + "dateTime":
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        if dt == XSD + "date":
            return date.fromisoformat(text)
    except ValueError:
        pass
    return text


def _true(text: str | None, *, default: bool = False) -> bool:
    """An xsd:boolean's text (Virtuoso answers 1 and 0 for true and false)."""
    return default if text is None else text in ("true", "1")


def _label(key: str) -> str:
    """serialNumber or serial_number -> Serial number."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key.rsplit(":", maxsplit=1)[-1]).replace("_", " ")
    return words[:1].upper() + words[1:].lower()


def _local(iri: str) -> str:
    return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


class _Subjects:
    """The triples of a graph by subject."""

    def __init__(self, triples: Iterable[Triple]) -> None:
        self.by: dict[str, list[tuple[str, Term]]] = {}
        for s, p, o in triples:
            self.by.setdefault(s, []).append((p, o))

    def all(self, s: str, p: str) -> list[Term]:
        return [o for q, o in self.by.get(s, ()) if q == p]

    def one(self, s: str, p: str) -> Term | None:
        found = self.all(s, p)
        return found[0] if found else None

    def text(self, s: str, p: str) -> str | None:
        o = self.one(s, p)
        return o.value if o is not None else None

    def types(self, s: str) -> set[str]:
        return {o.value for o in self.all(s, RDF_TYPE)}


def rebuild(gateway: str, triples: list[Triple]) -> EdgeModel:
    """The entities of one gateway's model graph."""
    g = _Subjects(triples)
    out = EdgeModel(gateway, triples=len(triples))
    # every entity of the twin by IRI: (kind, id); relation targets and parents are found here, not by IRI shape
    entities: dict[str, tuple[TargetKind, str]] = {}
    sources: dict[str, str] = {}  # source IRI -> central source id
    for s in g.by:
        ident, types = g.text(s, TB + "id"), g.types(s)
        if ident is None:
            continue
        if TB + "Source" in types:
            sid = source_id(gateway, ident)
            sources[s] = sid
            kind = g.text(s, TB + "kind") or "unknown"
            out.sources[sid] = RemoteSource(
                id=sid, label=g.text(s, LABEL) or sid, gateway=gateway, source=ident, source_kind=kind,
                edge_endpoint=g.text(s, TB + "endpoint"),
            )  # fmt: skip
        elif LOCATION_CLASS in types:
            entities[s] = (TargetKind.LOCATION, ident)
        elif TB + "Point" in types:
            entities[s] = (TargetKind.POINT, ident)
        elif types & _LEVELS.keys():
            entities[s] = (TargetKind.ASSET, ident)
    relations = _relations(g, entities)
    for s, (kind, ident) in entities.items():
        rels, props = tuple(relations.get(s, ())), tuple(_properties(g, s))
        parent = _entity(g.one(s, IS_PART_OF), entities)
        where = _entity(g.one(s, HAS_LOCATION), entities)
        label = g.text(s, LABEL) or ident
        description = g.text(s, COMMENT)
        types = g.types(s)
        if kind is TargetKind.LOCATION:
            out.locations[ident] = Location(
                ident, tuple(sorted(types - {LOCATION_CLASS})), label, parent, description, rels, props
            )
        elif kind is TargetKind.ASSET:
            level = next(_LEVELS[t] for t in sorted(types) if t in _LEVELS)
            out.assets[ident] = Asset(
                ident, level, tuple(sorted(types - _LEVELS.keys())), label, parent, description,
                g.text(s, TB + "profile"), where, rels, props,
            )  # fmt: skip
    for s, (kind, ident) in entities.items():
        if kind is TargetKind.POINT:
            point = _point(g, s, ident, gateway, entities, sources, relations.get(s, ()), out)
            if point is not None:
                out.points[ident] = point
                out.point_iris[s] = ident
    return out


def _entity(term: Term | None, entities: dict[str, tuple[TargetKind, str]]) -> str | None:
    found = entities.get(term.value) if term is not None else None
    return found[1] if found is not None else None


def _point(
    g: _Subjects,
    s: str,
    ident: str,
    gateway: str,
    entities: dict[str, tuple[TargetKind, str]],
    sources: dict[str, str],
    relations: Iterable[Relation],
    out: EdgeModel,
) -> Point | None:
    asset = _entity(g.one(s, BRICK + "isPointOf"), entities)
    types = g.types(s)
    datatype = _DATATYPES.get(g.text(s, TB + "datatype") or "")
    ref = g.one(s, REF + "hasExternalReference")
    source = sources.get(g.text(ref.value, TB + "viaSource") or "") if ref is not None else None
    if asset is None or datatype is None or ref is None or source is None:
        log.warning("gateway %s: point %s is incomplete in the store's model graph; left out", gateway, ident)
        return None
    kind = next((_KINDS[t] for t in sorted(types) if t in _KINDS), PointKind.MEASUREMENT)
    unit = g.text(s, QUDT + "hasUnit")
    ref_types = sorted(g.types(ref.value) - {REF + "ExternalReference"})
    ref_triples = [(p, literal_value(o)) for p, o in g.by.get(ref.value, ()) if p not in _REF_STRUCTURE]
    address = make_address(
        ref_types[0] if ref_types else TB + "ProtocolReference",
        gateway,
        g.text(ref.value, HCTL + "hasTarget"),
        _true(g.text(ref.value, TB + "writable"), default=True),
        ref_triples,
    )
    own_location = _entity(g.one(s, HAS_LOCATION), entities)
    asset_location = out.assets[asset].location if asset in out.assets else None
    low, high = g.text(s, TB + "minValue"), g.text(s, TB + "maxValue")
    return Point(
        id=ident,
        asset=asset,
        kind=kind,
        datatype=datatype,
        source=source,
        address=address,
        label=g.text(s, LABEL) or ident,
        classes=tuple(sorted(types - _POINT_TYPES)),
        unit=unit[len(UNIT) :] if unit is not None and unit.startswith(UNIT) else None,
        description=g.text(s, COMMENT),
        writable=_true(g.text(s, TB + "writable")),
        min=float(low) if low is not None else None,
        max=float(high) if high is not None else None,
        location=own_location if own_location != asset_location else None,  # the same as its asset's: inherited
        relations=tuple(relations),
        properties=tuple(_properties(g, s)),
    )


def _relations(g: _Subjects, entities: dict[str, tuple[TargetKind, str]]) -> dict[str, list[Relation]]:
    """IRI-valued triples between entities and to terms; a pair ``s p o`` / ``o q s`` is one relation."""
    edges: list[tuple[str, str, str]] = []
    for s in entities:
        for p, o in g.by.get(s, ()):
            if p in _STRUCTURE or not isinstance(o, ox.NamedNode) or QUANTITY_VALUE in g.types(o.value):
                continue
            edges.append((s, p, o.value))
    backwards: dict[tuple[str, str], list[str]] = {}  # (target, subject) -> predicates from subject to target
    for subj, pred, obj in edges:
        backwards.setdefault((obj, subj), []).append(pred)
    out: dict[str, list[Relation]] = {}
    taken: set[tuple[str, str, str]] = set()
    for subj, pred, obj in sorted(edges):
        if (subj, pred, obj) in taken:
            continue
        taken.add((subj, pred, obj))
        inverse = next((q for q in sorted(backwards.get((subj, obj), [])) if (obj, q, subj) not in taken), None)
        if inverse is not None:
            taken.add((obj, inverse, subj))
        kind, target = entities.get(obj, (TargetKind.TERM, obj))
        name = _local(pred)
        out.setdefault(subj, []).append(
            Relation(
                pred, target, kind, name[:1].upper() + name[1:], inverse,
                (_local(inverse)[:1].upper() + _local(inverse)[1:]) if inverse else None,
            )
        )  # fmt: skip
    return out


def _properties(g: _Subjects, s: str) -> list[Property]:
    out: list[Property] = []
    for p, o in g.by.get(s, ()):
        if p in _STRUCTURE:
            continue
        if isinstance(o, ox.Literal):
            value: PropertyValue = literal_value(o)
            key = _local(p)
            out.append(Property(key, p, value, _label(key)))
        elif isinstance(o, ox.NamedNode) and QUANTITY_VALUE in g.types(o.value):
            number = g.text(o.value, QUDT + "numericValue")
            unit = g.text(o.value, QUDT + "hasUnit") or ""
            key = unquote(o.value.rsplit("/property/", 1)[-1])
            if number is not None:
                out.append(Property(key, p, float(number), _label(key), unit.removeprefix(UNIT)))
    return out
