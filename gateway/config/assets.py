"""Assets: specs collected (profile instances expanded into point specs), then built with level and classes."""

from __future__ import annotations

from typing import Any

from adapters.contract.model import Asset, AssetLevel
from gateway import classes
from gateway.config.context import Ctx, PointSource, origin, place, suggest
from gateway.config.envvars import checked
from gateway.config.errors import ConfigError
from gateway.config.models import AssetSpec
from gateway.config.placement import asset_topology
from gateway.config.profiles import Profile, ProfileLibrary, substitute
from gateway.config.yamlmarks import Marked, Path_

_LEVELS = {lvl.value for lvl in AssetLevel}
_TB = classes.PREFIXES["tb"]
_LEVEL_CLASSES = {
    _TB + "Site": AssetLevel.SITE,
    _TB + "Area": AssetLevel.AREA,
    _TB + "Line": AssetLevel.LINE,
    _TB + "Equipment": AssetLevel.EQUIPMENT,
}
_BRICK_SITE = classes.PREFIXES["brick"] + "Site"


def asset(
    ctx: Ctx,
    doc: Marked,
    path: Path_,
    raw: dict[str, Any],
    library: ProfileLibrary,
    only: frozenset[str] | None = None,
) -> None:
    """Validate one asset, expand its profile (only the ``only`` point ids when given) and queue its points."""
    own: list[ConfigError] = []
    spec = checked(AssetSpec, raw, doc, path, own)
    ctx.errors.extend(own)
    if spec is None:
        ctx.follow.failed("asset", raw.get("id"), own)
        return
    if spec.id in ctx.asset_specs:
        first = ctx.asset_specs[spec.id]
        ctx.errors.append(
            doc.error((*path, "id"), f"duplicate asset id '{spec.id}' (first defined at {origin(first[1], first[2])})")
        )
        return
    profile: Profile | None = None
    if spec.profile is not None:
        profile = library.get(spec.profile)
        if profile is None:
            known = ", ".join(library.candidates()) or "none found"
            own = [doc.error((*path, "profile"), f"missing profile '{spec.profile}' (available: {known})")]
            ctx.errors.extend([] if library.errors else own)
            ctx.follow.failed("asset", spec.id, [] if library.errors else own)
            return
        if spec.type is None and profile.spec.type is not None:
            spec = spec.model_copy(update={"type": profile.spec.type})
        if spec.label is None and profile.spec.label is not None:
            spec = spec.model_copy(update={"label": f"{spec.id} ({profile.spec.label})"})
    elif spec.address is not None or spec.address_offset or spec.vars:
        key = "address" if spec.address is not None else ("address_offset" if spec.address_offset else "vars")
        ctx.errors.append(doc.error((*path, key), f"{key} is only meaningful together with profile:"))
    ctx.asset_specs[spec.id] = (spec, doc, path)
    if profile is not None:
        expand_profile(ctx, doc, path, spec, profile, only)
    for i, p in enumerate(spec.points):
        ctx.point_sources.append(PointSource(p, doc, (*path, "points", i), spec.id, spec.source))


def expand_profile(
    ctx: Ctx, doc: Marked, path: Path_, spec: AssetSpec, profile: Profile, only: frozenset[str] | None = None
) -> None:
    """Queue one point spec per profile point, placeholders filled from the instance's ``vars``."""
    variables: dict[str, Any] = {"asset": spec.id, **spec.vars}
    runtime = frozenset[str]().union(*(a.profile_placeholders for a in ctx.adapters.values()))
    where = place(doc, path)
    for i, raw in enumerate(profile.spec.points):
        if only is not None and (raw.get("id") not in only or _computed(raw)):
            # one point per topic (an MQTT rule's point:): a computed point has no topic of its own, and its
            # inputs arrive on other topics, so it is not made this way (docs/analytics.md)
            continue
        filled, unknown = substitute(raw, variables, runtime)
        ppath = ("points", i)
        if unknown:
            names = ", ".join(sorted(unknown))
            ctx.errors.append(
                profile.doc.error(
                    ppath, f"placeholder {{{names}}} has no value (give it in vars: of the instance at {where})"
                )
            )
            continue
        prof_addr, _ = substitute(profile.spec.address or {}, variables, runtime)
        ctx.point_sources.append(
            PointSource(
                filled,
                profile.doc,
                ppath,
                spec.id,
                spec.source,
                address_layers=(prof_addr, filled.get("address"), spec.address),
                address_offset=spec.address_offset,
                instance=where,
            )
        )


def top_level_point(ctx: Ctx, doc: Marked, path: Path_, raw: dict[str, Any], source: str | None = None) -> None:
    """Queue a point written under ``points:`` (it names its asset)."""
    aid = raw.get("asset")
    if not isinstance(aid, str):
        ctx.errors.append(doc.error((*path, "asset"), "a point under points: needs asset: (the id of its asset)"))
        return
    ctx.point_sources.append(PointSource(raw, doc, path, aid, source))


def build_assets(ctx: Ctx) -> dict[str, Asset]:
    """The assets of every collected spec; unknown parents and sources and parent cycles are errors."""
    out: dict[str, Asset] = {}
    for aid, (spec, doc, path) in ctx.asset_specs.items():
        level, extra = asset_types(ctx, doc, path, spec)
        if spec.parent is not None and not ctx.has_asset(spec.parent):
            if ctx.follow.follows("asset", spec.parent, "asset"):
                continue
            ctx.errors.append(
                doc.error(
                    (*path, "parent"), f"unknown parent asset '{spec.parent}'" + suggest(spec.parent, ctx.asset_specs)
                )
            )
        if spec.source is not None and spec.source not in ctx.sources:
            e = doc.error((*path, "source"), f"unknown source id '{spec.source}'" + suggest(spec.source, ctx.sources))
            if not ctx.follow.follows("source", spec.source, "asset"):
                ctx.errors.append(e)
                ctx.follow.failed("source", spec.source, [e])  # its points inherit the source: one error
        if ctx.running is not None and aid in ctx.running.locations:
            ctx.errors.append(doc.error((*path, "id"), f"asset id '{aid}' is a location of the twin: rename the asset"))
        profile = ctx.profiles.get(spec.profile) if spec.profile is not None and ctx.profiles is not None else None
        location, properties = asset_topology(ctx, spec, doc, path, profile)
        out[aid] = Asset(
            id=aid,
            level=level,
            classes=tuple(extra),
            label=spec.label or aid,
            parent=spec.parent,
            description=spec.description,
            profile=spec.profile,
            location=location,
            properties=properties,
            origin=origin(doc, path),
        )
    _parent_cycles(ctx)
    return out


def _parent_cycles(ctx: Ctx) -> None:
    for aid, (spec, doc, path) in ctx.asset_specs.items():
        seen = {aid}
        cur = spec.parent
        while cur is not None and cur in ctx.asset_specs:
            if cur in seen:
                ctx.errors.append(
                    doc.error((*path, "parent"), f"asset '{aid}' is its own ancestor (parent cycle through '{cur}')")
                )
                break
            seen.add(cur)
            cur = ctx.asset_specs[cur][0].parent


def asset_types(ctx: Ctx, doc: Marked, path: Path_, spec: AssetSpec) -> tuple[AssetLevel, list[str]]:
    """The level and extra classes an asset's ``type:`` says (a Brick location or equipment implies a level)."""
    raw = spec.type if spec.type is not None else []
    items = [raw] if isinstance(raw, str) else list(raw)
    level: AssetLevel | None = None
    extra: list[str] = []
    inferred: AssetLevel | None = None
    for i, item in enumerate(items):
        ipath = path + ("type",) + ((i,) if isinstance(raw, list) else ())
        if item.lower() in _LEVELS:
            if level is not None:
                ctx.errors.append(doc.error(ipath, f"an asset has one level; got both {level.value} and {item}"))
            level = AssetLevel(item.lower())
            continue
        try:
            iri = classes.resolve_class(item)
        except classes.ClassError as exc:
            ctx.errors.append(doc.error(ipath, str(exc)))
            continue
        if iri in _LEVEL_CLASSES:
            level = _LEVEL_CLASSES[iri]
            continue
        family = classes.brick_family(iri)
        if family == "point":
            ctx.errors.append(
                doc.error(ipath, f"{item} is a Brick point class; use it as a point's class:, not an asset type")
            )
            continue
        if family == "location":
            inferred = inferred or (AssetLevel.SITE if iri == _BRICK_SITE else AssetLevel.AREA)
        elif family == "equipment":
            inferred = inferred or AssetLevel.EQUIPMENT
        extra.append(iri)
    return level or inferred or AssetLevel.EQUIPMENT, extra


def _computed(raw: Any) -> bool:
    """Whether a profile point is computed by the twin (``expr:`` or ``aggregate:``) rather than read."""
    return isinstance(raw, dict) and (raw.get("expr") is not None or raw.get("aggregate") is not None)
