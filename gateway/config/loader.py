"""Load one or more mapping files into a validated ``TwinModel``, reporting every error with its position.

Validation runs in phases: the file skeleton, the ``twin``/``gateway`` sections, sources (base model, then
the adapter's own ``config_model``), assets (with profile instances expanded), points (addresses validated by
the source's adapter), and finally cross-file checks. Nothing connects anywhere here.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adapters.contract.adapter import Adapter
from adapters.contract.config import Address, SourceConfig
from adapters.contract.model import Asset, AssetLevel, Deadband, Origin, Point, PointKind, Transform
from adapters.registry import UnknownAdapter, get_adapter
from gateway import classes, units
from gateway.config.envvars import checked, unset_report
from gateway.config.errors import ConfigError, ConfigErrors
from gateway.config.followons import FollowOns
from gateway.config.models import AssetSpec, DeadbandSpec, MappingFile, PointSpec, TransformSpec, TwinSettings
from gateway.config.profiles import Profile, ProfileLibrary, builtin_profile_dir, merged_address, substitute
from gateway.config.quantities import unit_misfits
from gateway.config.validation import pydantic_errors
from gateway.config.yamlmarks import Marked, Path_, load_yaml
from gateway.model import TwinModel
from gateway.northbound.registry import service_specs

_LEVELS = {lvl.value for lvl in AssetLevel}
_TB = classes.PREFIXES["tb"]
_LEVEL_CLASSES = {
    _TB + "Site": AssetLevel.SITE,
    _TB + "Area": AssetLevel.AREA,
    _TB + "Line": AssetLevel.LINE,
    _TB + "Equipment": AssetLevel.EQUIPMENT,
}
_BRICK_SITE = classes.PREFIXES["brick"] + "Site"


@dataclass
class _PointSource:
    """A point spec plus where its fields were written (the instance and the profile may differ)."""

    spec: dict[str, Any]
    doc: Marked
    path: Path_
    asset: str
    default_source: str | None
    address_layers: tuple[dict[str, Any] | None, ...] = ()
    address_offset: int = 0
    instance: str | None = None  # "file:line" of the profile instance, for messages


@dataclass
class _Ctx:
    errors: list[ConfigError] = field(default_factory=list)
    settings: TwinSettings | None = None
    settings_at: str | None = None
    services: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    source_origins: dict[str, Origin] = field(default_factory=dict)
    adapters: dict[str, type[Adapter]] = field(default_factory=dict)
    asset_specs: dict[str, tuple[AssetSpec, Marked, Path_]] = field(default_factory=dict)
    point_sources: list[_PointSource] = field(default_factory=list)
    profiles: ProfileLibrary | None = None
    follow: FollowOns = field(default_factory=FollowOns)


def load_mappings(
    files: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
    notes: list[ConfigError] | None = None,
) -> TwinModel:
    """Validate mapping files together and build the twin model; raise ``ConfigErrors`` listing every problem.

    ``texts`` maps file names to content, for tests and tools that build mappings in memory. With ``notes``
    given, unset ``${VAR}``s are notes appended to it instead of errors (a check without the secrets).
    """
    ctx = _Ctx()
    docs: list[tuple[Marked, MappingFile]] = []
    marked: list[Marked] = []
    for f in files:
        name = str(f)
        doc, errs = load_yaml(name, None if texts is None else texts.get(name), env, report_unset=False)
        ctx.errors.extend(errs)
        marked.append(doc)
        if doc.data is None:
            if not errs:
                ctx.errors.append(ConfigError(name, 1, 1, "", "the file is empty"))
            continue
        if not isinstance(doc.data, dict):
            ctx.errors.append(doc.error((), "a mapping file must be a YAML mapping (sources:, assets:, ...)"))
            continue
        try:
            skeleton = MappingFile.model_validate(doc.data)
        except ValidationError as exc:
            ctx.errors.extend(pydantic_errors(exc, doc, model=MappingFile))
            continue
        docs.append((doc, skeleton))

    for doc, skel in docs:
        _twin_section(ctx, doc, skel)
    settings = ctx.settings or TwinSettings()
    library = _profile_library(settings, [d for d, _ in docs], ctx)
    ctx.profiles = library
    for doc, skel in docs:
        _gateway_section(ctx, doc, skel)
        for i, raw in enumerate(skel.sources):
            _source(ctx, doc, ("sources", i), raw)
    for doc, skel in docs:
        for i, raw in enumerate(skel.assets):
            _asset(ctx, doc, ("assets", i), raw, library)
        for i, raw in enumerate(skel.points):
            _top_level_point(ctx, doc, ("points", i), raw)
    ctx.errors.extend(library.errors)

    model = TwinModel(settings=settings, services=ctx.services, files=[str(f) for f in files], profiles=library)
    model.sources = ctx.sources
    model.source_origins = ctx.source_origins
    _build_assets(ctx, model)
    _build_points(ctx, model)
    _check_sources(ctx, model)
    unset = unset_report(marked, as_notes=notes is not None)
    (ctx.errors if notes is None else notes).extend(unset)
    if ctx.errors:
        raise ConfigErrors(ctx.follow.annotate(ctx.errors))
    return model


# -- sections -----------------------------------------------------------------------------------


def _twin_section(ctx: _Ctx, doc: Marked, skel: MappingFile) -> None:
    if skel.twin is None:
        return
    here = f"{doc.file}:{doc.mark(('twin',))[0]}"
    if ctx.settings is not None:
        ctx.errors.append(
            doc.error(("twin",), f"the twin: section may appear in one file only (already in {ctx.settings_at})")
        )
        return
    settings = checked(TwinSettings, skel.twin, doc, ("twin",), ctx.errors)
    if settings is None:
        return
    # profile paths are relative to the file that names them
    base = Path(doc.file).parent
    paths = [str((base / p).resolve()) for p in settings.profile_paths]
    if settings.store is not None and not Path(settings.store).is_absolute():
        settings = settings.model_copy(update={"store": str((base / settings.store).resolve())})
    ctx.settings = settings.model_copy(update={"profile_paths": paths})
    ctx.settings_at = here


def _gateway_section(ctx: _Ctx, doc: Marked, skel: MappingFile) -> None:
    if not skel.gateway:
        return
    specs = service_specs()
    for name, raw in skel.gateway.items():
        path = ("gateway", name)
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none installed"
            ctx.errors.append(doc.error(path, f"unknown gateway section '{name}' (known: {known})"))
            continue
        if name in ctx.services:
            ctx.errors.append(doc.error(path, f"gateway.{name} is configured in more than one file"))
            continue
        cfg = checked(spec.config_model, raw if raw is not None else {}, doc, path, ctx.errors)
        if cfg is not None:
            ctx.services[name] = cfg


def _profile_library(settings: TwinSettings, docs: list[Marked], ctx: _Ctx) -> ProfileLibrary:
    lib = ProfileLibrary()
    for p in settings.profile_paths:
        lib.add_dir(Path(p))
    for doc in docs:
        lib.add_dir(Path(doc.file).parent / "profiles")
    lib.add_dir(builtin_profile_dir())
    return lib


def _source(ctx: _Ctx, doc: Marked, path: Path_, raw: dict[str, Any]) -> None:
    kind = raw.get("kind")
    own: list[ConfigError] = []
    adapter: type[Adapter] | None = None
    try:
        adapter = get_adapter(kind) if isinstance(kind, str) else None
    except UnknownAdapter as exc:
        own.append(doc.error((*path, "kind"), str(exc)))
    if adapter is None and not own:
        own.append(doc.error((*path, "kind"), "missing required key 'kind' (the adapter: modbus, opcua, mqtt, sim)"))
    cfg = checked(adapter.config_model, raw, doc, path, own) if adapter is not None else None
    ctx.errors.extend(own)
    if cfg is None or adapter is None:
        ctx.follow.failed("source", raw.get("id"), own)  # its points would only say "unknown source"
        return
    origin = _origin(doc, path)
    if cfg.id in ctx.sources:
        ctx.errors.append(
            doc.error((*path, "id"), f"duplicate source id '{cfg.id}' (first defined at {ctx.source_origins[cfg.id]})")
        )
        return
    ctx.sources[cfg.id] = cfg
    ctx.source_origins[cfg.id] = origin
    ctx.adapters[cfg.id] = adapter


def _asset(ctx: _Ctx, doc: Marked, path: Path_, raw: dict[str, Any], library: ProfileLibrary) -> None:
    own: list[ConfigError] = []
    spec = checked(AssetSpec, raw, doc, path, own)
    ctx.errors.extend(own)
    if spec is None:
        ctx.follow.failed("asset", raw.get("id"), own)
        return
    if spec.id in ctx.asset_specs:
        first = ctx.asset_specs[spec.id]
        ctx.errors.append(
            doc.error((*path, "id"), f"duplicate asset id '{spec.id}' (first defined at {_origin(first[1], first[2])})")
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
        _expand_profile(ctx, doc, path, spec, profile)
    for i, p in enumerate(spec.points):
        ctx.point_sources.append(_PointSource(p, doc, (*path, "points", i), spec.id, spec.source))


def _expand_profile(ctx: _Ctx, doc: Marked, path: Path_, spec: AssetSpec, profile: Profile) -> None:
    variables: dict[str, Any] = {"asset": spec.id, **spec.vars}
    where = str(_origin(doc, path))
    for i, raw in enumerate(profile.spec.points):
        filled, unknown = substitute(raw, variables)
        ppath = ("points", i)
        if unknown:
            names = ", ".join(sorted(unknown))
            ctx.errors.append(
                profile.doc.error(
                    ppath, f"placeholder {{{names}}} has no value (give it in vars: of the instance at {where})"
                )
            )
            continue
        prof_addr, _ = substitute(profile.spec.address or {}, variables)
        ctx.point_sources.append(
            _PointSource(
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


def _top_level_point(ctx: _Ctx, doc: Marked, path: Path_, raw: dict[str, Any]) -> None:
    asset = raw.get("asset")
    if not isinstance(asset, str):
        ctx.errors.append(doc.error((*path, "asset"), "a point under points: needs asset: (the id of its asset)"))
        return
    ctx.point_sources.append(_PointSource(raw, doc, path, asset, None))


# -- assets ------------------------------------------------------------------------------------


def _build_assets(ctx: _Ctx, model: TwinModel) -> None:
    for aid, (spec, doc, path) in ctx.asset_specs.items():
        level, extra = _asset_types(ctx, doc, path, spec)
        if spec.parent is not None and spec.parent not in ctx.asset_specs:
            if ctx.follow.follows("asset", spec.parent, "asset"):
                continue
            ctx.errors.append(
                doc.error(
                    (*path, "parent"), f"unknown parent asset '{spec.parent}'" + _suggest(spec.parent, ctx.asset_specs)
                )
            )
        if spec.source is not None and spec.source not in ctx.sources:
            e = doc.error((*path, "source"), f"unknown source id '{spec.source}'" + _suggest(spec.source, ctx.sources))
            if not ctx.follow.follows("source", spec.source, "asset"):
                ctx.errors.append(e)
                ctx.follow.failed("source", spec.source, [e])  # its points inherit the source: one error
        model.assets[aid] = Asset(
            id=aid,
            level=level,
            classes=tuple(extra),
            label=spec.label or aid,
            parent=spec.parent,
            description=spec.description,
            profile=spec.profile,
            origin=_origin(doc, path),
        )
    # cycles in the parent chain
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


def _asset_types(ctx: _Ctx, doc: Marked, path: Path_, spec: AssetSpec) -> tuple[AssetLevel, list[str]]:
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


# -- points ------------------------------------------------------------------------------------


def _build_points(ctx: _Ctx, model: TwinModel) -> None:
    for ps in ctx.point_sources:
        point = _point(ctx, model, ps)
        if point is None:
            continue
        if point.id in model.points:
            first = model.points[point.id].origin
            ctx.errors.append(
                ps.doc.error((*ps.path, "id"), f"duplicate point id '{point.id}' (first defined at {first})" + _in(ps))
            )
            continue
        model.points[point.id] = point


def _in(ps: _PointSource) -> str:
    return f" [profile instance at {ps.instance}]" if ps.instance else ""


def _point(ctx: _Ctx, model: TwinModel, ps: _PointSource) -> Point | None:
    doc, path = ps.doc, ps.path
    before = len(ctx.errors)

    def err(sub: Path_, msg: str) -> None:
        ctx.errors.append(doc.error(path + sub, msg + _in(ps)))

    try:
        spec = PointSpec.model_validate(ps.spec)
    except ValidationError as exc:
        errs = pydantic_errors(exc, doc, path, PointSpec, data=ps.spec)
        ctx.errors.extend(ConfigError(e.file, e.line, e.col, e.path, e.message + _in(ps)) for e in errs)
        return None
    asset_id = spec.asset or ps.asset
    if asset_id not in ctx.asset_specs:
        if not ctx.follow.follows("asset", asset_id):
            err(("asset",), f"unknown asset '{asset_id}'" + _suggest(asset_id, ctx.asset_specs))
        return None
    pid = f"{asset_id}.{spec.id}"

    # classes
    point_classes: list[str] = []
    raw_classes = [spec.class_] if isinstance(spec.class_, str) else list(spec.class_ or [])
    for i, c in enumerate(raw_classes):
        sub = ("class",) + ((i,) if isinstance(spec.class_, list) else ())
        try:
            iri = classes.resolve_class(c)
        except classes.ClassError as exc:
            err(sub, str(exc))
            continue
        family = classes.brick_family(iri)
        if family in ("equipment", "location", "collection"):
            err(sub, f"{c} is a Brick {family} class; a point's class must be a Brick point class")
            continue
        point_classes.append(iri)

    # unit
    unit = None
    if spec.unit is not None:
        u = units.get_unit(spec.unit)
        if u is None:
            err(("unit",), _unknown_unit(spec.unit, " (QUDT unit names such as DEG_C, KiloW, PERCENT)"))
        elif not spec.datatype.is_numeric:
            err(("unit",), f"a unit is only meaningful on a numeric point (this one is {spec.datatype.value})")
        else:
            unit = u.name
            for msg in unit_misfits(point_classes, unit):
                err(("unit",), msg)
    elif spec.datatype.is_numeric and spec.type in (PointKind.MEASUREMENT, PointKind.SETPOINT):
        err((), f"a numeric {spec.type.value} needs a unit (e.g. unit: DEG_C; UNITLESS for counts and ratios)")

    # range
    rng = spec.datatype.int_range
    for key in ("min", "max"):
        v = getattr(spec, key)
        if v is not None and rng is not None and not rng[0] <= v <= rng[1]:
            err((key,), f"{key} {v:g} is outside what a {spec.datatype.value} can hold ({rng[0]}..{rng[1]})")
        if v is not None and not spec.datatype.is_numeric:
            err((key,), f"{key} is only meaningful on a numeric point")

    transform = _transform(spec, unit, err)

    # source and address
    source_id = spec.source or ps.default_source or _inherited_source(ctx, asset_id)
    if source_id is None:
        err((), "point has no source (set source: on the point, its asset or an ancestor asset)")
        return None
    if source_id not in ctx.sources:
        if not ctx.follow.follows("source", source_id):
            err(
                ("source",) if spec.source else (),
                f"unknown source id '{source_id}'" + _suggest(source_id, ctx.sources),
            )
        return None
    src = ctx.sources[source_id]
    adapter = ctx.adapters[source_id]
    raw_addr = merged_address(*ps.address_layers) if ps.address_layers else dict(spec.address or {})
    address: Address | None = None
    try:
        address = adapter.address_model.model_validate(raw_addr)
    except ValidationError as exc:
        apath = (*path, "address")
        addr_data = raw_addr if ps.address_layers else spec.address or {}
        errs = pydantic_errors(exc, doc, apath, adapter.address_model, data=addr_data)
        ctx.errors.extend(
            ConfigError(e.file, e.line, e.col, e.path, f"{e.message} ({src.kind} address){_in(ps)}") for e in errs
        )
    if address is not None and ps.address_offset:
        try:
            address = address.with_offset(ps.address_offset)
        except ValueError as exc:
            err(("address",), f"address_offset {ps.address_offset}: {exc}")
            address = None
    if address is None:
        return None
    if spec.writable:
        if not adapter.supports_write:
            err(("writable",), f"{src.kind} sources do not support writes")
        elif not address.writable():
            err(("writable",), f"the point is writable but its {src.kind} address is read-only")

    if len(ctx.errors) > before:
        return None
    point = Point(
        id=pid,
        asset=asset_id,
        kind=spec.type,
        datatype=spec.datatype,
        source=source_id,
        address=address,
        label=spec.label or spec.id,
        classes=tuple(point_classes),
        unit=unit,
        description=spec.description,
        writable=spec.writable,
        min=spec.min,
        max=spec.max,
        transform=transform,
        origin=_origin(doc, path),
    )
    for msg in adapter.check_point(src, point):
        err(("address",), msg)
    return point if len(ctx.errors) == before else None


def _transform(spec: PointSpec, unit: str | None, err: Any) -> Transform:
    t = spec.transform or TransformSpec()
    if spec.transform is not None and not spec.datatype.is_numeric:
        err(("transform",), f"transforms are only meaningful on numeric points (this one is {spec.datatype.value})")
        return Transform()
    source_unit = None
    if t.source_unit is not None:
        u = units.get_unit(t.source_unit)
        if u is None:
            err(("transform", "source_unit"), _unknown_unit(t.source_unit, ""))
        elif unit is None:
            err(("transform", "source_unit"), "source_unit needs the point's unit: to convert into")
        else:
            try:
                units.converter(u.name, unit)
                source_unit = u.name
            except units.UnitError as exc:
                err(("transform", "source_unit"), str(exc))
    deadband = None
    if t.deadband is not None:
        db = t.deadband if isinstance(t.deadband, DeadbandSpec) else DeadbandSpec(absolute=t.deadband)
        if db.percent is not None and (spec.min is None or spec.max is None):
            err(("transform", "deadband", "percent"), "a percent deadband needs the point's min and max")
        deadband = Deadband(db.absolute, db.percent, db.max_interval)
    if t.clamp and spec.min is None and spec.max is None:
        err(("transform", "clamp"), "clamp needs min and/or max on the point")
    return Transform(t.scale, t.offset, source_unit, t.clamp, deadband)


def _inherited_source(ctx: _Ctx, asset_id: str) -> str | None:
    seen: set[str] = set()
    cur: str | None = asset_id
    while cur is not None and cur in ctx.asset_specs and cur not in seen:
        seen.add(cur)
        spec = ctx.asset_specs[cur][0]
        if spec.source is not None:
            return spec.source
        cur = spec.parent
    return None


def _check_sources(ctx: _Ctx, model: TwinModel) -> None:
    by_source: dict[str, list[Point]] = {}
    for p in model.points.values():
        by_source.setdefault(p.source, []).append(p)
    for sid, cfg in ctx.sources.items():
        adapter = ctx.adapters[sid]
        kwargs = {"profiles": ctx.profiles} if "profiles" in inspect.signature(adapter.check_source).parameters else {}
        for pid, msg in adapter.check_source(cfg, by_source.get(sid, []), **kwargs):
            origin = model.points[pid].origin if pid and pid in model.points else ctx.source_origins[sid]
            assert origin is not None
            label = f"point '{pid}': " if pid else ""
            ctx.errors.append(ConfigError(origin.file, origin.line, origin.col, f"sources.{sid}", label + msg))


# -- helpers -----------------------------------------------------------------------------------


def _origin(doc: Marked, path: Path_) -> Origin:
    line, col = doc.mark(path, prefer_key=False)
    return Origin(doc.file, line, col)


def _unknown_unit(name: str, fallback: str) -> str:
    hints = units.suggest_units(name)
    return f"unknown unit '{name}'" + (f" (did you mean {', '.join(hints)}?)" if hints else fallback)


def _suggest(name: str, known: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
