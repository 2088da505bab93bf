"""Assets and points created at run time by topic rules and Sparkplug births, from device profiles.

A rule names a profile; the first message on a new topic (or a new Sparkplug birth) instantiates the profile
for the asset the topic binds, the same way the config loader instantiates profiles for assets written in a
mapping: ``{name}`` placeholders filled (``{asset}``, ``{topic}``, the topic's bound levels and the rule's
``vars``), addresses merged (profile, point, then the matched topic), units and classes checked. Write-time
placeholders (``{value}``, ``{point}``...) are left for the command. No I/O.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from adapters.contract.model import Asset, AssetLevel, DataType, Deadband, Point, PointKind, Transform
from adapters.mqtt.config import COMMAND_PLACEHOLDERS, MqttAddress, SparkplugRule, TopicRule
from adapters.mqtt.sparkplug import DATATYPES
from adapters.mqtt.topics import fill, make_id, placeholders
from gateway import classes, units
from gateway.config.models import DeadbandSpec, PointSpec, TransformSpec
from gateway.config.profiles import Profile, ProfileLibrary

_LEVELS = {lvl.value: lvl for lvl in AssetLevel}
_KEEP = COMMAND_PLACEHOLDERS - {"asset", "topic"}


class DiscoveryError(ValueError):
    """A profile or rule that cannot produce valid points."""


def substitute(value: Any, variables: Mapping[str, Any], unknown: set[str]) -> Any:
    """Fill placeholders in every string of ``value`` (a whole-string ``{x}`` keeps the variable's type)."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in variables:
            return variables[value[1:-1]]
        unknown.update(placeholders(value) - set(variables) - _KEEP)
        return fill(value, variables, keep=_KEEP)
    if isinstance(value, dict):
        return {k: substitute(v, variables, unknown) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables, unknown) for v in value]
    return value


def asset_types(
    spec: str | list[str] | None, default: AssetLevel = AssetLevel.EQUIPMENT
) -> tuple[AssetLevel, tuple[str, ...]]:
    """The level and extra classes of an asset type list (as the loader reads ``type:``)."""
    items = [spec] if isinstance(spec, str) else list(spec or [])
    level: AssetLevel | None = None
    extra: list[str] = []
    for item in items:
        if item.lower() in _LEVELS:
            level = _LEVELS[item.lower()]
            continue
        try:
            iri = classes.resolve_class(item)
        except classes.ClassError as exc:
            raise DiscoveryError(str(exc)) from None
        family = classes.brick_family(iri)
        if family == "point":
            raise DiscoveryError(f"{item} is a Brick point class, not an asset type")
        if level is None and family == "location":
            level = AssetLevel.AREA
        extra.append(iri)
    return level or default, tuple(extra)


def build_point(raw: Mapping[str, Any], asset: str, source: str, address: Mapping[str, Any]) -> Point:
    """A ``Point`` from a (filled) point spec; ``DiscoveryError`` names every problem."""
    try:
        spec = PointSpec.model_validate(raw)
    except ValidationError as exc:
        raise DiscoveryError(_errors(exc)) from None
    problems: list[str] = []
    point_classes: list[str] = []
    for c in [spec.class_] if isinstance(spec.class_, str) else list(spec.class_ or []):
        try:
            point_classes.append(classes.resolve_class(c))
        except classes.ClassError as exc:
            problems.append(str(exc))
    unit = None
    if spec.unit is not None:
        u = units.get_unit(spec.unit)
        if u is None:
            problems.append(f"unknown unit '{spec.unit}'")
        else:
            unit = u.name
    transform = Transform()
    if spec.transform is not None:
        transform = _transform(spec.transform, unit, problems)
    try:
        addr = MqttAddress.model_validate(dict(address))
    except ValidationError as exc:
        problems.append("address: " + _errors(exc))
        addr = None
    if addr is not None and spec.writable and not addr.writable():
        problems.append("the point is writable but its address has no command_topic")
    if problems or addr is None:
        raise DiscoveryError(f"point '{spec.id}': " + "; ".join(problems))
    return Point(
        id=f"{asset}.{spec.id}",
        asset=asset,
        kind=spec.type,
        datatype=spec.datatype,
        source=source,
        address=addr,
        label=spec.label or spec.id,
        classes=tuple(point_classes),
        unit=unit,
        description=spec.description,
        writable=spec.writable,
        min=spec.min,
        max=spec.max,
        transform=transform,
    )


def _transform(t: TransformSpec, unit: str | None, problems: list[str]) -> Transform:
    source_unit = None
    if t.source_unit is not None:
        u = units.get_unit(t.source_unit)
        if u is None or unit is None:
            problems.append(f"source_unit '{t.source_unit}' needs a known unit and the point's unit")
        else:
            try:
                units.converter(u.name, unit)
                source_unit = u.name
            except units.UnitError as exc:
                problems.append(str(exc))
    deadband = None
    if t.deadband is not None:
        db = t.deadband if isinstance(t.deadband, DeadbandSpec) else DeadbandSpec(absolute=t.deadband)
        deadband = Deadband(db.absolute, db.percent, db.max_interval)
    return Transform(t.scale, t.offset, source_unit, t.clamp, deadband)


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())


def _profile(library: ProfileLibrary | None, name: str, rule: str) -> Profile:
    if library is None:
        raise DiscoveryError(f"rule '{rule}': profile '{name}' cannot be loaded (no profile library)")
    prof = library.get(name)
    if prof is None:
        detail = "; ".join(str(e) for e in library.errors) or f"available: {', '.join(library.candidates()) or 'none'}"
        raise DiscoveryError(f"rule '{rule}': missing or invalid profile '{name}' ({detail})")
    return prof


class _AssetMaker:
    """Asset (and parent) creation shared by topic and Sparkplug rules."""

    def __init__(self, rule: TopicRule | SparkplugRule, source: str) -> None:
        self.rule = rule
        self.source = source

    def assets(self, aid: str, variables: Mapping[str, Any], profile: Profile | None) -> list[Asset]:
        rule = self.rule
        type_spec = rule.type if rule.type is not None else (profile.spec.type if profile else None)
        level, extra = asset_types(type_spec)
        out: list[Asset] = []
        parent = None
        if rule.parent is not None:
            parent = make_id(fill(rule.parent, variables))
            out.append(Asset(parent, _LEVELS[rule.parent_type], (), fill(rule.parent, variables)))
        if rule.label is not None:
            label = fill(rule.label, variables)
        elif profile is not None and profile.spec.label:
            label = f"{aid} ({profile.spec.label})"
        else:
            label = aid
        out.append(Asset(aid, level, extra, label, parent=parent, profile=profile.name if profile else None))
        return out


class TopicRuleFactory(_AssetMaker):
    """Instantiates a topic rule's profile for each new topic it matches."""

    rule: TopicRule

    def __init__(self, rule: TopicRule, source: str, library: ProfileLibrary | None) -> None:
        super().__init__(rule, source)
        self.profile = _profile(library, rule.profile, rule.id)
        self.point_var = rule.point[1:-1] if rule.point else None
        self.asset_template = rule.asset_template
        # Fail at start-up, not on the first message: instantiate once with placeholder bindings.
        probe = {n: "x" for n in rule.template.variables}
        if self.point_var is not None:
            for raw in self.profile.spec.points:
                self.instantiate("probe/topic", {**probe, self.point_var: str(raw.get("id", "x"))})
        else:
            self.instantiate("probe/topic", probe)

    def asset_id(self, bindings: Mapping[str, str]) -> str:
        """The asset a matched topic feeds."""
        return make_id(fill(self.asset_template, {**self.rule.vars, **bindings}))

    def instantiate(self, topic: str, bindings: Mapping[str, str]) -> tuple[list[Asset], list[Point]]:
        """The asset(s) and points for a newly matched topic (no points when ``point:`` names none of them)."""
        rule = self.rule
        aid = self.asset_id(bindings)
        variables: dict[str, Any] = {**rule.vars, **bindings, "asset": aid, "topic": topic}
        wanted = bindings.get(self.point_var) if self.point_var else None
        points: list[Point] = []
        prof = self.profile
        for raw in prof.spec.points:
            if wanted is not None and raw.get("id") != wanted:
                continue
            unknown: set[str] = set()
            filled = substitute(raw, variables, unknown)
            prof_addr = substitute(prof.spec.address or {}, variables, unknown)
            if unknown:
                raise DiscoveryError(
                    f"profile '{prof.name}' point '{raw.get('id')}': placeholder "
                    f"{{{', '.join(sorted(unknown))}}} is not bound by rule '{rule.id}'"
                )
            address = {**prof_addr, **(filled.get("address") or {}), "topic": topic}
            address.setdefault("payload", rule.payload)
            spec = {k: v for k, v in filled.items() if k not in ("address", "source", "asset")}
            points.append(build_point(spec, aid, self.source, address))
        return self.assets(aid, variables, prof), points


class SparkplugRuleFactory(_AssetMaker):
    """Makes the points of an edge node or device from its birth certificate."""

    rule: SparkplugRule

    def __init__(self, rule: SparkplugRule, source: str, library: ProfileLibrary | None) -> None:
        super().__init__(rule, source)
        self.profile = _profile(library, rule.profile, rule.id) if rule.profile else None
        self.node_profile = _profile(library, rule.node_profile, rule.id) if rule.node_profile else None

    def matches(self, group: str, node: str) -> bool:
        """Whether this rule maps the node."""
        r = self.rule
        return r.group in ("+", group) and r.node in ("+", node)

    def excluded(self, metric: str) -> bool:
        """Metrics never mapped (control metrics by default)."""
        return any(fnmatch.fnmatchcase(metric, pat) for pat in self.rule.exclude)

    def asset_id(self, group: str, node: str, device: str | None) -> str:
        """The asset of a node's (device None) or device's metrics."""
        r = self.rule
        template = r.node_asset if device is None else r.asset
        return make_id(fill(template, {**r.vars, "group": group, "node": node, "device": device or ""}))

    def instantiate(
        self, group: str, node: str, device: str | None, metrics: Mapping[str, int]
    ) -> tuple[list[Asset], list[Point]]:
        """Assets and points for a birth's metrics (name -> Sparkplug datatype code)."""
        if device is None and not self.rule.node_metrics:
            return [], []
        aid = self.asset_id(group, node, device)
        variables: dict[str, Any] = {**self.rule.vars, "group": group, "node": node, "asset": aid}
        if device is not None:
            variables["device"] = device
        where = {"payload": "sparkplug", "group": group, "node": node, "device": device}
        profile = self.profile if device is not None else self.node_profile
        points: list[Point] = []
        if profile is not None:
            for raw in profile.spec.points:
                unknown: set[str] = set()
                filled = substitute(raw, variables, unknown)
                addr = {**substitute(profile.spec.address or {}, variables, unknown), **(filled.get("address") or {})}
                if unknown or addr.get("metric") not in metrics:
                    continue  # a profile point the birth does not have
                spec = {k: v for k, v in filled.items() if k not in ("address", "source", "asset")}
                points.append(build_point(spec, aid, self.source, {**addr, **where}))
        else:
            for name, code in metrics.items():
                dt = DATATYPES.get(code, ("", None))[1]
                if dt is None or self.excluded(name):
                    continue
                kind = PointKind.STATUS if dt in (DataType.BOOL, DataType.STRING) else PointKind.MEASUREMENT
                addr = MqttAddress.model_validate({**where, "metric": name})
                pid = f"{aid}.{make_id(name)}"
                points.append(Point(pid, aid, kind, dt, self.source, addr, name, writable=self.rule.writable))
        return self.assets(aid, variables, profile), points
