"""The alarm journal on SQLite: where its file goes, what reads back, filters, order, and close."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.analytics.journal import FILE_NAME, open_journal, snapshot_from_json, snapshot_to_json
from gateway.analytics.model import AlarmEvent, AlarmSnapshot, Transition
from gateway.history.model import StoreLocation

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def snapshot(alarm_id: str = "boiler1.supply_temp/limit", **changes: object) -> AlarmSnapshot:
    point, _, rule = alarm_id.partition("/")
    base = AlarmSnapshot(
        id=alarm_id,
        rule=rule,
        kind="limit",
        point=point,
        asset=point.split(".")[0],
        severity=800,
        message="Boiler 1: supply 91.5 °C above 85 °C",
        enabled=True,
        active=True,
        acked=False,
        confirmed=True,
        suppressed=False,
        shelved=None,
        unshelve_at=None,
        limit_state="High",
        value=91.5,
        unit="DEG_C",
        active_since=T0,
        changed_at=T0,
        last_actor=None,
        last_comment=None,
        event_id=b"\x01\x02\xff",
        retain=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def event(
    seconds: float,
    transition: Transition = Transition.ACTIVATED,
    alarm_id: str = "boiler1.supply_temp/limit",
    **kw: object,
) -> AlarmEvent:
    t = T0 + timedelta(seconds=seconds)
    return AlarmEvent(snapshot(alarm_id, changed_at=t), transition, t, **kw)  # type: ignore[arg-type]


def test_snapshot_json_round_trip_keeps_every_field() -> None:
    s = snapshot(unshelve_at=T0 + timedelta(minutes=30), shelved="timed", value=True)
    data = snapshot_to_json(s)
    assert data["event_id"] == "0102ff" and data["active_since"] == "2026-05-01T12:00:00+00:00"
    assert snapshot_from_json(data) == s
    assert snapshot_to_json(snapshot(value=b"\x00"))["value"] == "00"  # bytes as hex, like event_id


def test_events_read_back_in_order_with_actor_comment_and_state(tmp_path: Path) -> None:
    journal = open_journal(None, tmp_path)
    journal.record(event(0))
    journal.record(event(5, Transition.ACKNOWLEDGED, actor="ops", comment="on it"))
    journal.record(event(5, Transition.SHELVED, actor="ops"))  # same time: insertion order
    journal.record(event(10, Transition.CLEARED))
    back = journal.read()
    assert [e.transition for e in back] == [
        Transition.ACTIVATED,
        Transition.ACKNOWLEDGED,
        Transition.SHELVED,
        Transition.CLEARED,
    ]
    assert back[1] == event(5, Transition.ACKNOWLEDGED, actor="ops", comment="on it")
    assert back[1].time == T0 + timedelta(seconds=5) and back[1].alarm.event_id == b"\x01\x02\xff"
    journal.close()
    assert (tmp_path / FILE_NAME).exists()


def test_filters_by_time_alarm_and_limit(tmp_path: Path) -> None:
    journal = open_journal(None, tmp_path)
    for i in range(10):
        journal.record(event(i, alarm_id="a.x/limit" if i % 2 else "b.y/stale"))
    start, end = T0 + timedelta(seconds=2), T0 + timedelta(seconds=6)
    assert [e.time.second for e in journal.read(start, end)] == [2, 3, 4, 5]  # end excluded
    assert [e.alarm.id for e in journal.read(alarm_ids=["a.x/limit"])] == ["a.x/limit"] * 5
    assert journal.read(alarm_ids=[]) == []
    assert [e.time.second for e in journal.read(limit=3)] == [0, 1, 2]  # the oldest first
    journal.close()


def test_the_file_goes_beside_embedded_history_and_survives_reopening(tmp_path: Path) -> None:
    history = tmp_path / "hist"
    journal = open_journal(StoreLocation("embedded", str(history)), tmp_path / "state")
    journal.record(event(0))
    journal.close()
    assert (history / FILE_NAME).exists() and not (tmp_path / "state" / FILE_NAME).exists()
    again = open_journal(StoreLocation("embedded", str(history)), tmp_path / "state")
    assert [e.transition for e in again.read()] == [Transition.ACTIVATED]
    again.close()


def test_non_finite_values_and_many_events_are_written(tmp_path: Path) -> None:
    journal = open_journal(None, tmp_path)
    journal.record(AlarmEvent(snapshot(value=math.inf), Transition.LEVEL, T0))
    for i in range(2500):  # more than one writer batch
        journal.record(event(1 + i / 1000))
    assert journal.flush()
    back = journal.read(limit=10_000)
    assert len(back) == 2501 and back[0].alarm.value == math.inf
    journal.close()
    journal.record(event(0))  # after close: ignored, never raises
