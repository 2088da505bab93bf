"""The OPC UA event fields of an alarm condition (gateway.northbound.opcua.alarms_events), without a server."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from asyncua import ua

from gateway.analytics.model import AlarmSnapshot
from gateway.northbound.opcua.alarms_events import ConditionRef, condition_event, condition_type

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
Ids = ua.ObjectIds
REF = ConditionRef(
    "boiler.temp/high",
    ua.NodeId("alarm:boiler.temp/high", 2),
    ua.NodeId("boiler.temp", 2),
    "boiler.temp",
    (ua.NodeId("boiler", 2), ua.NodeId("twin", 2), ua.NodeId(Ids.Server)),
)
BASE = AlarmSnapshot(
    id="boiler.temp/high", rule="high", kind="limit", point="boiler.temp", asset="boiler", severity=800,
    message="Boiler: 88 °C above 85 °C", enabled=True, active=True, acked=False, confirmed=False,
    suppressed=False, shelved=None, unshelve_at=None, limit_state="High", value=88.0, unit="DEG_C",
    active_since=NOW, changed_at=NOW, last_actor=None, last_comment=None, event_id=b"e1", retain=True,
)  # fmt: skip


def _fields(alarm: AlarmSnapshot, **kw: object) -> dict[str, object]:
    ev = condition_event(alarm, REF, time=alarm.changed_at, receive_time=NOW, **kw)  # type: ignore[arg-type]
    return {k: v.Value for k, v in ev.get_event_props_as_fields_dict().items()}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("limit", Ids.ExclusiveLimitAlarmType),
        ("discrete", Ids.OffNormalAlarmType),
        ("stale", Ids.AlarmConditionType),
        ("anomaly", Ids.AlarmConditionType),
        ("deviation", Ids.AlarmConditionType),
    ],
)
def test_each_alarm_kind_has_its_condition_type(kind: str, expected: int) -> None:
    assert condition_type(kind) == expected


def test_an_active_limit_alarm_carries_its_states_level_and_identity() -> None:
    f = _fields(BASE)
    assert f["EventId"] == b"e1" and f["EventType"] == ua.NodeId(Ids.ExclusiveLimitAlarmType)
    assert f["SourceNode"] == REF.source and f["SourceName"] == "boiler.temp"
    assert f["NodeId"] == REF.condition and f["ConditionName"] == "high" and f["BranchId"] == ua.NodeId()
    assert f["Severity"] == 800 and f["Message"] == ua.LocalizedText("Boiler: 88 °C above 85 °C")
    assert (f["ActiveState/Id"], f["AckedState/Id"], f["ConfirmedState/Id"], f["EnabledState/Id"]) == (
        True,
        False,
        False,
        True,
    )
    assert f["ActiveState"] == ua.LocalizedText("Active") and f["AckedState"] == ua.LocalizedText("Unacknowledged")
    assert f["LimitState/CurrentState"] == ua.LocalizedText("High")
    assert f["LimitState/CurrentState/Id"] == ua.NodeId(Ids.ExclusiveLimitStateMachineType_High)
    assert f["ShelvingState/CurrentState/Id"] == ua.NodeId(Ids.ShelvedStateMachineType_Unshelved)
    assert f["Retain"] is True and f["SuppressedOrShelved"] is False


def test_a_cleared_alarm_has_no_limit_state() -> None:
    f = _fields(dataclasses.replace(BASE, active=False, limit_state=None, acked=True, confirmed=True, retain=False))
    assert "LimitState/CurrentState" not in f and f["ActiveState"] == ua.LocalizedText("Inactive")
    assert f["Retain"] is False


def test_a_timed_shelve_reports_the_time_left_and_counts_as_shelved() -> None:
    shelved = dataclasses.replace(BASE, shelved="timed", unshelve_at=NOW + timedelta(seconds=90))
    f = _fields(shelved)
    assert f["ShelvingState/CurrentState"] == ua.LocalizedText("TimedShelved")
    assert f["ShelvingState/UnshelveTime"] == 90_000.0 and f["SuppressedOrShelved"] is True


def test_the_operator_and_comment_are_the_transitions_else_the_conditions_last() -> None:
    alarm = dataclasses.replace(BASE, last_actor="earlier", last_comment="old note")
    assert (_fields(alarm)["ClientUserId"], _fields(alarm)["Comment"]) == ("earlier", ua.LocalizedText("old note"))
    f = _fields(alarm, actor="op", comment="checking")
    assert (f["ClientUserId"], f["Comment"]) == ("op", ua.LocalizedText("checking"))


def test_every_field_encodes_as_its_variant_type() -> None:
    ev = condition_event(BASE, REF, time=NOW, receive_time=NOW)
    for variant in ev.get_event_props_as_fields_dict().values():
        ua.ua_binary.variant_to_binary(variant)  # raises on a value that does not fit its declared type
