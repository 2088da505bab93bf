"""The point builder: one point spec (from a mapping, a profile instance or a discovered fragment) to a ``Point``.

Checks, in order: the spec's shape, its asset, Brick classes (point family only), unit (required on numeric
measurements and setpoints, fitting the classes' quantity kind), min/max within the datatype's integer
range, transform (source unit convertible, percent deadband needs min and max, clamp needs a bound), source
and address (validated by the source's adapter, profile offsets applied), writability, then the adapter's own
``check_point``. Every problem is a ``ConfigError`` at the line that has to change.
"""

from __future__ import annotations

from pydantic import ValidationError

from adapters.contract.config import Address
from adapters.contract.model import Deadband, Point, PointKind, Transform
from gateway import classes, units
from gateway.config.context import Ctx, PointSource, in_, origin, suggest, unknown_unit
from gateway.config.errors import ConfigError
from gateway.config.models import DeadbandSpec, PointSpec, TransformSpec
from gateway.config.placement import point_topology
from gateway.config.profiles import merged_address
from gateway.config.quantities import unit_misfits
from gateway.config.validation import pydantic_errors
from gateway.config.yamlmarks import Path_
from gateway.rules.spec import DERIVED_SOURCE, DerivedAddress


class _Report:
    """Errors about one point spec, at a path under it (with the profile instance named when there is one)."""

    def __init__(self, ctx: Ctx, ps: PointSource) -> None:
        self.ctx = ctx
        self.ps = ps

    def __call__(self, sub: Path_, msg: str) -> None:
        self.ctx.errors.append(self.ps.doc.error(self.ps.path + sub, msg + in_(self.ps)))


def build_points(ctx: Ctx) -> dict[str, Point]:
    """Every queued point spec built; duplicate ids are errors (the first one stays)."""
    out: dict[str, Point] = {}
    for ps in ctx.point_sources:
        point = build_point(ctx, ps)
        if point is None:
            continue
        if point.id in out:
            first = out[point.id].origin
            ctx.errors.append(
                ps.doc.error((*ps.path, "id"), f"duplicate point id '{point.id}' (first defined at {first})" + in_(ps))
            )
            continue
        out[point.id] = point
    return out


def build_point(ctx: Ctx, ps: PointSource) -> Point | None:
    """The point of one spec, or None when anything is wrong with it (every problem added to ``ctx.errors``)."""
    before = len(ctx.errors)
    err = _Report(ctx, ps)
    spec = _spec(ctx, ps)
    if spec is None:
        return None
    asset_id = spec.asset or ps.asset
    if not ctx.has_asset(asset_id):
        if not ctx.follow.follows("asset", asset_id):
            err(("asset",), f"unknown asset '{asset_id}'" + suggest(asset_id, ctx.asset_specs))
        return None
    point_classes = _classes(spec, err)
    unit = _unit(spec, point_classes, err)
    _range(spec, err)
    transform = _transform(spec, unit, err)
    if spec.expr is not None or spec.aggregate is not None:
        return _derived(ctx, ps, spec, unit, point_classes, transform, before)
    source_id = _source(ctx, ps, spec, asset_id, err)
    if source_id is None:
        return None
    address = _address(ctx, ps, spec, source_id, err)
    if address is None:
        return None
    location, properties = point_topology(ctx, ps, spec, f"{asset_id}.{spec.id}")
    src, adapter = ctx.sources[source_id], ctx.adapters[source_id]
    if spec.writable:
        if not adapter.supports_write:
            err(("writable",), f"{src.kind} sources do not support writes")
        elif not address.writable():
            err(("writable",), f"the point is writable but its {src.kind} address is read-only")
    if len(ctx.errors) > before:
        return None
    point = Point(
        id=f"{asset_id}.{spec.id}",
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
        location=location,
        properties=properties,
        origin=origin(ps.doc, ps.path),
    )
    for msg in adapter.check_point(src, point):
        err(("address",), msg)
    return point if len(ctx.errors) == before else None


def _derived(
    ctx: Ctx, ps: PointSource, spec: PointSpec, unit: str | None, point_classes: list[str], t: Transform, before: int
) -> Point | None:
    """A point computed by analytics (``expr:`` or ``aggregate:``): fed by the virtual source, never written."""
    err = _Report(ctx, ps)
    asset_id = spec.asset or ps.asset
    if spec.expr is not None and spec.aggregate is not None:
        err(("aggregate",), "a derived point has expr: or aggregate:, not both: remove one")
    for key in ("address", "source"):  # the profile's shared address: is not the point's own
        if ps.spec.get(key) is not None:
            err((key,), f"a derived point (expr:/aggregate:) is computed, so it has no {key}: remove it")
    if spec.writable:
        err(("writable",), "a derived point is computed and cannot be written: remove writable: true")
    aggregate = derived_description(spec.aggregate) if spec.aggregate is not None else None
    location, properties = point_topology(ctx, ps, spec, f"{asset_id}.{spec.id}")
    if len(ctx.errors) > before:
        return None
    return Point(
        id=f"{asset_id}.{spec.id}",
        asset=asset_id,
        kind=spec.type,
        datatype=spec.datatype,
        source=DERIVED_SOURCE,
        address=DerivedAddress(expr=spec.expr, aggregate=aggregate),
        label=spec.label or spec.id,
        classes=tuple(point_classes),
        unit=unit,
        description=spec.description,
        min=spec.min,
        max=spec.max,
        transform=t,
        location=location,
        properties=properties,
        origin=origin(ps.doc, ps.path),
    )


def derived_description(aggregate: object) -> str:
    """``sum of brick:Electric_Power_Sensor under hall`` (the RDF's tb:aggregate; checked by config/analytics)."""
    if not isinstance(aggregate, dict):
        return str(aggregate)
    parts = []
    for function, selector in aggregate.items():
        if not isinstance(selector, dict):
            parts.append(f"{function} of {selector}")
            continue
        words = [str(function), "of"]
        cls = selector.get("class")
        words.append(" or ".join(map(str, cls)) if isinstance(cls, list) else str(cls or "points"))
        if selector.get("under"):
            words.append(f"under {selector['under']}")
        if selector.get("points"):
            words.append(", ".join(map(str, selector["points"])))
        if selector.get("sparql"):
            words.append("selected by SPARQL")
        parts.append(" ".join(words))
    return "; ".join(parts)


def _spec(ctx: Ctx, ps: PointSource) -> PointSpec | None:
    try:
        return PointSpec.model_validate(ps.spec)
    except ValidationError as exc:
        errs = pydantic_errors(exc, ps.doc, ps.path, PointSpec, data=ps.spec)
        ctx.errors.extend(ConfigError(e.file, e.line, e.col, e.path, e.message + in_(ps)) for e in errs)
        return None


def _classes(spec: PointSpec, err: _Report) -> list[str]:
    out: list[str] = []
    raw = [spec.class_] if isinstance(spec.class_, str) else list(spec.class_ or [])
    for i, c in enumerate(raw):
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
        out.append(iri)
    return out


def _unit(spec: PointSpec, point_classes: list[str], err: _Report) -> str | None:
    if spec.unit is None:
        if spec.datatype.is_numeric and spec.type in (PointKind.MEASUREMENT, PointKind.SETPOINT):
            err((), f"a numeric {spec.type.value} needs a unit (e.g. unit: DEG_C; UNITLESS for counts and ratios)")
        return None
    u = units.get_unit(spec.unit)
    if u is None:
        err(("unit",), unknown_unit(spec.unit, " (QUDT unit names such as DEG_C, KiloW, PERCENT)"))
        return None
    if not spec.datatype.is_numeric:
        err(("unit",), f"a unit is only meaningful on a numeric point (this one is {spec.datatype.value})")
        return None
    for msg in unit_misfits(point_classes, u.name):
        err(("unit",), msg)
    return u.name


def _range(spec: PointSpec, err: _Report) -> None:
    rng = spec.datatype.int_range
    for key in ("min", "max"):
        v = getattr(spec, key)
        if v is not None and rng is not None and not rng[0] <= v <= rng[1]:
            err((key,), f"{key} {v:g} is outside what a {spec.datatype.value} can hold ({rng[0]}..{rng[1]})")
        if v is not None and not spec.datatype.is_numeric:
            err((key,), f"{key} is only meaningful on a numeric point")


def _transform(spec: PointSpec, unit: str | None, err: _Report) -> Transform:
    t = spec.transform or TransformSpec()
    if spec.transform is not None and not spec.datatype.is_numeric:
        err(("transform",), f"transforms are only meaningful on numeric points (this one is {spec.datatype.value})")
        return Transform()
    source_unit = None
    if t.source_unit is not None:
        u = units.get_unit(t.source_unit)
        if u is None:
            err(("transform", "source_unit"), unknown_unit(t.source_unit, ""))
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


def _source(ctx: Ctx, ps: PointSource, spec: PointSpec, asset_id: str, err: _Report) -> str | None:
    source_id = spec.source or ps.default_source or _inherited_source(ctx, asset_id)
    if source_id is None:
        err((), "point has no source (set source: on the point, its asset or an ancestor asset)")
        return None
    if source_id not in ctx.sources:
        if not ctx.follow.follows("source", source_id):
            err(
                ("source",) if spec.source else (),
                f"unknown source id '{source_id}'" + suggest(source_id, ctx.sources),
            )
        return None
    return source_id


def _address(ctx: Ctx, ps: PointSource, spec: PointSpec, source_id: str, err: _Report) -> Address | None:
    src = ctx.sources[source_id]
    adapter = ctx.adapters[source_id]
    raw_addr = merged_address(*ps.address_layers) if ps.address_layers else dict(spec.address or {})
    address: Address | None = None
    try:
        address = adapter.address_model.model_validate(raw_addr)
    except ValidationError as exc:
        apath = (*ps.path, "address")
        addr_data = raw_addr if ps.address_layers else spec.address or {}
        errs = pydantic_errors(exc, ps.doc, apath, adapter.address_model, data=addr_data)
        ctx.errors.extend(
            ConfigError(e.file, e.line, e.col, e.path, f"{e.message} ({src.kind} address){in_(ps)}") for e in errs
        )
    if address is not None and ps.address_offset:
        try:
            address = address.with_offset(ps.address_offset)
        except ValueError as exc:
            err(("address",), f"address_offset {ps.address_offset}: {exc}")
            address = None
    return address


def _inherited_source(ctx: Ctx, asset_id: str) -> str | None:
    seen: set[str] = set()
    cur: str | None = asset_id
    while cur is not None and cur in ctx.asset_specs and cur not in seen:
        seen.add(cur)
        spec = ctx.asset_specs[cur][0]
        if spec.source is not None:
            return spec.source
        cur = spec.parent
    return None
