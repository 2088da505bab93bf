"""Values the analytics part of a mapping is written with: durations, quantities (thresholds), severities.

Each parser raises ``Refused`` with a sentence that says what to write instead; ``Place`` turns it into a
``ConfigError`` at the key's file:line (with the profile instance named for profile points).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway import units
from gateway.config.errors import ConfigError
from gateway.config.properties import parse_quantity
from gateway.config.yamlmarks import Marked, Path_
from gateway.rules.spec import Threshold

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|sec|m|min|h|d)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")
# spellings integrators write that are no QUDT symbol (85 degC): the unit they mean
_ALIASES = {"degC": "DEG_C", "degF": "DEG_F", "deg C": "DEG_C", "deg F": "DEG_F"}
_UNITLESS = ("UNITLESS", None)


class Refused(ValueError):
    """A value that does not fit its key; the message says what to write."""


@dataclass(frozen=True)
class Place:
    """Where a part of the analytics was written: errors about it go to ``errors`` at ``path`` (+ a sub-path)."""

    doc: Marked
    path: Path_
    errors: list[ConfigError]
    suffix: str = ""  # names the profile instance of a profile point

    def at(self, *sub: str | int) -> Place:
        """The place of a key under this one."""
        return Place(self.doc, (*self.path, *sub), self.errors, self.suffix)

    def error(self, message: str) -> None:
        """Report a problem here."""
        self.errors.append(self.doc.error(self.path, message + self.suffix))


def duration(raw: Any, what: str = "a duration") -> float:
    """Seconds of ``30s``, ``1min``, ``1m``, ``2h``, ``500ms``, ``1d`` or a number of seconds."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        seconds = float(raw)
    elif isinstance(raw, str) and (m := _DURATION.match(raw)):
        seconds = float(m.group(1)) * _SECONDS[m.group(2)]
    else:
        raise Refused(f"{what} is written like 30s, 1min, 2h or 500ms (got {raw!r})")
    if seconds < 0:
        raise Refused(f"{what} cannot be negative (got {raw!r})")
    return seconds


def severity(raw: Any) -> int:
    """An OPC UA severity, 1 (least) to 1000 (most urgent)."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 1000:
        raise Refused(f"severity is a whole number from 1 to 1000 (got {raw!r}); e.g. 800 for urgent, 300 for minor")
    return raw


def flag(key: str, raw: Any) -> bool:
    """A true/false key."""
    if not isinstance(raw, bool):
        raise Refused(f"{key} is true or false (got {raw!r})")
    return raw


def shown(unit: str) -> str:
    """How a unit is best written in a mapping: its symbol where that names it alone (°C), else its name."""
    u = units.get_unit(unit)
    if u is not None and u.symbol and "{" not in u.symbol and units.get_unit(u.symbol) is u:
        return u.symbol
    return unit


def quantity_name(unit: str) -> str:
    """``temperature``, ``pressure``... of a unit, for messages."""
    u = units.get_unit(unit)
    kind = u.quantity_kinds[0] if u is not None and u.quantity_kinds else "other quantity"
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", kind).lower()


def threshold(key: str, raw: Any, point_unit: str | None, *, known_unit: bool = True) -> Threshold:
    """A threshold written as a quantity (``85 °C``, ``{value: 85, unit: DEG_C}``) in the point's dimension.

    ``known_unit`` False (class rules): the point's unit is known only at run time, so any unit is taken, and a
    bare number is a number in whatever unit the point has."""
    if isinstance(raw, bool) or raw is None:
        raise Refused(f"{key} is a number with its unit, e.g. {key}: 85 °C (got {raw!r})")
    if isinstance(raw, int | float) or (isinstance(raw, str) and _NUMBER.match(raw)):
        value = float(raw)
        if known_unit and point_unit not in _UNITLESS:
            assert point_unit is not None
            unit = shown(point_unit)
            raise Refused(f"{key}: {value:g} has no unit, and the point is in {unit}: write {key}: {value:g} {unit}")
        return Threshold(value, None)
    if isinstance(raw, str):
        for alias, name in _ALIASES.items():
            if raw.rstrip().endswith(alias):
                raw = raw.rstrip()[: -len(alias)] + name
    try:
        value, unit = parse_quantity(key, raw)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    if not known_unit:
        return Threshold(value, unit)
    if point_unit in _UNITLESS:
        if units.get_unit(unit) is units.get_unit("UNITLESS"):
            return Threshold(value, None)
        raise Refused(f"{key}: the point has no unit, so its thresholds are bare numbers: write {key}: {value:g}")
    assert point_unit is not None
    mine, theirs = units.get_unit(unit), units.get_unit(point_unit)
    if mine is None or theirs is None or mine.dimension != theirs.dimension:
        raise Refused(
            f"{key}: {shown(unit)} is a unit of {quantity_name(unit)}, but the point measures "
            f"{quantity_name(point_unit)} in {shown(point_unit)}: write the threshold in {shown(point_unit)} "
            "or another unit of that quantity"
        )
    return Threshold(value, unit)


def in_unit(t: Threshold, unit: str | None) -> float:
    """The threshold's value in ``unit`` (its own when either unit is unknown); for ordering checks."""
    if t.unit is None or unit is None:
        return t.value
    try:
        return units.converter(t.unit, unit)(t.value)
    except units.UnitError:
        return t.value


def keys_known(raw: Mapping[str, Any], allowed: Iterable[str], place: Place, what: str) -> bool:
    """Whether every key of ``raw`` is one of ``allowed``; each other key is an error naming the close one."""
    allowed = list(allowed)
    ok = True
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            place.at(key).error(f"unknown key '{key}' in {what} ({hint}known: {', '.join(allowed)})")
            ok = False
    return ok
