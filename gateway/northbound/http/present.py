"""JSON shapes of the topology (locations, relations, nameplate properties) shared by the REST routes."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from adapters.contract.model import Location, Property, PropertyValue, Relation, TargetKind
from gateway import units
from gateway.classes import BRICK, TB
from gateway.classes import label as class_label
from gateway.northbound.http.errors import ApiError
from gateway.northbound.http.topology import Topology, nearest

if TYPE_CHECKING:
    from gateway.twin.vocab import TwinIRIs


def relation_name(topo: Topology, iri: str) -> str:
    """A relation as mappings write it: Brick's and twinbridge's by local name (feeds), others as a curie or IRI."""
    for ns in (BRICK, TB):
        if iri.startswith(ns):
            return iri[len(ns) :]
    return topo.compact(iri)


def entity_ref(topo: Topology, ids: TwinIRIs, kind: TargetKind, ident: str) -> dict[str, str]:
    """``{kind, id, label, iri}`` of an entity of the twin or of a vocabulary term."""
    if kind is TargetKind.TERM:
        return {"kind": kind.value, "id": topo.compact(ident), "label": class_label(ident), "iri": ident}
    iri = {TargetKind.ASSET: ids.asset, TargetKind.POINT: ids.point, TargetKind.LOCATION: ids.location}[kind](ident)
    return {"kind": kind.value, "id": ident, "label": topo.label(kind, ident) or ident, "iri": iri}


def relations(topo: Topology, ids: TwinIRIs, kind: TargetKind, ident: str, own: tuple[Relation, ...]) -> dict[str, Any]:
    """Outgoing (declared here) and incoming (declared elsewhere towards here, read as the inverse)."""
    outgoing = [
        {
            "relation": relation_name(topo, r.predicate),
            "name": r.name,
            "iri": r.predicate,
            "target": entity_ref(topo, ids, r.target_kind, r.target),
        }
        for r in own
    ]
    declared = {(r.predicate, r.target_kind, r.target) for r in own}
    incoming = []
    for inc in topo.incoming.get((kind, ident), []):
        r = inc.relation
        if (r.inverse, inc.subject_kind, inc.subject) in declared:
            continue  # both ends declared it (ahu1 isFedBy boiler1 and boiler1 feeds ahu1): shown once
        incoming.append(
            {
                "relation": relation_name(topo, r.inverse) if r.inverse else None,
                "name": r.inverse_name,
                "iri": r.inverse,
                "inverse_of": relation_name(topo, r.predicate),
                "target": entity_ref(topo, ids, inc.subject_kind, inc.subject),
            }
        )
    return {"outgoing": outgoing, "incoming": incoming}


def _datatype(value: PropertyValue) -> str:
    if isinstance(value, tuple):
        return "iris"
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return "boolean"
    if isinstance(value, datetime.datetime):  # before date: a datetime is a date to Python
        return "dateTime"
    return {int: "integer", float: "double", datetime.date: "date"}.get(type(value), "string")


def _json_value(value: PropertyValue) -> bool | int | float | str | list[str]:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime.date):  # datetime too
        return value.isoformat()
    return value


def properties(props: Iterable[Property]) -> list[dict[str, Any]]:
    """Nameplate properties with their standard term, value, datatype and unit (name and symbol)."""
    out = []
    for p in props:
        unit = units.get_unit(p.unit) if p.unit else None
        out.append(
            {
                "key": p.key,
                "label": p.label,
                "iri": p.predicate,
                "value": _json_value(p.value),
                "datatype": _datatype(p.value),
                "unit": p.unit,
                "unit_symbol": unit.symbol if unit is not None else None,
            }
        )
    return out


def place(loc: Location) -> dict[str, str]:
    """``{id, label}`` of a location."""
    return {"id": loc.id, "label": loc.label}


def location_ref(topo: Topology, location_id: str | None, *, inherited: bool = False) -> dict[str, Any] | None:
    """``{id, label, path, inherited}`` of where something is; None when nowhere (or at an unknown location)."""
    locations = topo.model.locations
    if location_id is None or location_id not in locations:
        return None
    return {
        "id": location_id,
        "label": locations[location_id].label,
        "path": [place(locations[lid]) for lid in topo.path(location_id)],
        "inherited": inherited,
    }


def unknown(what: str, ident: str, known: Collection[str]) -> ApiError:
    """A 404 naming the unknown id and the nearest known ones."""
    close = nearest(ident, known)
    hint = f" (nearest: {', '.join(close)})" if close else f" (none of the {len(known)} known {what} ids is close)"
    return ApiError(404, f"no {what} '{ident}'{hint}", nearest=close)


def require(what: str, ident: str, known: Collection[str]) -> None:
    """Raise :func:`unknown` unless ``ident`` is known."""
    if ident not in known:
        raise unknown(what, ident, known)
