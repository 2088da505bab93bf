"""The condition lifecycle as pure logic: acknowledge, confirm, shelve, enable, with OPC UA Part 9 status codes."""

from __future__ import annotations

import os

from gateway.analytics.conditions import Condition
from gateway.analytics.model import Transition
from gateway.rules.spec import AlarmKind, AlarmRule


def condition(**kw: object) -> Condition:
    c = Condition("b.temp/limit", AlarmRule(name="limit", kind=AlarmKind.LIMIT, **kw), "b.temp", "b", "DEG_C")  # type: ignore[arg-type]
    c.stamp(os.urandom(16), 0.0)
    return c


def activate(c: Condition, level: str | None = "High", now: float = 10.0) -> bytes:
    assert c.set_active(level, 86.0, now)
    eid = os.urandom(16)
    c.stamp(eid, now)
    return eid


def test_activation_needs_acknowledgement_and_retains_until_acked_and_normal() -> None:
    c = condition()
    assert not c.retain
    assert c.set_active("High", 86.0, 10.0) == [Transition.ACTIVATED]
    assert (c.active, c.acked, c.confirmed, c.limit_state, c.active_since) == (True, False, True, "High", 10.0)
    assert c.set_active("High", 87.0, 11.0) == []  # same level: nothing
    assert c.set_active("HighHigh", 96.0, 12.0) == [Transition.LEVEL]
    assert c.set_inactive(80.0, 13.0) == [Transition.CLEARED]
    assert c.retain  # normal again, still unacknowledged
    outcome, trs = c.acknowledge("op", "seen", None)
    assert outcome.ok and trs == [Transition.ACKNOWLEDGED]
    assert (c.last_actor, c.last_comment, c.retain) == ("op", "seen", False)


def test_acknowledge_status_codes() -> None:
    c = condition()
    eid = activate(c)
    outcome, trs = c.acknowledge("op", None, b"\x00" * 16)
    assert (outcome.status, trs) == ("BadEventIdUnknown", [])
    assert c.acknowledge("op", None, eid)[0].status == "Good"
    assert c.acknowledge("op", None, eid)[0].status == "BadConditionBranchAlreadyAcked"


def test_confirm_after_acknowledge_when_required() -> None:
    c = condition(confirm_required=True)
    activate(c)
    assert c.confirm("op", None, None)[0].status == "BadConditionBranchAlreadyConfirmed"  # not acked yet
    c.acknowledge("op", None, None)
    assert not c.confirmed and c.retain
    c.set_inactive(80.0, 20.0)
    assert c.retain  # unconfirmed
    outcome, trs = c.confirm("boss", "checked", None)
    assert outcome.ok and trs == [Transition.CONFIRMED] and not c.retain


def test_an_alarm_without_ack_required_stays_acknowledged() -> None:
    c = condition(ack_required=False)
    activate(c)
    assert c.acked
    assert c.acknowledge("op", None, None)[0].status == "BadConditionBranchAlreadyAcked"


def test_shelving() -> None:
    c = condition()
    assert c.shelve("op", 0.0, None, 5.0)[0].status == "BadShelvingTimeOutOfRange"
    outcome, trs = c.shelve("op", 60.0, "maintenance", 5.0)
    assert outcome.ok and trs == [Transition.SHELVED] and (c.shelved, c.unshelve_at) == ("timed", 65.0)
    assert c.shelve("op", None, None, 6.0)[0].status == "BadConditionAlreadyShelved"
    assert c.expire_shelve(64.0) == []
    assert c.expire_shelve(65.0) == [Transition.UNSHELVED] and c.shelved is None
    assert c.unshelve("op", None)[0].status == "BadConditionNotShelved"
    # one-shot: until the condition next clears
    c.shelve("op", None, None, 70.0)
    activate(c, now=71.0)
    assert c.shelved == "oneshot"
    assert c.set_inactive(80.0, 72.0) == [Transition.CLEARED, Transition.UNSHELVED]
    assert c.shelved is None


def test_disabled_conditions_refuse_operations_and_are_not_retained() -> None:
    c = condition()
    activate(c)
    outcome, trs = c.set_enabled(False, "op")
    assert outcome.ok and trs == [Transition.DISABLED]
    assert not c.active and not c.retain
    assert c.set_enabled(False, "op")[0].status == "BadConditionAlreadyDisabled"
    for status in (
        c.acknowledge("op", None, None)[0].status,
        c.shelve("op", None, None, 1.0)[0].status,
        c.add_comment("x", "op")[0].status,
    ):
        assert status == "BadConditionDisabled"
    assert c.set_enabled(True, "op")[0].ok
    assert c.set_enabled(True, "op")[0].status == "BadConditionAlreadyEnabled"


def test_dump_and_restore_keep_the_state() -> None:
    c = condition(confirm_required=True)
    eid = activate(c, "LowLow", 100.0)
    c.shelve("op", 30.0, "wait", 101.0)
    c.acknowledge("op", "ok", eid)
    back = condition(confirm_required=True)
    back.restore(c.dump())
    for name in ("active", "limit_state", "acked", "confirmed", "shelved", "unshelve_at", "value", "active_since"):
        assert getattr(back, name) == getattr(c, name), name
    assert (back.last_actor, back.last_comment, back.event_id) == ("op", "ok", c.event_id)
    assert back.confirm("op", None, c.event_id)[0].ok  # the event id from before the restart is still known
