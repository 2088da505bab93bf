"""The lifecycle of one alarm condition (OPC UA Part 9 semantics), as pure logic with no clock or I/O.

A ``Condition`` holds the state the services see (``AlarmSnapshot``); its methods apply one change and return
the transitions it made (the engine turns each into an ``AlarmEvent`` with a fresh event id) or, for operator
actions, an ``AlarmOutcome`` whose status is an OPC UA status name (Part 9 table "Alarm & Condition result
codes"). Times are epoch seconds here; the engine converts them to datetimes for snapshots.

- A new activation makes an ``ack_required`` condition unacknowledged; Confirm is asked for after Acknowledge
  when ``confirm_required`` (OPC UA: ConfirmedState turns False when acknowledged).
- Shelved conditions keep evaluating; a one-shot shelve ends when the condition next clears, a timed one at
  ``unshelve_at``.
- A disabled condition is inactive, acknowledged and confirmed (nothing outstanding) and refuses operations
  other than enabling (``BadConditionDisabled``).
- ``retain`` (of interest to clients): enabled and (active, or unacknowledged, or unconfirmed).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.analytics.model import AlarmOutcome, AlarmSnapshot, Transition
from gateway.rules.spec import AlarmRule

OK = AlarmOutcome("Good")
RECENT_EVENTS = 16  # event ids of a condition an Acknowledge/Confirm may still quote


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


@dataclass(slots=True, eq=False)
class Condition:
    """One condition's state: ``<point>/<rule name>``."""

    id: str
    rule: AlarmRule
    point: str
    asset: str
    unit: str | None
    enabled: bool = True
    active: bool = False
    limit_state: str | None = None
    acked: bool = True
    confirmed: bool = True
    suppressed: bool = False
    shelved: str | None = None  # "timed" or "oneshot"
    unshelve_at: float | None = None
    value: Any = None
    active_since: float | None = None
    changed_at: float = 0.0
    last_actor: str | None = None
    last_comment: str | None = None
    message: str = ""
    event_id: bytes = b""
    recent: deque[bytes] = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))

    @property
    def retain(self) -> bool:
        return self.enabled and (self.active or not self.acked or not self.confirmed)

    # -- evaluation ---------------------------------------------------------------------------------
    def set_active(self, level: str | None, value: Any, now: float) -> list[Transition]:
        """The rule says active (at ``level`` for limit-like rules): ACTIVATED, LEVEL, or nothing."""
        if self.active and level == self.limit_state:
            return []
        self.value = value
        if self.active:
            self.limit_state = level
            return [Transition.LEVEL]
        self.active = True
        self.limit_state = level
        self.active_since = now
        if self.rule.ack_required:
            self.acked = False
        return [Transition.ACTIVATED]

    def set_inactive(self, value: Any, now: float) -> list[Transition]:
        """The rule says normal: CLEARED, then UNSHELVED for a one-shot shelve."""
        if not self.active:
            return []
        self.value = value
        self.active = False
        self.limit_state = None
        self.active_since = None
        out = [Transition.CLEARED]
        if self.shelved == "oneshot":
            self.shelved = None
            self.unshelve_at = None
            out.append(Transition.UNSHELVED)
        return out

    def set_suppressed(self, suppressed: bool) -> list[Transition]:
        if self.suppressed == suppressed:
            return []
        self.suppressed = suppressed
        return [Transition.SUPPRESSED if suppressed else Transition.UNSUPPRESSED]

    def expire_shelve(self, now: float) -> list[Transition]:
        """A timed shelve whose time is up ends."""
        if self.shelved == "timed" and self.unshelve_at is not None and now >= self.unshelve_at:
            self.shelved = None
            self.unshelve_at = None
            return [Transition.UNSHELVED]
        return []

    # -- operator actions ---------------------------------------------------------------------------
    def _note(self, actor: str, comment: str | None) -> None:
        self.last_actor = actor
        if comment is not None:
            self.last_comment = comment

    def _check_event(self, event_id: bytes | None) -> AlarmOutcome | None:
        if not self.enabled:
            return AlarmOutcome("BadConditionDisabled", f"{self.id} is disabled")
        if event_id is not None and event_id not in self.recent:
            return AlarmOutcome("BadEventIdUnknown", f"event {event_id.hex()} is not a current event of {self.id}")
        return None

    def acknowledge(
        self, actor: str, comment: str | None, event_id: bytes | None
    ) -> tuple[AlarmOutcome, list[Transition]]:
        bad = self._check_event(event_id)
        if bad is not None:
            return bad, []
        if self.acked:
            return AlarmOutcome("BadConditionBranchAlreadyAcked", f"{self.id} needs no acknowledgement"), []
        self.acked = True
        if self.rule.confirm_required:
            self.confirmed = False
        self._note(actor, comment)
        return OK, [Transition.ACKNOWLEDGED]

    def confirm(self, actor: str, comment: str | None, event_id: bytes | None) -> tuple[AlarmOutcome, list[Transition]]:
        bad = self._check_event(event_id)
        if bad is not None:
            return bad, []
        if self.confirmed:
            return AlarmOutcome("BadConditionBranchAlreadyConfirmed", f"{self.id} needs no confirmation"), []
        self.confirmed = True
        self._note(actor, comment)
        return OK, [Transition.CONFIRMED]

    def shelve(
        self, actor: str, duration: float | None, comment: str | None, now: float
    ) -> tuple[AlarmOutcome, list[Transition]]:
        bad = self._check_event(None)
        if bad is not None:
            return bad, []
        if duration is not None and not duration > 0:
            return AlarmOutcome("BadShelvingTimeOutOfRange", f"shelving time must be positive (got {duration})"), []
        if self.shelved is not None:
            return AlarmOutcome("BadConditionAlreadyShelved", f"{self.id} is already shelved ({self.shelved})"), []
        self.shelved = "oneshot" if duration is None else "timed"
        self.unshelve_at = None if duration is None else now + duration
        self._note(actor, comment)
        return OK, [Transition.SHELVED]

    def unshelve(self, actor: str, comment: str | None) -> tuple[AlarmOutcome, list[Transition]]:
        bad = self._check_event(None)
        if bad is not None:
            return bad, []
        if self.shelved is None:
            return AlarmOutcome("BadConditionNotShelved", f"{self.id} is not shelved"), []
        self.shelved = None
        self.unshelve_at = None
        self._note(actor, comment)
        return OK, [Transition.UNSHELVED]

    def set_enabled(self, enabled: bool, actor: str) -> tuple[AlarmOutcome, list[Transition]]:
        if self.enabled == enabled:
            status = "BadConditionAlreadyEnabled" if enabled else "BadConditionAlreadyDisabled"
            return AlarmOutcome(status, f"{self.id} is already {'enabled' if enabled else 'disabled'}"), []
        self.enabled = enabled
        if not enabled:  # nothing outstanding while disabled; re-evaluated from the point's state when enabled
            self.active = False
            self.limit_state = None
            self.active_since = None
            self.acked = True
            self.confirmed = True
            self.suppressed = False
        self.last_actor = actor
        return OK, [Transition.ENABLED if enabled else Transition.DISABLED]

    def add_comment(self, comment: str, actor: str) -> tuple[AlarmOutcome, list[Transition]]:
        bad = self._check_event(None)
        if bad is not None:
            return bad, []
        self.last_actor = actor
        self.last_comment = comment
        return OK, [Transition.COMMENT]

    # -- views --------------------------------------------------------------------------------------
    def stamp(self, event_id: bytes, now: float) -> None:
        """Record the id and time of the transition just made."""
        self.event_id = event_id
        self.recent.append(event_id)
        self.changed_at = now

    def snapshot(self) -> AlarmSnapshot:
        changed = _dt(self.changed_at)
        assert changed is not None
        return AlarmSnapshot(
            id=self.id,
            rule=self.rule.name,
            kind=self.rule.kind.value,
            point=self.point,
            asset=self.asset,
            severity=self.rule.severity,
            message=self.message,
            enabled=self.enabled,
            active=self.active,
            acked=self.acked,
            confirmed=self.confirmed,
            suppressed=self.suppressed,
            shelved=self.shelved,
            unshelve_at=_dt(self.unshelve_at),
            limit_state=self.limit_state,
            value=self.value,
            unit=self.unit,
            active_since=_dt(self.active_since),
            changed_at=changed,
            last_actor=self.last_actor,
            last_comment=self.last_comment,
            event_id=self.event_id,
            retain=self.retain,
        )

    # -- persistence --------------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        """What survives a restart (JSON)."""
        value = self.value if isinstance(self.value, bool | int | float | str) or self.value is None else None
        return {
            "enabled": self.enabled,
            "active": self.active,
            "limit_state": self.limit_state,
            "acked": self.acked,
            "confirmed": self.confirmed,
            "shelved": self.shelved,
            "unshelve_at": self.unshelve_at,
            "value": value,
            "active_since": self.active_since,
            "changed_at": self.changed_at,
            "actor": self.last_actor,
            "comment": self.last_comment,
            "message": self.message,
            "event_id": self.event_id.hex(),
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back a dumped state (fields that do not parse keep their defaults)."""
        self.enabled = bool(saved.get("enabled", self.enabled))
        self.active = bool(saved.get("active", False)) and self.enabled
        self.limit_state = saved.get("limit_state") if self.active else None
        self.acked = bool(saved.get("acked", True))
        self.confirmed = bool(saved.get("confirmed", True))
        shelved = saved.get("shelved")
        self.shelved = shelved if shelved in ("timed", "oneshot") else None
        self.unshelve_at = _number(saved.get("unshelve_at")) if self.shelved == "timed" else None
        self.value = saved.get("value")
        self.active_since = _number(saved.get("active_since")) if self.active else None
        self.changed_at = _number(saved.get("changed_at")) or self.changed_at
        self.last_actor = saved.get("actor")
        self.last_comment = saved.get("comment")
        self.message = str(saved.get("message") or self.message)
        try:
            event_id = bytes.fromhex(str(saved.get("event_id") or ""))
        except ValueError:
            event_id = b""
        if event_id:
            self.event_id = event_id
            self.recent.append(event_id)


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
