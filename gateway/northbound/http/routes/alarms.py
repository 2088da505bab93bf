"""/alarms: the alarm conditions now, their journal, and the operator's actions on them (ack, shelve, ...).

Alarm ids hold a '/' (``boiler1.supply_temp/limit``), so the id is a ``path`` parameter: ``/alarms/history`` is
declared before ``/alarms/{alarm_id:path}`` (an id always has a '/', so it is never ``history``), and each action
route ends in its verb (``/alarms/boiler1.supply_temp/limit/ack``). Without analytics in the mapping the lists
are empty and actions answer 404. The journal is read in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from gateway.analytics.model import AlarmOutcome, AlarmService, AlarmSnapshot, alarms_of
from gateway.classes import is_a, resolve_class
from gateway.northbound.http import present
from gateway.northbound.http.alarm_schemas import (
    ActionRefused,
    ActionRequest,
    Alarm,
    AlarmEventOut,
    CommentRequest,
    ShelveRequest,
    alarm_json,
    event_json,
)
from gateway.northbound.http.deps import Api, OperatorDep, ReaderDep
from gateway.northbound.http.errors import ApiError
from gateway.northbound.http.history_times import (
    DURATION_HELP,
    TimeFormatError,
    now_us,
    parse_duration,
    parse_instant,
    us_datetime,
)
from gateway.northbound.http.schemas import ErrorBody

router = APIRouter(tags=["alarms"])

NO_ALARMS = "this gateway has no alarms: the mapping defines no analytics (docs/analytics.md)"
DEFAULT_HISTORY_US = 86_400_000_000  # start defaults to a day before end
_MINUTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*min\s*$", re.IGNORECASE)
# OPC UA refusal -> HTTP status; any other refusal is a state conflict (409)
_HTTP_STATUS = {"BadNodeIdUnknown": 404, "BadUserAccessDenied": 403, "BadInvalidArgument": 422}
_ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "unknown alarm, or no analytics in the mapping"},
    409: {"model": ActionRefused, "description": "the condition's state refuses it (already acknowledged...)"},
}
State = Literal["retained", "all", "active", "unacked", "shelved"]
_STATES: dict[str, Callable[[AlarmSnapshot], bool]] = {
    "retained": lambda s: s.retain,
    "all": lambda s: True,
    "active": lambda s: s.active,
    "unacked": lambda s: not s.acked,
    "shelved": lambda s: s.shelved is not None,
}


def _service(api: Api) -> AlarmService:
    alarms = alarms_of(api.view)
    if alarms is None:
        raise ApiError(404, NO_ALARMS)
    return alarms


def _point_filter(api: Api, asset: str | None, location: str | None, cls: str | None) -> Callable[[str], bool]:
    """Whether a point passes the asset subtree, location subtree and class filters (404/400 on bad input)."""
    model = api.view.model
    keep: list[Callable[[str], bool]] = []
    if asset is not None:
        present.require("asset", asset, model.assets)
        under = {a.id for a in model.subtree(asset)}
        keep.append(lambda p: p in model.points and model.points[p].asset in under)
    if location is not None:
        present.require("location", location, model.locations)
        placed = set(api.topology().points_under(location))
        keep.append(lambda p: p in placed)
    if cls is not None:
        try:
            wanted = resolve_class(cls)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        keep.append(lambda p: p in model.points and any(is_a(c, wanted) for c in model.points[p].classes))
    return lambda p: all(f(p) for f in keep)


@router.get(
    "/alarms",
    response_model=list[Alarm],
    summary="Alarm conditions now, filtered",
    responses={404: {"model": ErrorBody, "description": "unknown asset or location in a filter"}},
)
async def list_alarms(
    api: Api,
    _: ReaderDep,
    state: Annotated[State, Query(description="retained (active or unacknowledged: default), all, active...")] = (
        "retained"
    ),
    asset: Annotated[str | None, Query(description="only alarms of points under this asset (whole subtree)")] = None,
    location: Annotated[str | None, Query(description="only alarms of points in this location or below")] = None,
    severity_min: Annotated[int | None, Query(ge=1, le=1000, description="only this severity or higher")] = None,
    cls: Annotated[str | None, Query(alias="class", description="the point's class, subclasses included")] = None,
    point: Annotated[str | None, Query(description="comma-separated point ids")] = None,
) -> list[dict[str, Any]]:
    alarms = alarms_of(api.view)
    passes = _point_filter(api, asset, location, cls)
    if alarms is None:
        return []
    wanted = {p.strip() for p in point.split(",") if p.strip()} if point else None
    chosen = [
        s
        for s in alarms.alarms()
        if _STATES[state](s)
        and (severity_min is None or s.severity >= severity_min)
        and (wanted is None or s.point in wanted)
        and passes(s.point)
    ]
    chosen.sort(key=lambda s: (-s.severity, -s.changed_at.timestamp(), s.id))  # most urgent, then newest
    return [alarm_json(s) for s in chosen]


@router.get(
    "/alarms/history",
    response_model=list[AlarmEventOut],
    summary="Recorded alarm transitions (the journal), oldest first",
    responses={400: {"model": ErrorBody, "description": "an unreadable time"}},
)
async def alarm_history(
    api: Api,
    _: ReaderDep,
    start: Annotated[str | None, Query(description="ISO 8601 or relative (-1h, now-15m); default end - 1 day")] = None,
    end: Annotated[str | None, Query(description="ISO 8601 or relative; default now")] = None,
    alarm: Annotated[str | None, Query(description="comma-separated alarm ids")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> list[dict[str, Any]]:
    now = now_us()
    try:
        end_us = parse_instant(end, now) if end else now
        start_us = parse_instant(start, now) if start else end_us - DEFAULT_HISTORY_US
    except TimeFormatError as exc:
        raise ApiError(400, str(exc)) from None
    if start_us >= end_us:
        raise ApiError(400, "start must be before end")
    alarms = alarms_of(api.view)
    if alarms is None:
        return []
    ids = [a.strip() for a in alarm.split(",") if a.strip()] if alarm else None
    events = await asyncio.to_thread(
        alarms.journal, start=us_datetime(start_us), end=us_datetime(end_us), alarm_ids=ids, limit=limit
    )
    return [event_json(e) for e in events]


@router.get(
    "/alarms/{alarm_id:path}",
    response_model=Alarm,
    summary="One alarm condition",
    responses={404: {"model": ErrorBody, "description": "unknown alarm"}},
)
async def get_alarm(alarm_id: str, api: Api, _: ReaderDep) -> dict[str, Any]:
    return alarm_json(_existing(_service(api), alarm_id))


def _existing(alarms: AlarmService, alarm_id: str) -> AlarmSnapshot:
    s = alarms.alarm(alarm_id)
    if s is None:
        raise present.unknown("alarm", alarm_id, [a.id for a in alarms.alarms()])
    return s


def _answer(alarms: AlarmService, alarm_id: str, outcome: AlarmOutcome) -> dict[str, Any]:
    """200 with the condition's new state, or the refusal with its OPC UA status."""
    if not outcome.ok:
        reason = outcome.reason or outcome.status
        raise ApiError(_HTTP_STATUS.get(outcome.status, 409), reason, status=outcome.status, alarm=alarm_id)
    return alarm_json(_existing(alarms, alarm_id))


def _event_id(body: ActionRequest | None) -> bytes | None:
    return bytes.fromhex(body.event_id) if body is not None and body.event_id else None


def _seconds(duration: str | float | None) -> float | None:
    """A shelve duration in seconds; None for a one-shot shelve."""
    if duration is None:
        return None
    if isinstance(duration, int | float):
        if not 0 < duration < 10 * 365 * 86_400:
            raise ApiError(422, f"duration: expected a positive number of seconds (got {duration})")
        return float(duration)
    text = _MINUTES.sub(r"\1m", duration)  # "30min" as people write it
    try:
        return parse_duration(text) / 1e6
    except TimeFormatError:
        raise ApiError(422, f"duration: expected 30min, {DURATION_HELP}, or seconds (got {duration!r})") from None


Action = Annotated[ActionRequest | None, Body()]


@router.post("/alarms/{alarm_id:path}/ack", response_model=Alarm, summary="Acknowledge", responses=_ACTION_RESPONSES)
async def acknowledge(alarm_id: str, api: Api, who: OperatorDep, body: Action = None) -> dict[str, Any]:
    alarms = _service(api)
    _existing(alarms, alarm_id)
    comment = body.comment if body else None
    outcome = alarms.acknowledge(alarm_id, actor=who.name, comment=comment, event_id=_event_id(body))
    return _answer(alarms, alarm_id, outcome)


@router.post("/alarms/{alarm_id:path}/confirm", response_model=Alarm, summary="Confirm", responses=_ACTION_RESPONSES)
async def confirm(alarm_id: str, api: Api, who: OperatorDep, body: Action = None) -> dict[str, Any]:
    alarms = _service(api)
    _existing(alarms, alarm_id)
    comment = body.comment if body else None
    outcome = alarms.confirm(alarm_id, actor=who.name, comment=comment, event_id=_event_id(body))
    return _answer(alarms, alarm_id, outcome)


@router.post(
    "/alarms/{alarm_id:path}/shelve",
    response_model=Alarm,
    summary="Shelve for a while, or until it next clears (no duration)",
    responses={**_ACTION_RESPONSES, 422: {"model": ErrorBody, "description": "an unreadable duration"}},
)
async def shelve(
    alarm_id: str, api: Api, who: OperatorDep, body: Annotated[ShelveRequest | None, Body()] = None
) -> dict[str, Any]:
    alarms = _service(api)
    _existing(alarms, alarm_id)
    duration = _seconds(body.duration if body else None)
    outcome = alarms.shelve(alarm_id, actor=who.name, duration=duration, comment=body.comment if body else None)
    return _answer(alarms, alarm_id, outcome)


@router.post("/alarms/{alarm_id:path}/unshelve", response_model=Alarm, summary="Unshelve", responses=_ACTION_RESPONSES)
async def unshelve(alarm_id: str, api: Api, who: OperatorDep, body: Action = None) -> dict[str, Any]:
    alarms = _service(api)
    _existing(alarms, alarm_id)
    outcome = alarms.unshelve(alarm_id, actor=who.name, comment=body.comment if body else None)
    return _answer(alarms, alarm_id, outcome)


@router.post(
    "/alarms/{alarm_id:path}/comment", response_model=Alarm, summary="Add a comment", responses=_ACTION_RESPONSES
)
async def add_comment(alarm_id: str, body: CommentRequest, api: Api, who: OperatorDep) -> dict[str, Any]:
    alarms = _service(api)
    _existing(alarms, alarm_id)
    return _answer(alarms, alarm_id, alarms.add_comment(alarm_id, body.comment, actor=who.name))


@router.post("/alarms/{alarm_id:path}/enable", response_model=Alarm, summary="Enable", responses=_ACTION_RESPONSES)
async def enable(alarm_id: str, api: Api, who: OperatorDep) -> dict[str, Any]:
    alarms = _service(api)
    _existing(alarms, alarm_id)
    return _answer(alarms, alarm_id, alarms.set_enabled(alarm_id, True, actor=who.name))


@router.post(
    "/alarms/{alarm_id:path}/disable",
    response_model=Alarm,
    summary="Disable (out of service)",
    responses=_ACTION_RESPONSES,
)
async def disable(alarm_id: str, api: Api, who: OperatorDep) -> dict[str, Any]:
    alarms = _service(api)
    _existing(alarms, alarm_id)
    return _answer(alarms, alarm_id, alarms.set_enabled(alarm_id, False, actor=who.name))
