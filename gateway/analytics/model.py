"""What services see of analytics: alarm conditions, their transitions, and the operations on them.

Northbound services (OPC UA Alarms & Conditions, REST ``/alarms``, the SSE stream, the dashboard) code against
``AlarmService`` and get it with ``alarms_of(view)``; the runtime sets ``view.analytics`` when the mapping has
any analytics. Times are UTC-aware datetimes.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class Transition(enum.StrEnum):
    """What happened to a condition (one journal entry, one OPC UA event, one SSE ``alarm`` event)."""

    ACTIVATED = "activated"
    LEVEL = "level"  # still active, another limit level (High -> HighHigh)
    CLEARED = "cleared"  # returned to normal
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    SHELVED = "shelved"
    UNSHELVED = "unshelved"
    SUPPRESSED = "suppressed"
    UNSUPPRESSED = "unsuppressed"
    ENABLED = "enabled"
    DISABLED = "disabled"
    COMMENT = "comment"


@dataclass(frozen=True, slots=True)
class AlarmSnapshot:
    """One alarm condition's state now.

    ``id`` is ``<point id>/<rule name>``. ``retain`` follows OPC UA: a condition is of interest while active,
    unacknowledged or unconfirmed. ``event_id`` identifies the latest transition (OPC UA Acknowledge quotes it).
    """

    id: str
    rule: str
    kind: str  # an AlarmKind value
    point: str
    asset: str
    severity: int  # 1..1000
    message: str
    enabled: bool
    active: bool
    acked: bool
    confirmed: bool
    suppressed: bool
    shelved: str | None  # None, "timed" or "oneshot"
    unshelve_at: datetime | None
    limit_state: str | None  # limit alarms while active: HighHigh, High, Low or LowLow
    value: Any  # the value that last changed the condition
    unit: str | None
    active_since: datetime | None
    changed_at: datetime  # time of the latest transition
    last_actor: str | None
    last_comment: str | None
    event_id: bytes
    retain: bool


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One transition of a condition, with the state after it."""

    alarm: AlarmSnapshot
    transition: Transition
    time: datetime
    actor: str | None = None  # the user or token name for operator actions, None for the engine
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class AlarmOutcome:
    """An operator action's result: ``status`` is an OPC UA status name (``Good``, ``BadConditionAlreadyShelved``)."""

    status: str
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status.startswith("Good")


class AlarmFeed(Protocol):
    """A subscriber's bounded queue of alarm events (the oldest are dropped and counted when it is full)."""

    dropped: int

    async def get(self, timeout: float | None = None) -> list[AlarmEvent]:
        """The next events, waiting for at least one; ``[]`` on timeout or when closed."""
        ...

    def close(self) -> None: ...


class AlarmService(Protocol):
    """The alarms of the running gateway, as services use them."""

    def alarms(self) -> list[AlarmSnapshot]:
        """Every condition (active or not)."""
        ...

    def alarm(self, alarm_id: str) -> AlarmSnapshot | None: ...

    def acknowledge(
        self, alarm_id: str, *, actor: str, comment: str | None = None, event_id: bytes | None = None
    ) -> AlarmOutcome:
        """Acknowledge (``event_id`` given: only if it is still the latest event, else ``BadEventIdUnknown``)."""
        ...

    def confirm(
        self, alarm_id: str, *, actor: str, comment: str | None = None, event_id: bytes | None = None
    ) -> AlarmOutcome: ...

    def shelve(
        self, alarm_id: str, *, actor: str, duration: float | None = None, comment: str | None = None
    ) -> AlarmOutcome:
        """Shelve for ``duration`` seconds (timed) or until it next clears (``None``: one-shot)."""
        ...

    def unshelve(self, alarm_id: str, *, actor: str, comment: str | None = None) -> AlarmOutcome: ...

    def set_enabled(self, alarm_id: str, enabled: bool, *, actor: str) -> AlarmOutcome: ...

    def add_comment(self, alarm_id: str, comment: str, *, actor: str) -> AlarmOutcome: ...

    def subscribe(self, maxsize: int = 10_000) -> AlarmFeed:
        """Every transition from now on."""
        ...

    def journal(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        alarm_ids: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[AlarmEvent]:
        """Recorded transitions, oldest first (from the history store when there is one)."""
        ...


def alarms_of(view: Any) -> AlarmService | None:
    """The running gateway's alarms, or None when the mapping has no analytics (``view.analytics``)."""
    return getattr(view, "analytics", None)
