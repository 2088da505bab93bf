"""Where an asset or point is (``location:``), its nameplate (``properties:``) and its queued ``relations:``.

A profile may give its instances a location template (``location: "{area}"``, filled from the instance's
``vars``) and default properties; the instance's own ``location:`` and properties win (properties key by key).
``relations: {hasLocation: x}`` is another way to write ``location: x`` (both at once is an error). A point's
``location`` stays None unless the point sets one: it is then in its asset's location (docs/mapping-topology.md).
"""

from __future__ import annotations

from typing import Any

from adapters.contract.model import Property, TargetKind
from gateway.config.context import Ctx, PointSource, RelationSource, in_, nearest
from gateway.config.context import place as where_is
from gateway.config.models import AssetSpec, PointSpec, Relations
from gateway.config.profiles import Profile, placeholders, substitute
from gateway.config.properties import PropertyInput, build_properties, inputs
from gateway.config.vocabulary import VocabularyError
from gateway.config.yamlmarks import Marked, Path_
from gateway.relations import HAS_LOCATION


def place(
    ctx: Ctx, doc: Marked, path: Path_, written: str | None, rels: Relations, suffix: str = ""
) -> tuple[str | None, Relations]:
    """The location of an asset or point (``location:`` or ``relations: {hasLocation: x}``, not both) and its
    other relations; an unknown location is an error."""
    loc, where = written, (*path, "location")
    rest: dict[str, Any] = {}
    for name, targets in rels.items():
        try:
            is_location = ctx.vocabulary.relation(name).iri == HAS_LOCATION
        except VocabularyError:
            is_location = False  # reported with the other relations
        if not is_location:
            rest[name] = targets
            continue
        rpath = (*path, "relations", name)
        one = targets[0] if isinstance(targets, list) and len(targets) == 1 else targets
        if loc is not None:
            said = "location:" if written is not None else "another hasLocation"
            ctx.errors.append(doc.error(rpath, f"{name} says what {said} says; keep one (location: {loc})" + suffix))
        elif not isinstance(one, str):
            ctx.errors.append(doc.error(rpath, f"an asset or point is in one location (got {len(targets)})" + suffix))
        else:
            loc, where = one, rpath
    if loc is not None and not ctx.has_location(loc) and not ctx.follow.follows("location", loc, "placement"):
        hint = f" ('{loc}' is an asset; a location is declared under locations:)" if ctx.has_asset(loc) else ""
        ctx.errors.append(
            doc.error(where, f"unknown location '{loc}'{hint or nearest(loc, ctx.location_ids())}" + suffix)
        )
        loc = None
    return loc, rest


def asset_topology(
    ctx: Ctx, spec: AssetSpec, doc: Marked, path: Path_, profile: Profile | None
) -> tuple[str | None, tuple[Property, ...]]:
    """An asset's location and properties (its profile's as defaults); its relations are queued."""
    loc, rest = place(ctx, doc, path, spec.location, spec.relations)
    wrote_location = spec.location is not None or len(rest) < len(spec.relations)
    defaults: list[PropertyInput] = []
    if profile is not None:
        variables = {"asset": spec.id, **spec.vars}
        suffix = f" [profile instance at {where_is(doc, path)}]"
        template = profile.spec.location
        if not wrote_location and template is not None and not (ctx.probing and placeholders([template])):
            filled = _filled(ctx, profile, ("location",), template, variables, suffix)
            if filled is not None:
                loc, _ = place(ctx, profile.doc, (), str(filled), {}, suffix)
        for key, value in profile.spec.properties.items():
            filled = _filled(ctx, profile, ("properties", key), value, variables, suffix)
            if filled is not None:
                defaults.extend(inputs({key: filled}, profile.doc, ("properties",), suffix))
    if rest:
        ctx.relation_sources.append(RelationSource(TargetKind.ASSET, spec.id, rest, doc, (*path, "relations")))
    return loc, build_properties(ctx, inputs(spec.properties, doc, (*path, "properties")), defaults)


def point_topology(
    ctx: Ctx, ps: PointSource, spec: PointSpec, point_id: str
) -> tuple[str | None, tuple[Property, ...]]:
    """A point's own location (None: its asset's) and properties; its relations are queued."""
    if spec.location is None and not spec.relations and not spec.properties:
        return None, ()  # the common case, on every point of a large mapping
    suffix = in_(ps)
    loc, rest = place(ctx, ps.doc, ps.path, spec.location, spec.relations, suffix)
    if rest:
        ctx.relation_sources.append(
            RelationSource(TargetKind.POINT, point_id, rest, ps.doc, (*ps.path, "relations"), suffix)
        )
    return loc, build_properties(ctx, inputs(spec.properties, ps.doc, (*ps.path, "properties"), suffix))


def _filled(ctx: Ctx, profile: Profile, path: Path_, value: Any, variables: dict[str, Any], suffix: str) -> Any:
    """``value`` with the instance's vars filled in, or None (reported) when a placeholder has no value."""
    filled, unknown = substitute(value, variables)
    if unknown:
        names = ", ".join(sorted(unknown))
        ctx.errors.append(profile.doc.error(path, f"placeholder {{{names}}} has no value (give it in vars:){suffix}"))
        return None
    return filled
