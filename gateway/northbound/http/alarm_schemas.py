"""Request and response models of ``/alarms`` (docs/analytics.md, "Alarms over REST, SSE and SPARQL")."""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gateway.analytics.model import AlarmEvent, AlarmSnapshot


class Alarm(BaseModel):
    """One alarm condition now."""

    id: str = Field(description="<point id>/<rule name>, e.g. boiler1.supply_temp/limit")
    rule: str
    kind: str = Field(description="limit, deviation, discrete, rate, stale, quality or anomaly")
    point: str
    asset: str
    severity: int = Field(description="1..1000 (OPC UA Severity)")
    message: str
    enabled: bool
    active: bool
    acked: bool
    confirmed: bool
    suppressed: bool
    shelved: str | None = Field(description="null, timed or oneshot")
    unshelve_at: datetime | None = Field(description="when a timed shelve ends")
    limit_state: str | None = Field(description="a limit alarm's level while active: HighHigh, High, Low, LowLow")
    value: Any = Field(description="the value that last changed the condition")
    unit: str | None
    active_since: datetime | None
    changed_at: datetime = Field(description="time of the latest transition")
    last_actor: str | None
    last_comment: str | None
    event_id: str = Field(description="the latest transition's id, hex (OPC UA EventId)")
    retain: bool = Field(description="of interest: active, or not yet acknowledged or confirmed")


class AlarmEventOut(BaseModel):
    """One recorded transition, with the condition's state after it."""

    time: datetime
    alarm_id: str
    transition: str = Field(description="activated, level, cleared, acknowledged, confirmed, shelved, ...")
    actor: str | None = Field(description="the token (or OPC UA user) of an operator action; null for the engine")
    comment: str | None
    alarm: Alarm


class ActionRequest(BaseModel):
    """Optional details of an operator action."""

    comment: str | None = Field(default=None, max_length=2000)
    event_id: str | None = Field(
        default=None, pattern="^([0-9a-fA-F]{2})*$", description="acknowledge/confirm only this event (hex)"
    )


class ShelveRequest(BaseModel):
    """How long to shelve: a duration (30min, 1h, PT15M) or seconds; absent: until it next clears (one-shot)."""

    duration: str | float | None = Field(default=None, description="30min, 1h, PT15M or seconds; null: one-shot")
    comment: str | None = Field(default=None, max_length=2000)


class CommentRequest(BaseModel):
    comment: str = Field(min_length=1, max_length=2000)


class ActionRefused(BaseModel):
    """A transition the condition's state does not allow (already acknowledged, not shelved...)."""

    error: str
    status: str = Field(description="the OPC UA status, e.g. BadConditionBranchAlreadyAcked")
    alarm: str


def alarm_json(s: AlarmSnapshot) -> dict[str, Any]:
    """A snapshot as the API shows it (``event_id`` hex; times stay datetimes for the response model)."""
    out = {f.name: getattr(s, f.name) for f in fields(AlarmSnapshot)}
    out["event_id"] = s.event_id.hex()
    if not isinstance(s.value, bool | int | float | str | type(None)):
        out["value"] = str(s.value)
    elif isinstance(s.value, float) and not math.isfinite(s.value):
        out["value"] = str(s.value)  # JSON has no NaN or infinity: "nan", "inf" as text

    return out


def event_json(e: AlarmEvent) -> dict[str, Any]:
    return {
        "time": e.time,
        "alarm_id": e.alarm.id,
        "transition": e.transition.value,
        "actor": e.actor,
        "comment": e.comment,
        "alarm": alarm_json(e.alarm),
    }
