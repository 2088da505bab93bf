"""What a derived point's expression reads at run time (current values, windows at 'now'), and small helpers."""

from __future__ import annotations

import time
from typing import Any

from adapters.contract.sample import PointState
from gateway.analytics.windows import EmptyWindow, WindowSet
from gateway.rules.expr import MissingValue


class ExpressionEnv:
    """What an expression reads: current values and window values at ``now``."""

    __slots__ = ("now", "states", "windows")

    def __init__(self, states: Any, windows: WindowSet) -> None:
        self.states = states
        self.windows = windows
        self.now = 0.0

    def value(self, point: str) -> Any:
        st = self.states.get(point)
        if st is None or st.value is None:
            raise MissingValue(point)
        return st.value

    def window(self, key: Any) -> float:
        try:
            return self.windows.value(key, self.now)
        except EmptyWindow:
            raise MissingValue(key.point) from None


def time_of(state: PointState) -> float:
    """When a state happened, in epoch seconds (a fault's own time when it carries no new value)."""
    t = state.quality_ts if state.value is not None and state.quality_ts is not None else state.source_ts
    t = t or state.gateway_ts
    return t.timestamp() if t is not None else time.time()


def reason_of(exc: BaseException, text: str) -> str:
    """The reason a derived point is Bad after an expression raised."""
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, ZeroDivisionError):
        msg = "division by zero"
    return f"{msg} in '{text}'"
