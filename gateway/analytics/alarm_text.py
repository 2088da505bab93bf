"""Alarm messages from templates, and the subscribers' bounded event queues.

Template keys: ``{asset} {asset_label} {point} {label} {value} {unit} {limit} {state}``. ``{value}`` and
``{limit}`` carry the point's unit symbol (``86.2 °C``) unless the template also writes ``{unit}`` (then they are
bare numbers, so ``"{value} {unit}"`` reads ``86.2 °C``). A key that is not one of these is left as written.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from typing import Any

from adapters.contract.polling import DropOldestQueue
from gateway.analytics.conditions import Condition
from gateway.analytics.model import AlarmEvent
from gateway.rules.spec import AlarmKind
from gateway.units import get_unit

_FIELD = re.compile(r"\{(\w+)\}")

DEFAULT_TEMPLATES = {
    AlarmKind.LIMIT: "{asset_label}: {label} {state}: {value} (limit {limit})",
    AlarmKind.DEVIATION: "{asset_label}: {label} {state} deviation from setpoint: {value} (limit {limit})",
    AlarmKind.DISCRETE: "{asset_label}: {label} is {value}",
    AlarmKind.RATE: "{asset_label}: {label} changing faster than {limit}",
    AlarmKind.STALE: "{asset_label}: {label} not updated for {limit}",
    AlarmKind.QUALITY: "{asset_label}: {label} Bad for {limit}",
    AlarmKind.ANOMALY: "{asset_label}: {label} anomaly score {value} above {limit}",
}


def unit_symbol(unit: str | None) -> str:
    """A unit as people read it (``°C``; the QUDT name when it has no symbol)."""
    if unit is None:
        return ""
    u = get_unit(unit)
    return (u.symbol or u.name) if u is not None else unit


def format_value(value: Any, symbol: str = "") -> str:
    """A value for a message: numbers to 6 significant digits, with the unit symbol when given."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = format(value, ".6g")
    elif value is None:
        text = "n/a"
    else:
        text = str(value)
    return f"{text} {symbol}" if symbol and not isinstance(value, bool) and value is not None else text


def render(template: str, fields: Mapping[str, str]) -> str:
    """Fill ``{key}``s from ``fields``; unknown keys stay as written."""
    return _FIELD.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def message(
    template: str | None,
    kind: AlarmKind,
    *,
    asset: str,
    asset_label: str,
    point: str,
    label: str,
    value: Any,
    unit: str | None,
    limit: float | None,
    state: str,
) -> str:
    """The condition's message after a transition."""
    text = template or DEFAULT_TEMPLATES[kind]
    symbol = unit_symbol(unit)
    bare = "{unit}" in text
    if kind in (AlarmKind.STALE, AlarmKind.QUALITY):
        limit_text = format_value(limit, "s")  # a time, not a value of the point
    elif kind is AlarmKind.ANOMALY:
        limit_text = format_value(limit)
    else:
        limit_text = format_value(limit, "" if bare else symbol)
    value_symbol = "" if bare or kind in (AlarmKind.ANOMALY, AlarmKind.QUALITY) else symbol
    fields = {
        "asset": asset,
        "asset_label": asset_label,
        "point": point,
        "label": label,
        "value": format_value(value, value_symbol),
        "unit": symbol,
        "limit": limit_text,
        "state": state,
    }
    return render(text, fields)


def condition_message(cond: Condition, limit: float | None, model: Any) -> str:
    """A condition's message now (``model``: the TwinModel, for labels)."""
    point = model.points.get(cond.point)
    asset = model.assets.get(cond.asset)
    return message(
        cond.rule.message,
        cond.rule.kind,
        asset=cond.asset,
        asset_label=asset.label if asset is not None else cond.asset,
        point=cond.point,
        label=point.label if point is not None else cond.point,
        value=cond.value,
        unit=cond.unit,
        limit=limit,
        state=cond.limit_state or ("Active" if cond.active else "Normal"),
    )


class Feed:
    """One subscriber's alarm events (``model.AlarmFeed``): a bounded FIFO that drops the oldest when full."""

    def __init__(self, maxsize: int, on_close: Callable[[Feed], None]) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._queue: DropOldestQueue[AlarmEvent | None] = DropOldestQueue(maxsize)
        self._on_close = on_close
        self.closed = False
        self.dropped = 0

    def push(self, event: AlarmEvent) -> None:
        """Queue an event (on the event loop)."""
        if not self.closed and self._queue.offer(event):
            self.dropped += 1

    async def get(self, timeout: float | None = None) -> list[AlarmEvent]:
        """The next events, waiting for at least one; ``[]`` on timeout or when closed."""
        if self.closed and self._queue.empty():
            return []
        items = self._queue.drain()
        if not items:
            try:
                items = [await asyncio.wait_for(self._queue.get(), timeout), *self._queue.drain()]
            except TimeoutError:
                return []
        return [e for e in items if e is not None]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.offer(None)  # wakes a waiting get()
        self._on_close(self)
