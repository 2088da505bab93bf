"""The normalized record every adapter produces and the twin's view of a point's live state.

Both are frozen, slotted dataclasses rather than pydantic models because they sit on the hot path
(tens of thousands per second). Quality follows OPC UA: a coarse Good/Uncertain/Bad plus the specific
StatusCode name (``BadTimeout``, ``UncertainLastUsableValue``...) so the OPC UA server can pass it on unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

Value = bool | int | float | str | None


class Quality(enum.IntEnum):
    """OPC UA quality class of a value."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2

    @classmethod
    def of_status(cls, status: str) -> Quality:
        """The quality class of an OPC UA status name ("BadTimeout" -> BAD)."""
        if status.startswith("Good"):
            return cls.GOOD
        if status.startswith("Uncertain"):
            return cls.UNCERTAIN
        return cls.BAD


def utcnow() -> datetime:
    """The current time as a UTC-aware datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of one point, as an adapter delivers it."""

    point: str
    value: Value
    source_ts: datetime
    quality: Quality = Quality.GOOD
    status: str = "Good"
    reason: str | None = None
    adapter: str = ""

    @classmethod
    def bad(
        cls,
        point: str,
        status: str,
        reason: str | None,
        *,
        adapter: str = "",
        value: Value = None,
        source_ts: datetime | None = None,
    ) -> Sample:
        """A sample carrying a fault: ``status`` is an OPC UA status name such as "BadTimeout"."""
        return cls(
            point,
            value,
            source_ts or utcnow(),
            Quality.of_status(status),
            status,
            reason,
            adapter,
        )


@dataclass(frozen=True, slots=True)
class PointState:
    """The twin's live state of a point: the last applied sample plus the time the gateway applied it."""

    point: str
    value: Value
    source_ts: datetime | None
    gateway_ts: datetime | None
    quality: Quality
    status: str
    reason: str | None
    # When a fault that carried no value began (source time of the fault); None while the value is current.
    quality_ts: datetime | None = None

    @classmethod
    def initial(cls, point: str) -> PointState:
        """The state of a point before its first sample."""
        return cls(point, None, None, None, Quality.BAD, "BadWaitingForInitialData", "no sample received yet")
