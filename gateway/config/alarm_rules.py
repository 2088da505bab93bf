"""Alarm rules as written (``alarms:`` on a point or a profile's point, or a top-level class rule) to ``AlarmRule``.

One kind key per rule: ``limit``, ``deviation``, ``discrete``, ``rate``, ``stale`` or ``quality`` (docs/analytics.md),
plus the common keys. Thresholds are quantities in the point's dimension; for a class rule the point's unit is
known only at run time, so only the threshold's own unit is checked (the engine converts it per point).
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.contract.model import Point
from gateway import units
from gateway.config.analytics_values import (
    Place,
    Refused,
    duration,
    flag,
    in_unit,
    keys_known,
    quantity_name,
    severity,
    shown,
    threshold,
)
from gateway.config.context import origin
from gateway.rules.spec import AlarmKind, AlarmRule, Threshold

COMMON = ("name", "severity", "message", "ack_required", "confirm_required", "enabled")
DELAYS = ("on_delay", "off_delay")
KINDS: dict[str, tuple[str, ...]] = {
    "limit": ("high_high", "high", "low", "low_low", "deadband", *DELAYS),
    "deviation": ("setpoint", "high", "low", "deadband", *DELAYS),
    "discrete": ("values", "value", *DELAYS),
    "rate": ("max", "per", *DELAYS),
    "stale": (),  # stale: 30s
    "quality": (),  # quality: 1min
}
TEMPLATE_FIELDS = ("asset", "asset_label", "point", "label", "value", "unit", "limit", "state")
_ORDER = ("low_low", "low", "high", "high_high")


@dataclass(frozen=True)
class RuleTarget:
    """What a rule is written for: a point (its unit checks thresholds), or a class rule's selection (None)."""

    point: Point | None
    find: Callable[[str], Point | None] = lambda _: None  # a point named in the rule (a deviation's setpoint)


def rule_list(raw: Any, place: Place, target: RuleTarget) -> tuple[AlarmRule, ...]:
    """The rules of an ``alarms:`` list on a point; names unique on it."""
    if not isinstance(raw, list):
        place.error("alarms: is a list of rules, e.g. alarms: [{limit: {high: 85 °C}}, {stale: 30s}]")
        return ()
    rules: list[AlarmRule] = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        rule = alarm_rule(item, place.at(i), target)
        if rule is not None and not repeated(rule, names, place.at(i), "point"):
            rules.append(rule)
    return tuple(rules)


def repeated(rule: AlarmRule, names: set[str], place: Place, scope: str) -> bool:
    """Whether ``rule``'s name is already taken (an error at ``place``, the rule's entry); else it is taken now."""
    if rule.name not in names:
        names.add(rule.name)
        return False
    place.error(
        f"a second rule named '{rule.name}': rule names are unique per {scope} (an alarm's id is point/name), so give "
        f"each rule of one kind its own name: (e.g. name: {rule.name}-2)"
    )
    return True


def alarm_rule(raw: Any, place: Place, target: RuleTarget, extra: tuple[str, ...] = ()) -> AlarmRule | None:
    """One rule; None (and errors at ``place``) when anything is wrong with it. ``extra``: keys the caller reads."""
    if not isinstance(raw, dict):
        place.error("an alarm rule is a mapping with one kind key, e.g. {limit: {high: 85 °C}} or {stale: 30s}")
        return None
    kinds = [k for k in raw if k in KINDS]
    if len(kinds) != 1:
        names = ", ".join(KINDS)
        got = f"both {' and '.join(kinds)}" if kinds else "none"
        place.error(f"an alarm rule has exactly one of {names} ({got}); write two rules for two kinds")
        keys_known({k: v for k, v in raw.items() if k not in KINDS}, (*COMMON, *extra), place, "an alarm rule")
        return None
    kind = kinds[0]
    before = len(place.errors)
    keys_known({k: v for k, v in raw.items() if k != kind}, (*COMMON, *extra), place, "an alarm rule")
    fields: dict[str, Any] = {"kind": AlarmKind(kind), "name": kind}
    _common(raw, place, fields)
    _KIND_PARSERS[kind](raw[kind], place.at(kind), target, fields)
    if len(place.errors) > before:
        return None
    return AlarmRule(**fields, origin=origin(place.doc, place.path))


def _common(raw: Mapping[str, Any], place: Place, fields: dict[str, Any]) -> None:
    for key in COMMON:
        if key not in raw:
            continue
        value, where = raw[key], place.at(key)
        try:
            if key == "name":
                fields["name"] = _name(value)
            elif key == "severity":
                fields["severity"] = severity(value)
            elif key == "message":
                fields["message"] = _template(value)
            else:
                fields[key] = flag(key, value)
        except Refused as exc:
            where.error(str(exc))


def _name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw or not all(c.isalnum() or c in "_-" for c in raw):
        raise Refused(f"a rule's name is letters, digits, _ and - (it is part of the alarm's id; got {raw!r})")
    return raw


def _template(raw: Any) -> str:
    if not isinstance(raw, str):
        raise Refused('message is text with placeholders such as "{asset_label}: {value} {unit} above {limit}"')
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(raw) if f is not None}
    except ValueError as exc:
        raise Refused(f"message: {exc} (write {{{{ and }}}} for literal braces)") from None
    unknown = sorted(n for n in names if n not in TEMPLATE_FIELDS)
    if unknown:
        known = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
        raise Refused(f"message: unknown placeholder {{{unknown[0]}}} (known: {known})")
    return raw


def _unit(target: RuleTarget) -> tuple[str | None, bool]:
    return (target.point.unit if target.point is not None else None), target.point is not None


def _thresholds(raw: Mapping[str, Any], keys: tuple[str, ...], place: Place, target: RuleTarget) -> dict[str, Any]:
    unit, known = _unit(target)
    out: dict[str, Any] = {}
    for key in keys:
        if key in raw:
            try:
                out[key] = threshold(key, raw[key], unit, known_unit=known)
            except Refused as exc:
                place.at(key).error(str(exc))
    if "deadband" in out and out["deadband"].value < 0:
        place.at("deadband").error("deadband cannot be negative (it is how far back the value must go)")
    return out


def _delays(raw: Mapping[str, Any], place: Place, fields: dict[str, Any]) -> None:
    for key in DELAYS:
        if key in raw:
            try:
                fields[key] = duration(raw[key], key)
            except Refused as exc:
                place.at(key).error(str(exc))


def _mapping(raw: Any, kind: str, place: Place, example: str) -> Mapping[str, Any] | None:
    if not isinstance(raw, dict):
        place.error(f"{kind}: is a mapping, e.g. {kind}: {example}")
        return None
    return raw if keys_known(raw, KINDS[kind], place, f"{kind}:") else None


def _limit(raw: Any, place: Place, target: RuleTarget, fields: dict[str, Any]) -> None:
    spec = _mapping(raw, "limit", place, "{high: 85 °C, deadband: 1 K}")
    if spec is None:
        return
    levels = {k: spec[k] for k in AlarmRule.LEVELS if k in spec}
    if not levels:
        place.error("limit: needs at least one of high_high, high, low, low_low (e.g. high: 85 °C)")
        return
    found = _thresholds(spec, (*AlarmRule.LEVELS, "deadband"), place, target)
    _same_dimension(found, place)
    unit = target.point.unit if target.point is not None else None
    ordered = [(k, found[k]) for k in _ORDER if k in found]
    for (lo_key, lo), (hi_key, hi) in itertools.pairwise(ordered):
        if in_unit(lo, unit or hi.unit) >= in_unit(hi, unit or hi.unit):
            place.at(hi_key).error(f"{hi_key} must be above {lo_key} (low_low < low < high < high_high)")
    fields.update(found)
    _delays(spec, place, fields)


def _same_dimension(found: Mapping[str, Threshold], place: Place) -> None:
    """A class rule's thresholds (units unchecked against a point) must at least agree with each other."""
    first: tuple[str, str] | None = None
    for key, t in found.items():
        u = units.get_unit(t.unit) if t.unit else None
        if u is None:
            continue
        if first is None:
            first = (key, u.name)
        elif u.dimension != units.get_unit(first[1]).dimension:  # type: ignore[union-attr]
            place.at(key).error(
                f"{key} is in {shown(u.name)} ({quantity_name(u.name)}) but {first[0]} in {shown(first[1])} "
                f"({quantity_name(first[1])}): write every threshold of the rule in units of one quantity"
            )


def _deviation(raw: Any, place: Place, target: RuleTarget, fields: dict[str, Any]) -> None:
    spec = _mapping(raw, "deviation", place, "{setpoint: supply_temp_sp, high: 5 K, low: 5 K}")
    if spec is None:
        return
    sp = spec.get("setpoint")
    if not isinstance(sp, str):
        place.at("setpoint").error(
            "deviation: needs setpoint: the id of the setpoint point (a sibling's id or asset.point)"
        )
        return
    if "high" not in spec and "low" not in spec:
        place.error("deviation: needs high: and/or low: (how far above/below the setpoint is too far, e.g. high: 5 K)")
    fields["setpoint"] = sp
    if target.point is not None:
        found = target.find(sp)
        if found is None:
            place.at("setpoint").error(
                f"unknown setpoint point '{sp}': name a point of the twin (a sibling's id or asset.point)"
            )
        else:
            fields["setpoint"] = found.id
            _compatible(target.point, found, place.at("setpoint"))
    found_t = _thresholds(spec, ("high", "low", "deadband"), place, target)
    _same_dimension(found_t, place)
    for key in ("high", "low"):
        if key in found_t and found_t[key].value < 0:
            place.at(key).error(f"{key} is a distance from the setpoint, so it is positive (e.g. {key}: 5 K)")
    fields.update(found_t)
    _delays(spec, place, fields)


def _compatible(point: Point, setpoint: Point, place: Place) -> None:
    a = units.get_unit(point.unit) if point.unit else None
    b = units.get_unit(setpoint.unit) if setpoint.unit else None
    if (a is None) != (b is None) or (a is not None and b is not None and a.dimension != b.dimension):
        mine = shown(point.unit) if point.unit else "no unit"
        theirs = shown(setpoint.unit) if setpoint.unit else "no unit"
        place.error(
            f"setpoint {setpoint.id} is in {theirs} but the point in {mine}: a deviation compares values of one "
            "quantity, name a setpoint of the point's quantity"
        )


def _discrete(raw: Any, place: Place, target: RuleTarget, fields: dict[str, Any]) -> None:
    spec = _mapping(raw, "discrete", place, "{values: [true]} or {value: 3}")
    if spec is None:
        return
    if ("values" in spec) == ("value" in spec):
        place.error("discrete: needs values: [the states that mean alarm] or value: <one state>, one of them")
        return
    values = spec["values"] if "values" in spec else [spec["value"]]
    if not isinstance(values, list) or not values:
        place.at("values").error("values: is a non-empty list of the states that mean alarm, e.g. values: [true]")
        return
    bad = [v for v in values if not isinstance(v, bool | int | float | str)]
    if bad:
        place.at("values" if "values" in spec else "value").error(
            f"a discrete state is a number, text or true/false (got {bad[0]!r})"
        )
    fields["values"] = tuple(values)
    _delays(spec, place, fields)


def _rate(raw: Any, place: Place, target: RuleTarget, fields: dict[str, Any]) -> None:
    spec = _mapping(raw, "rate", place, "{max: 2 K, per: 1min}")
    if spec is None:
        return
    if "max" not in spec:
        place.error("rate: needs max: the largest change allowed per per: (e.g. rate: {max: 2 K, per: 1min})")
        return
    found = _thresholds(spec, ("max",), place, target)
    if "max" in found:
        if found["max"].value <= 0:
            place.at("max").error("max is the largest change allowed, so more than 0 (e.g. max: 2 K)")
        fields["rate"] = found["max"]
    if "per" in spec:
        try:
            fields["rate_per"] = duration(spec["per"], "per")
            if fields["rate_per"] <= 0:
                raise Refused("per is the time the change is measured over, more than 0 (e.g. per: 1min)")
        except Refused as exc:
            place.at("per").error(str(exc))
    _delays(spec, place, fields)


def _timeout(field: str, example: str) -> Callable[[Any, Place, RuleTarget, dict[str, Any]], None]:
    def parse(raw: Any, place: Place, target: RuleTarget, fields: dict[str, Any]) -> None:
        kind = str(place.path[-1])
        try:
            seconds = duration(raw, kind)
        except Refused as exc:
            place.error(f"{exc} (e.g. {kind}: {example})")
            return
        if seconds <= 0:
            place.error(f"{kind} needs a time longer than 0 (e.g. {kind}: {example})")
        fields[field] = seconds

    return parse


_KIND_PARSERS: dict[str, Callable[[Any, Place, RuleTarget, dict[str, Any]], None]] = {
    "limit": _limit,
    "deviation": _deviation,
    "discrete": _discrete,
    "rate": _rate,
    "stale": _timeout("timeout", "30s"),
    "quality": _timeout("bad_for", "1min"),
}
