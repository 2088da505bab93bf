"""What every alarm rule evaluator shares: unit conversion of thresholds, on/off delays, suppression, and the
two time-driven kinds (stale, quality).

An evaluator holds a condition's evaluation state as a small integer ``level`` (0 normal, 1 High/active,
2 HighHigh, -1 Low, -2 LowLow) and tells its sink only when the level changes, so the common case (a new
value, same level) is a few comparisons with nothing allocated. Thresholds are converted into the point's unit
once, when the evaluator is built: absolute values with the full conversion (86 °F -> 30 °C), differences
(deadband, deviation distances, rates) by the multiplier only (0.9 °F -> 0.5 K).
"""

from __future__ import annotations

from typing import Any, Protocol

from adapters.contract.sample import PointState, Quality
from gateway.analytics.conditions import Condition
from gateway.rules.spec import Threshold
from gateway.units import UnitError, converter

BAD = Quality.BAD
WAITING = "BadWaitingForInitialData"
NO_PENDING = 99  # ``pending`` when no delayed change is waiting
LEVEL_NAMES = {2: "HighHigh", 1: "High", -1: "Low", -2: "LowLow"}
LEVEL_CODES = {v: k for k, v in LEVEL_NAMES.items()}


class RuleError(ValueError):
    """A rule that cannot apply to a point (a threshold in an incompatible unit)."""


class Sink(Protocol):
    """Where evaluators report (the engine)."""

    def level_changed(self, ev: Evaluator, level: int, value: Any, now: float) -> None: ...

    def suppression(self, ev: Evaluator, suppressed: bool, now: float) -> None: ...

    def wait(self, ev: Evaluator) -> None:
        """``ev`` has a delayed change pending: tick it until it is decided."""
        ...


def absolute(th: Threshold | None, unit: str | None) -> float | None:
    """A threshold in the point's unit."""
    if th is None:
        return None
    if th.unit is None or unit is None:
        if th.unit == unit:
            return float(th.value)
        if th.unit is None:
            raise RuleError(f"threshold {th.value:g} has no unit but the point is in {unit}")
        raise RuleError(f"threshold {th.value:g} {th.unit} on a point without a unit")
    try:
        return converter(th.unit, unit)(float(th.value))
    except UnitError as exc:
        raise RuleError(f"threshold {th.value:g} {th.unit} does not apply to a point in {unit}: {exc}") from exc


def difference(th: Threshold | None, unit: str | None) -> float | None:
    """A difference (deadband, distance, rate) in the point's unit: no offset (1 K is 1 °C, 1.8 °F)."""
    if th is None:
        return None
    if th.unit is None or unit is None or th.unit == unit:
        return absolute(th, unit)
    try:
        conv = converter(th.unit, unit)
    except UnitError as exc:
        raise RuleError(f"threshold {th.value:g} {th.unit} does not apply to a point in {unit}: {exc}") from exc
    return abs(conv(float(th.value)) - conv(0.0))


class Evaluator:
    """Shared delay handling; subclasses compute the wanted level in ``feed``."""

    __slots__ = (
        "cond",
        "level",
        "off_delay",
        "on_delay",
        "pending",
        "pending_since",
        "pending_value",
        "shown",
        "sink",
        "suppressed",
    )
    suppressible = True  # a Bad point suppresses the condition
    ticking = False  # needs a tick even without a pending change (stale, quality)

    def __init__(self, cond: Condition, sink: Sink) -> None:
        self.cond = cond
        self.sink = sink
        self.level = 0
        self.suppressed = False  # mirrors the condition's, read on every state
        self.shown = 1  # the level messages quote (the last active one, so a cleared High quotes the high limit)
        self.pending = NO_PENDING
        self.pending_since = 0.0
        self.pending_value: Any = None
        self.on_delay = cond.rule.on_delay
        self.off_delay = cond.rule.off_delay

    def inputs(self) -> tuple[str, ...]:
        """The points whose states this evaluator hears."""
        return (self.cond.point,)

    def restore_level(self) -> None:
        """Take the level back from a restored condition."""
        c = self.cond
        self.level = (LEVEL_CODES.get(c.limit_state or "", 1)) if c.active else 0
        self.shown = self.level or 1

    def level_name(self, level: int) -> str | None:
        """``limit_state`` for a level (limit-like rules only)."""
        return None

    def limit(self, level: int) -> float | None:
        """The threshold of a level, in the point's unit (messages)."""
        return None

    def feed(self, state: PointState, now: float) -> None:
        raise NotImplementedError

    def seed(self, state: PointState, now: float) -> None:
        """The point's current state when the rule starts (or is enabled)."""
        if state.quality is not BAD:
            self.feed(state, now)

    def bad(self, state: PointState, now: float) -> bool:
        """Handle a Bad state, or the first good one after it; True when it is Bad (evaluation skipped).

        Callers test ``state.quality is BAD or self.suppressed`` first, so a good state costs nothing here."""
        if state.quality is not BAD:
            if self.suppressed:
                self.suppressed = False
                self.sink.suppression(self, False, now)
            return False
        if state.status != WAITING and not self.suppressed:
            self.suppressed = True
            self.sink.suppression(self, True, now)
        return True

    def propose(self, target: int, value: Any, now: float) -> None:
        """The rule wants ``target``: change now, or after the on/off delay if it still wants it then."""
        level = self.level
        if target == level:
            self.pending = NO_PENDING
            return
        delay = self.on_delay if level == 0 else (self.off_delay if target == 0 else 0.0)
        if delay <= 0.0:
            self.commit(target, value, now)
            return
        if self.pending == NO_PENDING or (self.pending == 0) != (target == 0):
            self.pending_since = now  # a new wait (active levels changing among themselves keep the clock)
            self.sink.wait(self)
        self.pending = target
        self.pending_value = value
        if now - self.pending_since >= delay:
            self.commit(target, value, now)

    def tick(self, now: float) -> bool:
        """Decide a pending change whose delay is over; True while one is still waiting."""
        target = self.pending
        if target == NO_PENDING:
            return False
        delay = self.on_delay if self.level == 0 else self.off_delay
        if now - self.pending_since >= delay:
            self.commit(target, self.pending_value, now)
            return False
        return True

    def commit(self, target: int, value: Any, now: float) -> None:
        self.pending = NO_PENDING
        self.pending_value = None
        self.level = target
        if target:
            self.shown = target
        self.sink.level_changed(self, target, value, now)


class StaleEvaluator(Evaluator):
    """Active when no state was applied to the point for ``timeout`` seconds (gateway time)."""

    __slots__ = ("last", "timeout")
    suppressible = False
    ticking = True

    def __init__(self, cond: Condition, sink: Sink) -> None:
        super().__init__(cond, sink)
        if not cond.rule.timeout or cond.rule.timeout <= 0:
            raise RuleError("stale rule without a positive timeout")
        self.timeout = cond.rule.timeout
        self.last = 0.0

    def limit(self, level: int) -> float | None:
        return self.timeout

    def seed(self, state: PointState, now: float) -> None:
        self.last = now  # the timeout runs from when the rule starts, not from before a restart

    def feed(self, state: PointState, now: float) -> None:
        self.last = now
        if self.level:
            self.commit(0, state.value, now)

    def tick(self, now: float) -> bool:
        if not self.level and now - self.last > self.timeout:
            self.commit(1, self.cond.value, now)
        return True


class QualityEvaluator(Evaluator):
    """Active when the point has been Bad for ``bad_for`` seconds; clears at the first state that is not Bad."""

    __slots__ = ("bad_for", "bad_since", "status")
    suppressible = False
    ticking = True

    def __init__(self, cond: Condition, sink: Sink) -> None:
        super().__init__(cond, sink)
        self.bad_for = cond.rule.bad_for or 0.0
        self.bad_since: float | None = None
        self.status = ""  # the Bad status the condition reports as its value

    def limit(self, level: int) -> float | None:
        return self.bad_for

    def seed(self, state: PointState, now: float) -> None:
        self.feed(state, now)

    def feed(self, state: PointState, now: float) -> None:
        if state.quality is BAD:
            self.status = state.status
            if self.bad_since is None:
                self.bad_since = now
                if self.bad_for <= 0 and not self.level:
                    self.commit(1, state.status, now)
        else:
            self.bad_since = None
            if self.level:
                self.commit(0, state.status, now)

    def tick(self, now: float) -> bool:
        since = self.bad_since
        if since is not None and not self.level and now - since >= self.bad_for:
            self.commit(1, self.status, now)
        return True
