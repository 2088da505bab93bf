"""The analytics part of mappings, validated into ``TwinModel.analytics`` (a ``gateway.rules.spec.AnalyticsModel``).

Per point (written on it or on its profile's point): ``expr:`` or ``aggregate:`` (a derived point, already built
by the point builder with the virtual source ``analytics``), ``alarms:`` and ``anomaly:``. Top level: the
``analytics:`` settings, class rules (``alarms:`` with ``select:``) and class detectors (``anomaly:``). Every bad
input is an error at its file:line saying what to change (docs/analytics.md); a mapping without any of this
keeps ``analytics`` None. Points a source discovers at run time get theirs through ``fragment_analytics``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from adapters.contract.config import StrictModel
from adapters.contract.model import Asset, Point
from gateway.config.alarm_rules import RuleTarget, alarm_rule, repeated, rule_list
from gateway.config.analytics_anomaly import detector, point_detector, score_alarm
from gateway.config.analytics_derived import Lines, compile_derived, cycles, file_lines, point_infos
from gateway.config.analytics_select import Scope, aggregate, selector
from gateway.config.analytics_values import Place
from gateway.config.context import Ctx, PointSource, in_, origin
from gateway.config.envvars import checked
from gateway.config.yamlmarks import Marked
from gateway.model import TwinModel
from gateway.rules.spec import (
    AnalyticsModel,
    AnalyticsSettings,
    ClassDetector,
    ClassRule,
    DerivedSpec,
)

POINT_KEYS = ("expr", "aggregate", "alarms", "anomaly")


class AnalyticsSection(StrictModel):
    """The ``analytics:`` section of a mapping."""

    state: str | None = Field(None, description="folder of detector and alarm states (relative to the mapping)")
    journal_limit: int = Field(10_000, ge=0, description="alarm transitions kept in memory without a history store")
    anomaly_queue: int = Field(100_000, ge=1, description="samples waiting for the detectors before drops")


def resolve_analytics(
    ctx: Ctx, model: TwinModel, docs: list[Marked], texts: Mapping[str, str] | None = None
) -> AnalyticsModel | None:
    """The mapping's analytics (None when it has none); score points are added to ``model.points``; errors are
    appended to ``ctx.errors``. ``texts``: the files' contents when the load was given them (for columns)."""
    out = AnalyticsModel()
    section = False
    for doc in docs:
        if isinstance(doc.data, dict) and doc.data.get("analytics") is not None:
            section = _settings(ctx, doc, out, section)
    scope = Scope(model.points, model.assets, model.locations)
    point_analytics(ctx, out, model.points, scope, file_lines(texts))
    rule_names: set[str] = set()
    for doc in docs:
        if isinstance(doc.data, dict):
            _class_rules(ctx, doc, out, scope, rule_names)
            _class_detectors(ctx, doc, out, scope)
    if not section and out.empty() and not profiles_with_analytics(ctx):
        return None
    return out


def wants_derived_source(ctx: Ctx, analytics: AnalyticsModel | None) -> bool:
    """Whether the twin needs the virtual ``analytics`` source: derived or score points now or at run time."""
    if analytics is None:
        return False
    return bool(analytics.derived or analytics.anomaly or analytics.class_anomaly) or profiles_with_analytics(ctx)


def fragment_analytics(
    ctx: Ctx, points: Mapping[str, Point], assets: Mapping[str, Asset], running: TwinModel, *, keep: bool
) -> list[Point]:
    """The analytics of a run-time fragment's points (from their profile): checked like a mapping's, merged into
    ``running.analytics`` when ``keep`` and nothing is wrong. Returns the score points its detectors add."""
    if not any(any(ps.spec.get(k) is not None for k in POINT_KEYS) for ps in ctx.point_sources):
        return []
    before = len(ctx.errors)
    merged = {**running.points, **points}
    scope = Scope(merged, {**running.assets, **assets}, running.locations)
    found = AnalyticsModel()
    point_analytics(ctx, found, merged, scope, file_lines(None))
    scores = [p for pid, p in merged.items() if pid not in running.points and pid not in points]
    if keep and len(ctx.errors) == before and not found.empty():
        if running.analytics is None:
            running.analytics = AnalyticsModel()
        target: AnalyticsModel = running.analytics
        target.derived.update(found.derived)
        target.alarms.update(found.alarms)
        target.anomaly.update(found.anomaly)
    return scores


def point_analytics(ctx: Ctx, out: AnalyticsModel, points: dict[str, Point], scope: Scope, lines: Lines) -> None:
    """Detectors (adding score points to ``points``), derived specs, cycles and alarm rules of queued points."""
    entries = list(_entries(ctx, points))
    for ps, point in entries:
        if ps.spec.get("anomaly") is not None:
            made = point_detector(ps.spec["anomaly"], _place(ctx, ps, "anomaly"), point, set(points))
            if made is not None:
                spec, score = made
                points[score.id] = score
                out.anomaly[point.id] = spec
                if spec.alarm:
                    out.alarms[score.id] = (score_alarm(spec),)
    infos = point_infos(points)
    places: dict[str, Place] = {}
    for ps, point in entries:
        if isinstance(ps.spec.get("expr"), str):
            place = places[point.id] = _place(ctx, ps, "expr")
            derived = compile_derived(ps.spec["expr"], place, point, infos, lines)
            if derived is not None:
                out.derived[point.id] = derived
        elif ps.spec.get("aggregate") is not None and ps.spec.get("expr") is None:
            place = _place(ctx, ps, "aggregate")
            agg = aggregate(ps.spec["aggregate"], place, point, scope)
            if agg is not None:
                out.derived[point.id] = DerivedSpec(point.id, aggregate=agg, origin=origin(place.doc, place.path))
    for cycle in cycles(out.derived):
        at = places.get(cycle[0])
        if at is not None:
            at.error(
                f"derived points form a cycle: {' -> '.join(cycle)}; each would wait for the other, so one of them "
                "must read measured points instead"
            )
    for ps, point in entries:
        if ps.spec.get("alarms") is not None:
            target = RuleTarget(point, functools.partial(scope.find, asset=point.asset))
            rules = rule_list(ps.spec["alarms"], _place(ctx, ps, "alarms"), target)
            if rules:
                out.alarms[point.id] = out.alarms.get(point.id, ()) + rules


def _entries(ctx: Ctx, points: Mapping[str, Point]) -> Iterator[tuple[PointSource, Point]]:
    seen: set[str] = set()
    for ps in ctx.point_sources:
        pid = f"{ps.spec.get('asset') or ps.asset}.{ps.spec.get('id')}"
        point = points.get(pid)
        if point is None or pid in seen:
            continue
        seen.add(pid)
        if any(ps.spec.get(k) is not None for k in POINT_KEYS):
            yield ps, point


def _place(ctx: Ctx, ps: PointSource, key: str) -> Place:
    return Place(ps.doc, (*ps.path, key), ctx.errors, in_(ps))


def _settings(ctx: Ctx, doc: Marked, out: AnalyticsModel, seen: bool) -> bool:
    if seen:
        ctx.errors.append(doc.error(("analytics",), "the analytics: section may appear in one file only"))
        return True
    raw = doc.data["analytics"]
    if not isinstance(raw, dict):
        ctx.errors.append(doc.error(("analytics",), "analytics: is a mapping (state:, journal_limit:, anomaly_queue:)"))
        return True
    spec = checked(AnalyticsSection, raw, doc, ("analytics",), ctx.errors)
    if spec is not None:
        state = spec.state
        if state is not None and not Path(state).is_absolute():  # relative to the file, like twin.store
            state = str((Path(doc.file).parent / state).resolve())
        out.settings = AnalyticsSettings(state, spec.journal_limit, spec.anomaly_queue)
    return True


def _class_rules(ctx: Ctx, doc: Marked, out: AnalyticsModel, scope: Scope, names: set[str]) -> None:
    for i, raw in enumerate(doc.data.get("alarms") or []):
        place = Place(doc, ("alarms", i), ctx.errors)
        if not isinstance(raw, dict) or "select" not in raw:
            place.error("a class rule has select: (which points) and one rule, e.g. {select: {class: "
                        "brick:Supply_Air_Temperature_Sensor}, limit: {high: 30 °C}}")  # fmt: skip
            continue
        sel = selector(raw["select"], place.at("select"), scope)
        rule = alarm_rule(raw, place, RuleTarget(None), extra=("select",))
        if sel is not None and rule is not None and not repeated(rule, names, place, "twin's class rules"):
            out.class_alarms.append(ClassRule(sel, rule))


def _class_detectors(ctx: Ctx, doc: Marked, out: AnalyticsModel, scope: Scope) -> None:
    for i, raw in enumerate(doc.data.get("anomaly") or []):
        place = Place(doc, ("anomaly", i), ctx.errors)
        if not isinstance(raw, dict) or "select" not in raw:
            place.error("a class detector has select: (which points), e.g. {select: {class: brick:Temperature_Sensor}}")
            continue
        sel = selector(raw["select"], place.at("select"), scope)
        spec = detector(raw, place, extra=("select",))
        if sel is not None and spec is not None:
            out.class_anomaly.append(ClassDetector(sel, spec))


def profiles_with_analytics(ctx: Ctx) -> bool:
    """Whether a profile a source names (e.g. an MQTT topic rule's) gives its points analytics at run time."""
    if ctx.profiles is None:
        return False
    for cfg in ctx.sources.values():
        for name in _profile_names(cfg.model_dump()):
            profile = ctx.profiles.get(name)
            if profile is not None and any(
                isinstance(p, dict) and any(p.get(k) is not None for k in POINT_KEYS) for p in profile.spec.points
            ):
                return True
    return False


def _profile_names(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "profile" and isinstance(item, str):
                yield item
            else:
                yield from _profile_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _profile_names(item)
