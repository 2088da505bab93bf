"""Rule evaluators of the value-driven alarm kinds: limit, deviation, discrete, rate, anomaly.

Bad input: these rules do not evaluate a Bad state (the level is held; the quality rule reports it); the
condition is *suppressed* while its point is Bad, except for ``BadWaitingForInitialData`` (no value yet,
nothing to judge). Stale and quality rules (``alarm_eval``) are never suppressed.
"""

from __future__ import annotations

import math
from typing import Any

from adapters.contract.model import Point
from adapters.contract.sample import PointState
from gateway.analytics.alarm_eval import (
    BAD,
    LEVEL_NAMES,
    NO_PENDING,
    Evaluator,
    QualityEvaluator,
    RuleError,
    Sink,
    StaleEvaluator,
    absolute,
    difference,
)
from gateway.analytics.conditions import Condition
from gateway.rules.spec import AlarmKind, AlarmRule
from gateway.units import UnitError, converter


def _number(v: Any) -> bool:
    return (type(v) is float or type(v) is int) and not math.isnan(v)  # not NaN, not bool/str/None


class LimitEvaluator(Evaluator):
    """HH/H/L/LL: active above high (strictly) until the value falls to high - deadband; mirrored for lows."""

    __slots__ = ("bottom", "db", "h", "hh", "ll", "lo", "top")

    def __init__(self, cond: Condition, sink: Sink, point: Point) -> None:
        super().__init__(cond, sink)
        r, u = cond.rule, point.unit
        inf = math.inf
        hh, h, lo, ll = absolute(r.high_high, u), absolute(r.high, u), absolute(r.low, u), absolute(r.low_low, u)
        self.hh = inf if hh is None else hh
        self.h = inf if h is None else h
        self.lo = -inf if lo is None else lo
        self.ll = -inf if ll is None else ll
        self.db = difference(r.deadband, u) or 0.0
        self.top, self.bottom = min(self.h, self.hh), max(self.lo, self.ll)

    def level_name(self, level: int) -> str | None:
        return LEVEL_NAMES.get(level)

    def limit(self, level: int) -> float | None:
        v = {2: self.hh, 1: self.h, -1: self.lo, -2: self.ll}.get(level)
        return v if v is not None and math.isfinite(v) else None

    def feed(self, state: PointState, now: float) -> None:
        if (state.quality is BAD or self.suppressed) and self.bad(state, now):
            return
        v = state.value
        if type(v) is not float and type(v) is not int:
            return
        cur = self.level
        if cur == 0 and self.bottom <= v <= self.top:  # the common case: normal and staying so (NaN: no)
            if self.pending != NO_PENDING:
                self.propose(0, v, now)
            return
        if math.isnan(v):
            return
        db = self.db
        if v > (self.hh - db if cur == 2 else self.hh):
            target = 2
        elif v > (self.h - db if cur >= 1 else self.h):
            target = 1
        elif v < (self.ll + db if cur == -2 else self.ll):
            target = -2
        elif v < (self.lo + db if cur <= -1 else self.lo):
            target = -1
        else:
            target = 0
        if target != cur or self.pending != NO_PENDING:
            self.propose(target, v, now)


class DeviationEvaluator(LimitEvaluator):
    """Distance from a setpoint point: above it by more than ``high`` (High) or below by more than ``low`` (Low)."""

    __slots__ = ("last", "setpoint", "sp", "sp_conv")

    def __init__(self, cond: Condition, sink: Sink, point: Point, setpoint: Point) -> None:
        Evaluator.__init__(self, cond, sink)
        r, u = cond.rule, point.unit
        h, lo = difference(r.high, u), difference(r.low, u)
        self.hh, self.ll = math.inf, -math.inf
        self.h = math.inf if h is None else h
        self.lo = -math.inf if lo is None else -lo
        self.db = difference(r.deadband, u) or 0.0
        self.setpoint = setpoint.id
        if (setpoint.unit is None) != (u is None):
            raise RuleError(f"setpoint {setpoint.id} ({setpoint.unit}) and point ({u}) do not share a unit")
        try:
            self.sp_conv = converter(setpoint.unit, u) if setpoint.unit and u else None
        except UnitError as exc:
            raise RuleError(f"setpoint {setpoint.id}: {exc}") from exc
        self.sp: float | None = None
        self.last: PointState | None = None

    def inputs(self) -> tuple[str, ...]:
        return (self.cond.point, self.setpoint)

    def limit(self, level: int) -> float | None:
        if self.sp is None:
            return None
        return self.sp + self.h if level > 0 else self.sp + self.lo if level < 0 else None

    def feed(self, state: PointState, now: float) -> None:
        if state.point == self.setpoint and state.point != self.cond.point:
            v = state.value
            if state.quality is BAD or not _number(v):
                return
            self.sp = self.sp_conv(v) if self.sp_conv is not None else float(v)  # type: ignore[arg-type]
            if self.last is None:
                return
            state = self.last
        else:
            self.last = state
        sp = self.sp
        if sp is None:
            if state.quality is BAD:
                self.bad(state, now)
            return
        if (state.quality is BAD or self.suppressed) and self.bad(state, now):
            return
        v = state.value
        if not _number(v):
            return
        d, cur, db = v - sp, self.level, self.db  # type: ignore[operator]
        if d > (self.h - db if cur >= 1 else self.h):
            target = 1
        elif d < (self.lo + db if cur <= -1 else self.lo):
            target = -1
        else:
            target = 0
        if target != cur or self.pending != NO_PENDING:
            self.propose(target, v, now)


class DiscreteEvaluator(Evaluator):
    """Active while the value is one of ``values``."""

    __slots__ = ("values",)

    def __init__(self, cond: Condition, sink: Sink) -> None:
        super().__init__(cond, sink)
        self.values = cond.rule.values

    def feed(self, state: PointState, now: float) -> None:
        if (state.quality is BAD or self.suppressed) and self.bad(state, now):
            return
        target = 1 if state.value in self.values else 0
        if target != self.level or self.pending != NO_PENDING:
            self.propose(target, state.value, now)


class RateEvaluator(Evaluator):
    """Active while the change between consecutive samples exceeds ``rate`` per ``rate_per`` seconds (either way),
    timed by the samples' source times."""

    __slots__ = ("max_per_s", "prev_t", "prev_v")

    def __init__(self, cond: Condition, sink: Sink, point: Point) -> None:
        super().__init__(cond, sink)
        rate = difference(cond.rule.rate, point.unit)
        if rate is None:
            raise RuleError("rate rule without a rate")
        self.max_per_s = rate / (cond.rule.rate_per or 1.0)
        self.prev_v: float | None = None
        self.prev_t = 0.0

    def limit(self, level: int) -> float | None:
        return self.max_per_s * (self.cond.rule.rate_per or 1.0)

    def feed(self, state: PointState, now: float) -> None:
        if (state.quality is BAD or self.suppressed) and self.bad(state, now):
            return
        v = state.value
        if not _number(v):
            return
        ts = state.source_ts or state.gateway_ts
        t = ts.timestamp() if ts is not None else now
        pv, pt = self.prev_v, self.prev_t
        self.prev_v, self.prev_t = v, t  # type: ignore[assignment]
        if pv is None or t <= pt:
            return
        target = 1 if abs(v - pv) / (t - pt) > self.max_per_s else 0  # type: ignore[operator]
        if target != self.level or self.pending != NO_PENDING:
            self.propose(target, v, now)


class ThresholdEvaluator(Evaluator):
    """Anomaly: active while the score point is above ``threshold``."""

    __slots__ = ("threshold",)

    def __init__(self, cond: Condition, sink: Sink) -> None:
        super().__init__(cond, sink)
        if cond.rule.threshold is None:
            raise RuleError("anomaly rule without a threshold")
        self.threshold = float(cond.rule.threshold)

    def limit(self, level: int) -> float | None:
        return self.threshold

    def feed(self, state: PointState, now: float) -> None:
        if (state.quality is BAD or self.suppressed) and self.bad(state, now):
            return
        v = state.value
        if not _number(v):
            return
        target = 1 if v > self.threshold else 0  # type: ignore[operator]
        if target != self.level or self.pending != NO_PENDING:
            self.propose(target, v, now)


def make_evaluator(rule: AlarmRule, cond: Condition, sink: Sink, point: Point, points: dict[str, Point]) -> Evaluator:
    """The evaluator of a rule on a point (``RuleError`` when it cannot apply)."""
    kind = rule.kind
    if kind is AlarmKind.LIMIT:
        return LimitEvaluator(cond, sink, point)
    if kind is AlarmKind.DEVIATION:
        setpoint = points.get(rule.setpoint or "")
        if setpoint is None:
            raise RuleError(f"unknown setpoint point '{rule.setpoint}'")
        return DeviationEvaluator(cond, sink, point, setpoint)
    if kind is AlarmKind.DISCRETE:
        return DiscreteEvaluator(cond, sink)
    if kind is AlarmKind.RATE:
        return RateEvaluator(cond, sink, point)
    if kind is AlarmKind.STALE:
        return StaleEvaluator(cond, sink)
    if kind is AlarmKind.QUALITY:
        return QualityEvaluator(cond, sink)
    if kind is AlarmKind.ANOMALY:
        return ThresholdEvaluator(cond, sink)
    raise RuleError(f"unknown alarm kind {kind!r}")
