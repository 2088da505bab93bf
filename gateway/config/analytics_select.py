"""Selectors (``select:`` of class rules and detectors, an aggregate's inputs) and aggregates, checked at load.

``{class: brick:X | [..], under: <asset or location id>, sparql: "SELECT ?point WHERE {...}", points: [ids]}``:
classes must be known point classes, ``under`` a known asset or location, the SPARQL must parse and bind
``?point`` (it runs on the twin as written, so it declares its PREFIXes), listed points must exist.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast, get_args

import pyoxigraph as ox

from adapters.contract.model import Asset, Location, Point
from gateway import classes
from gateway.config.analytics_values import Place, keys_known
from gateway.config.context import nearest, origin
from gateway.rules.spec import AggregateFunction, AggregateSpec, Selector

SELECTOR_KEYS = ("class", "under", "sparql", "points")
FUNCTIONS: tuple[str, ...] = get_args(AggregateFunction)


@dataclass(frozen=True)
class Scope:
    """The entities a selector may name: the model's (and, for a run-time fragment, the fragment's)."""

    points: Mapping[str, Point]
    assets: Mapping[str, Asset]
    locations: Mapping[str, Location]

    def find(self, name: str, asset: str | None) -> Point | None:
        """A point by full id (``asset.point``), or a sibling of ``asset`` by its own id."""
        if name in self.points:
            return self.points[name]
        return self.points.get(f"{asset}.{name}") if asset is not None else None


def selector(raw: Any, place: Place, scope: Scope, asset: str | None = None) -> Selector | None:
    """The selector written at ``place``; None (and errors) when anything is wrong with it."""
    if not isinstance(raw, dict) or not raw:
        place.error(
            "a selection is a mapping of class:, under:, sparql: and/or points:, e.g. {class: brick:Temperature_Sensor}"
        )
        return None
    before = len(place.errors)
    keys_known(raw, SELECTOR_KEYS, place, "a selection")
    found_classes = _classes(raw.get("class"), place.at("class"))
    under = raw.get("under")
    if under is not None and (problem := under_problem(under, scope.assets, scope.locations)):
        place.at("under").error(problem)
    sparql = raw.get("sparql")
    if sparql is not None:
        _sparql(sparql, place.at("sparql"))
    ids = _points(raw.get("points"), place.at("points"), scope, asset)
    if len(place.errors) > before:
        return None
    return Selector(
        classes=found_classes,
        under=under,
        sparql=sparql,
        points=ids,
        origin=origin(place.doc, place.path),
    )


def _classes(raw: Any, place: Place) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(c, str) for c in items):
        place.error("class: is a class or a list of classes, e.g. class: brick:Supply_Air_Temperature_Sensor")
        return ()
    out = []
    for i, text in enumerate(items):
        where = place.at(i) if isinstance(raw, list) else place
        try:
            out.append(point_class(text))
        except classes.ClassError as exc:
            where.error(str(exc))
    return tuple(out)


def point_class(text: str) -> str:
    """The IRI of a point class a selection names; ``ClassError`` for an unknown class or a non-point one."""
    iri = classes.resolve_class(text)
    family = classes.brick_family(iri)
    if family in ("equipment", "location", "collection"):
        raise classes.ClassError(
            f"{text} is a Brick {family} class; a selection takes points: use a point class (and under: for "
            "the equipment)"
        )
    return iri


def under_problem(under: Any, assets: Collection[str], locations: Collection[str]) -> str | None:
    """Why ``under:`` names no asset or location of the twin, or None when it does."""
    if isinstance(under, str) and (under in assets or under in locations):
        return None
    return f"unknown asset or location '{under}' for under:" + nearest(str(under), [*assets, *locations])


@cache
def _empty_store() -> ox.Store:
    return ox.Store()


def _sparql(raw: Any, place: Place) -> None:
    if (problem := sparql_problem(raw)) is not None:
        place.error(problem)


def sparql_problem(raw: Any) -> str | None:
    """Why a selection's SPARQL cannot run (not a string, does not parse, no ``?point``), or None when it can."""
    example = "SELECT ?point WHERE { ?point a brick:Temperature_Sensor }"
    if not isinstance(raw, str):
        return f"sparql: is a SELECT query that binds ?point, e.g. {example}"
    try:
        result = _empty_store().query(raw)
    except SyntaxError as exc:
        return (
            f"the SPARQL query does not parse ({_syntax(str(exc))}): write a SELECT that binds ?point, with a PREFIX "
            "line for each prefix it uses (e.g. PREFIX brick: <https://brickschema.org/schema/Brick#>)"
        )
    if not isinstance(result, ox.QuerySolutions):
        return f"sparql: must be a SELECT query that binds ?point (e.g. {example})"
    names = [v.value for v in result.variables]
    if "point" not in names:
        return f"the SPARQL query selects {', '.join('?' + n for n in names) or 'nothing'}; it must select ?point"
    return None


def _syntax(message: str) -> str:
    """Oxigraph's parse error, short: where, and what (not the list of every character it expected)."""
    m = re.match(r"error at (\d+):(\d+): (.*)", message, re.S)
    if m is None:
        return message.splitlines()[0] if message else "syntax error"
    where = f"line {m.group(1)}, column {m.group(2)} of the query"
    detail = m.group(3)
    if "Prefix not found" in detail:
        return f"an undeclared prefix at {where}"
    return f"at {where}: {detail.split(', [')[0].split(chr(10))[0][:80]}"


def _points(raw: Any, place: Place, scope: Scope, asset: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        place.error("points: is a list of point ids (asset.point, or a sibling's id)")
        return ()
    out = []
    for i, name in enumerate(items):
        found = scope.find(str(name), asset)
        if found is None:
            place.at(i).error(f"unknown point '{name}'" + nearest(str(name), scope.points))
            continue
        out.append(found.id)
    return tuple(out)


def aggregate(raw: Any, place: Place, point: Point, scope: Scope) -> AggregateSpec | None:
    """``aggregate: {sum: <selection>}`` of a derived point."""
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in FUNCTIONS:
        place.error(
            f"aggregate: is one of {', '.join(FUNCTIONS)} with a selection, e.g. "
            "aggregate: {sum: {class: brick:Electric_Power_Sensor, under: hall}}"
        )
        return None
    function, raw_selector = next(iter(raw.items()))
    if function != "count" and point.unit is None and point.datatype.is_numeric:
        place.error(f"a {function} needs the point's unit: (its inputs are converted into it), e.g. unit: KiloW")
    if not point.datatype.is_numeric:
        place.error(f"an aggregate is a number: give the point a numeric datatype (it is {point.datatype.value})")
    sel = selector(raw_selector, place.at(function), scope, point.asset)
    if sel is None:
        return None
    if point.id in sel.points:
        place.at(function, "points").error(f"{point.id} cannot be an input of itself: remove it from points:")
        return None
    return AggregateSpec(cast(AggregateFunction, function), sel)
