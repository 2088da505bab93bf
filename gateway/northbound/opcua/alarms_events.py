"""An alarm condition as an OPC UA event (Part 9): the condition type of each alarm kind and the event fields.

Pure mapping from ``AlarmSnapshot`` to an asyncua event object; no address space, no I/O. Field names are the
browse paths a client selects (``ActiveState/Id``, ``ShelvingState/CurrentState``); ``NodeId`` is the field a
client selects as ConditionId (an empty browse path with the NodeId attribute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asyncua import ua
from asyncua.common.events import Event

from gateway.analytics.model import AlarmSnapshot
from gateway.northbound.opcua.uatypes import node_id

# Limit alarms are exclusive (one level active at a time), discrete alarms are off-normal; the other kinds
# (deviation, rate, stale, quality, anomaly) have no closer standard type that fits without extra fields.
_TYPES = {
    "limit": ua.ObjectIds.ExclusiveLimitAlarmType,
    "discrete": ua.ObjectIds.OffNormalAlarmType,
}
_LIMIT_STATES = {
    "HighHigh": ua.ObjectIds.ExclusiveLimitStateMachineType_HighHigh,
    "High": ua.ObjectIds.ExclusiveLimitStateMachineType_High,
    "Low": ua.ObjectIds.ExclusiveLimitStateMachineType_Low,
    "LowLow": ua.ObjectIds.ExclusiveLimitStateMachineType_LowLow,
}
_SHELVING = {
    None: ("Unshelved", ua.ObjectIds.ShelvedStateMachineType_Unshelved),
    "timed": ("TimedShelved", ua.ObjectIds.ShelvedStateMachineType_TimedShelved),
    "oneshot": ("OneShotShelved", ua.ObjectIds.ShelvedStateMachineType_OneShotShelved),
}
_TWO_STATES = {
    "EnabledState": ("Enabled", "Disabled"),
    "ActiveState": ("Active", "Inactive"),
    "AckedState": ("Acknowledged", "Unacknowledged"),
    "ConfirmedState": ("Confirmed", "Unconfirmed"),
    "SuppressedState": ("Suppressed", "Unsuppressed"),
}
_V = ua.VariantType


def condition_type(kind: str) -> int:
    """The numeric NodeId (namespace 0) of the condition type of an alarm kind."""
    return _TYPES.get(kind, ua.ObjectIds.AlarmConditionType)


def shelving_state(shelved: str | None) -> tuple[str, int]:
    """The ShelvingState's current state name and the NodeId number of that state."""
    return _SHELVING.get(shelved, _SHELVING[None])


@dataclass(frozen=True, slots=True)
class ConditionRef:
    """Where a condition lives: its node (ConditionId), its source (the point's variable) and the notifiers
    an event of it is raised on (the point's asset, its ancestors, the twin's root, the Server object)."""

    alarm_id: str
    condition: ua.NodeId
    source: ua.NodeId
    source_name: str
    notifiers: tuple[ua.NodeId, ...]


class ConditionEvent(Event):
    """An event of a condition, with the fields of its type that twinbridge fills (others read as null)."""

    def __init__(self, emitting_node: ua.NodeId) -> None:
        super().__init__(emitting_node)

    def put(self, name: str, value: Any, vtype: ua.VariantType) -> None:
        self.add_property(name, value, vtype)


def condition_event(
    alarm: AlarmSnapshot,
    ref: ConditionRef,
    *,
    time: datetime,
    receive_time: datetime,
    actor: str | None = None,
    comment: str | None = None,
) -> ConditionEvent:
    """The event reporting ``alarm``'s state (after a transition at ``time``, or for a ConditionRefresh).

    ``actor``/``comment`` are the transition's (an operator action); without them the condition's last ones.
    """
    ev = ConditionEvent(ref.notifiers[0] if ref.notifiers else node_id(ua.ObjectIds.Server))
    put = ev.put
    put("EventId", alarm.event_id, _V.ByteString)
    put("EventType", node_id(condition_type(alarm.kind)), _V.NodeId)
    put("SourceNode", ref.source, _V.NodeId)
    put("SourceName", ref.source_name, _V.String)
    put("Time", time, _V.DateTime)
    put("ReceiveTime", receive_time, _V.DateTime)
    put("Message", ua.LocalizedText(alarm.message), _V.LocalizedText)
    put("Severity", alarm.severity, _V.UInt16)
    put("NodeId", ref.condition, _V.NodeId)  # ConditionId
    put("ConditionClassId", node_id(ua.ObjectIds.ProcessConditionClassType), _V.NodeId)
    put("ConditionClassName", ua.LocalizedText("Process"), _V.LocalizedText)
    put("ConditionName", alarm.rule, _V.String)
    put("BranchId", ua.NodeId(), _V.NodeId)  # null: twinbridge keeps no condition branches
    put("Retain", alarm.retain, _V.Boolean)
    put("Quality", ua.StatusCode(), _V.StatusCode)
    put("LastSeverity", alarm.severity, _V.UInt16)
    put("InputNode", ref.source, _V.NodeId)
    states = {
        "EnabledState": alarm.enabled,
        "ActiveState": alarm.active,
        "AckedState": alarm.acked,
        "ConfirmedState": alarm.confirmed,
        "SuppressedState": alarm.suppressed,
    }
    for name, on in states.items():
        true_name, false_name = _TWO_STATES[name]
        put(name, ua.LocalizedText(true_name if on else false_name), _V.LocalizedText)
        put(f"{name}/Id", on, _V.Boolean)
    if alarm.active and alarm.active_since is not None:
        put("ActiveState/TransitionTime", alarm.active_since, _V.DateTime)
    shelved_name, shelved_id = shelving_state(alarm.shelved)
    put("ShelvingState/CurrentState", ua.LocalizedText(shelved_name), _V.LocalizedText)
    put("ShelvingState/CurrentState/Id", node_id(shelved_id), _V.NodeId)
    if alarm.shelved == "timed" and alarm.unshelve_at is not None:
        remaining_ms = max(0.0, (alarm.unshelve_at - receive_time).total_seconds() * 1000.0)
        put("ShelvingState/UnshelveTime", remaining_ms, _V.Double)
    put("SuppressedOrShelved", alarm.suppressed or alarm.shelved is not None, _V.Boolean)
    if alarm.kind == "limit" and alarm.active and alarm.limit_state in _LIMIT_STATES:
        put("LimitState/CurrentState", ua.LocalizedText(alarm.limit_state), _V.LocalizedText)
        put("LimitState/CurrentState/Id", node_id(_LIMIT_STATES[alarm.limit_state]), _V.NodeId)
    last_comment = comment if comment is not None else alarm.last_comment
    put("Comment", ua.LocalizedText(last_comment or ""), _V.LocalizedText)
    put("ClientUserId", actor if actor is not None else (alarm.last_actor or ""), _V.String)
    return ev
