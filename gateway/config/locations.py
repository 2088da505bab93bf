"""Locations: the ``locations:`` tree (site / building / floor / room / zone ...), apart from the asset tree.

A location's ``type`` is a short name (site, building, floor, room, zone, space, outside, region) or any Brick
location class (``brick:Mechanical_Room``), plus classes of the integrator's own; at least one Brick location
class is required and no equipment or point class is allowed. ``parent`` names another location (no cycles).
Assets and locations share one set of ids, so a relation target or a ``location:`` is never ambiguous.
"""

from __future__ import annotations

import difflib
from typing import Any

from adapters.contract.model import Location, TargetKind
from gateway import classes
from gateway.config.context import Ctx, RelationSource, origin, suggest
from gateway.config.envvars import checked
from gateway.config.errors import ConfigError
from gateway.config.models import LocationSpec
from gateway.config.properties import build_properties, inputs
from gateway.config.vocabulary import VocabularyError
from gateway.config.yamlmarks import Marked, Path_

# the short type names and the Brick class each stands for
LOCATION_TYPES = {
    name: classes.BRICK + name.capitalize()
    for name in ("site", "building", "floor", "room", "zone", "space", "outside", "region")
}
_SHORT = ", ".join(LOCATION_TYPES)
_HINT = f"a location's type is {_SHORT} or a Brick location class such as brick:Mechanical_Room"


def location(ctx: Ctx, doc: Marked, path: Path_, raw: dict[str, Any]) -> None:
    """Validate one entry of ``locations:`` and collect it (built by ``build_locations`` once all are read)."""
    own: list[ConfigError] = []
    spec = checked(LocationSpec, raw, doc, path, own)
    ctx.errors.extend(own)
    if spec is None:
        ctx.follow.failed("location", raw.get("id") if isinstance(raw, dict) else None, own)
        return
    if spec.id in ctx.location_specs:
        first = ctx.location_specs[spec.id]
        ctx.errors.append(
            doc.error(
                (*path, "id"), f"duplicate location id '{spec.id}' (first defined at {origin(first[1], first[2])})"
            )
        )
        return
    ctx.location_specs[spec.id] = (spec, doc, path)


def build_locations(ctx: Ctx) -> dict[str, Location]:
    """Every collected location; ids shared with assets, unknown parents and parent cycles are errors."""
    out: dict[str, Location] = {}
    for lid, (spec, doc, path) in ctx.location_specs.items():
        if lid in ctx.asset_specs:
            _, adoc, apath = ctx.asset_specs[lid]
            ctx.errors.append(
                doc.error(
                    (*path, "id"),
                    f"location id '{lid}' is also an asset id (asset at {origin(adoc, apath)}); assets and "
                    "locations share one set of ids: rename one",
                )
            )
        _parent(ctx, doc, path, spec)
        if spec.relations:
            ctx.relation_sources.append(
                RelationSource(TargetKind.LOCATION, lid, spec.relations, doc, (*path, "relations"))
            )
        out[lid] = Location(
            id=lid,
            classes=tuple(location_classes(ctx, doc, path, spec.type)),
            label=spec.label or lid,
            parent=spec.parent,
            description=spec.description,
            properties=build_properties(ctx, inputs(spec.properties, doc, (*path, "properties"))),
            origin=origin(doc, path),
        )
    _cycles(ctx)
    ctx.locations = out
    return out


def _parent(ctx: Ctx, doc: Marked, path: Path_, spec: LocationSpec) -> None:
    if spec.parent is None or spec.parent in ctx.location_specs:
        return
    if ctx.follow.follows("location", spec.parent, "location"):
        return
    if spec.parent in ctx.asset_specs:
        msg = f"'{spec.parent}' is an asset; a location's parent is a location (place an asset with location:)"
    else:
        msg = f"unknown parent location '{spec.parent}'" + suggest(spec.parent, ctx.location_specs)
    ctx.errors.append(doc.error((*path, "parent"), msg))


def location_classes(ctx: Ctx, doc: Marked, path: Path_, raw: str | list[str]) -> list[str]:
    """The class IRIs a location's ``type:`` names; at least one is a Brick location class."""
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for i, item in enumerate(items):
        ipath = (*path, "type", *((i,) if isinstance(raw, list) else ()))
        iri = _class(ctx, doc, ipath, item)
        if iri is not None and iri not in out:
            out.append(iri)
    if items and out and not any(classes.brick_family(c) == "location" for c in out):
        ctx.errors.append(doc.error((*path, "type"), f"a location needs a Brick location class: {_HINT}"))
    return out


def _class(ctx: Ctx, doc: Marked, ipath: Path_, item: str) -> str | None:
    short = LOCATION_TYPES.get(item.strip().lower())
    if short is not None:
        return short
    close = difflib.get_close_matches(item.strip().lower(), list(LOCATION_TYPES), n=1, cutoff=0.75)
    if close and ":" not in item:
        ctx.errors.append(doc.error(ipath, f"unknown location type '{item}' (did you mean '{close[0]}'? {_HINT})"))
        return None
    prefix = item.partition(":")[0]
    try:
        if ":" in item and prefix in ctx.vocabulary.prefixes:
            return ctx.vocabulary.expand(item)  # a class of the integrator's own vocabulary
        iri = classes.resolve_class(item)
    except (classes.ClassError, VocabularyError) as exc:
        ctx.errors.append(doc.error(ipath, f"{exc}; {_HINT}"))
        return None
    family = classes.brick_family(iri)
    if iri.startswith(classes.TB):
        msg = f"{classes.compact(iri)} is a level of the asset tree; {_HINT}"
    elif family is not None and family != "location":
        msg = f"{item} is a Brick {family} class; {_HINT}"
    else:
        return iri
    ctx.errors.append(doc.error(ipath, msg))
    return None


def _cycles(ctx: Ctx) -> None:
    for lid, (spec, doc, path) in ctx.location_specs.items():
        chain = [lid]
        cur = spec.parent
        while cur is not None and cur in ctx.location_specs and cur not in chain:
            chain.append(cur)
            cur = ctx.location_specs[cur][0].parent
        if cur == lid:  # each location of the cycle says so; one under it does not
            ctx.errors.append(
                doc.error((*path, "parent"), f"location '{lid}' is its own ancestor ({' -> '.join([*chain, lid])})")
            )
