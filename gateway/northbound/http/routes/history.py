"""/points/{id}/history and /history: recorded samples and aggregates as JSON, CSV or Apache Arrow.

Raw samples come in pages of ``limit`` rows with an opaque cursor for the next one; aggregates come whole,
and an interval that would make more buckets than ``limit`` is refused with the interval that would fit.
The store is read in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from adapters.contract.status import status_name
from gateway.history.model import Aggregate, HistoryReader, HistoryRow
from gateway.northbound.history_access import (
    history_reader,
    is_recorded,
    not_recorded_message,
    unknown_point_message,
)
from gateway.northbound.http.deps import Api, ReaderDep
from gateway.northbound.http.errors import ApiError
from gateway.northbound.http.history_formats import MEDIA, Column, pick_format, to_arrow, to_csv, value_type
from gateway.northbound.http.history_schemas import AlignedHistory, PointHistory
from gateway.northbound.http.history_times import (
    DURATION_HELP,
    TimeFormatError,
    format_duration,
    format_instant,
    now_us,
    parse_duration,
    parse_instant,
)

router = APIRouter(tags=["history"])

MAX_LIMIT = 100_000
DEFAULT_SPAN_US = 3_600_000_000  # start defaults to one hour before end
KNOWN_AGGREGATES = ", ".join(a.value for a in Aggregate)
_OTHER_FORMATS: dict[str, Any] = {"content": {MEDIA["csv"]: {}, MEDIA["arrow"]: {}}}

StartQ = Annotated[str | None, Query(description="ISO 8601 or relative (-1h, now-15m); default end - 1h")]
EndQ = Annotated[str | None, Query(description="ISO 8601 or relative; default now")]
IntervalQ = Annotated[str | None, Query(description=f"aggregate interval, {DURATION_HELP}; default the whole range")]
AggregateQ = Annotated[str | None, Query(description=f"one of {KNOWN_AGGREGATES}; absent: raw samples")]
FormatQ = Annotated[str | None, Query(description="json, csv or arrow (else the Accept header decides)")]


@dataclass(frozen=True, slots=True)
class Window:
    """A validated time range, in µs."""

    start: int
    end: int


def _reader(api: Api) -> HistoryReader:
    reader = history_reader(api.view)
    if reader is None:
        raise ApiError(404, "this gateway records no history; add twin: history: to the mapping (docs/history.md)")
    return reader


def _check_point(api: Api, pid: str) -> None:
    if pid not in api.view.model.points:
        message, close = unknown_point_message(api.view, pid)
        raise ApiError(404, message, nearest=close)
    if not is_recorded(api.view, pid):
        raise ApiError(404, not_recorded_message(pid))


def _window(start: str | None, end: str | None) -> Window:
    now = now_us()
    end_us = _instant("end", end, now) if end else now
    start_us = _instant("start", start, now) if start else end_us - DEFAULT_SPAN_US
    if start_us >= end_us:
        raise ApiError(
            400,
            f"start ({format_instant(start_us)}) is not before end ({format_instant(end_us)}); swap them "
            "(for newest first use order=desc)",
        )
    return Window(start_us, end_us)


def _instant(name: str, text: str, now: int) -> int:
    try:
        return parse_instant(text, now)
    except TimeFormatError as exc:
        raise ApiError(400, f"{name}: {exc}") from None


def _aggregate(name: str) -> Aggregate:
    try:
        return Aggregate(name.lower())
    except ValueError:
        raise ApiError(400, f"unknown aggregate '{name}'; known: {KNOWN_AGGREGATES}") from None


def _interval(text: str | None, window: Window, limit: int, points: int = 1) -> int:
    """The bucket width in µs (the whole range when not given), refused when it makes more than ``limit`` buckets."""
    span = window.end - window.start
    if text is None:
        return span
    try:
        interval = parse_duration(text)
    except TimeFormatError as exc:
        raise ApiError(400, f"interval: {exc}") from None
    buckets = math.ceil(span / interval)
    if buckets > limit:
        fits = format_duration(_round_up(math.ceil(span / limit)))
        raise ApiError(
            400,
            f"interval={text} over {format_duration(span)} makes {buckets:,} intervals, more than limit={limit:,}; "
            f"use interval={fits} or wider, a shorter range, or a higher limit (up to {MAX_LIMIT:,})",
        )
    return interval


def _round_up(us: int) -> int:
    """The smallest round interval (1 ms, 2 ms, 5 ms ... 15 s, 30 s, 1 min ... 12 h, 1 d, 7 d) of at least ``us``."""
    for c in _ROUND:
        if c >= us:
            return c
    return us


_ROUND = [
    *(n * 1_000 for n in (1, 2, 5, 10, 20, 50, 100, 200, 500)),
    *(n * 1_000_000 for n in (1, 2, 5, 10, 15, 30)),
    *(n * 60_000_000 for n in (1, 2, 5, 10, 15, 30)),
    *(n * 3_600_000_000 for n in (1, 2, 3, 6, 12)),
    *(n * 86_400_000_000 for n in (1, 7, 30)),
]


# -- the cursor ------------------------------------------------------------------------------------------
def _encode_cursor(pid: str, window: Window, reverse: bool, last: HistoryRow) -> str:
    raw = json.dumps([1, pid, window.start, window.end, reverse, *last.cursor])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(pid: str, cursor: str) -> tuple[Window, bool, tuple[int, int]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        version, cpid, start, end, reverse, source_us, tie = data
        ok = version == 1 and all(isinstance(x, int) for x in (start, end, source_us, tie))
    except (ValueError, TypeError, binascii.Error):
        ok = False
    if not ok:
        raise ApiError(400, "cursor is not one this endpoint gave; drop it to start again from the first page")
    if cpid != pid:
        raise ApiError(400, f"cursor belongs to point '{cpid}', not '{pid}'; drop it or ask /points/{cpid}/history")
    return Window(start, end), bool(reverse), (source_us, tie)


# -- answers ----------------------------------------------------------------------------------------------
def _answer(
    fmt: str, body: dict[str, Any], columns: list[Column], meta: dict[str, str], headers: dict[str, str]
) -> Response:
    if fmt == "csv":
        return Response(to_csv(columns), media_type=MEDIA["csv"], headers=headers)
    if fmt == "arrow":
        return Response(to_arrow(columns, meta), media_type=MEDIA["arrow"], headers=headers)
    return JSONResponse(body, headers=headers)


def _next_link(pid: str, cursor: str, limit: int, fmt: str) -> str:
    query = urlencode({"cursor": cursor, "limit": limit, "format": fmt})
    return f"/points/{quote(pid, safe='')}/history?{query}"


@router.get(
    "/points/{point_id}/history",
    summary="A point's recorded samples (paged by cursor) or aggregates",
    response_model=None,
    responses={200: {"model": PointHistory, **_OTHER_FORMATS}, 400: {}, 404: {}, 406: {}},
)
async def point_history(
    point_id: str,
    request: Request,
    api: Api,
    _: ReaderDep,
    start: StartQ = None,
    end: EndQ = None,
    interval: IntervalQ = None,
    aggregate: AggregateQ = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page, or most intervals")] = 10_000,
    cursor: Annotated[str | None, Query(description="from the previous page; its range and order apply")] = None,
    order: Annotated[
        str, Query(pattern="^(asc|desc)$", description="raw samples oldest (asc) or newest first")
    ] = "asc",
    format: FormatQ = None,
) -> Response:
    fmt = pick_format(format, request.headers.get("accept", ""))
    reader = _reader(api)
    _check_point(api, point_id)
    if aggregate is None and interval is not None:
        raise ApiError(400, f"interval needs an aggregate; add aggregate= one of {KNOWN_AGGREGATES}")
    if aggregate is not None:
        return await _processed(api, reader, point_id, fmt, _window(start, end), _aggregate(aggregate), interval, limit)
    if cursor is not None:
        window, reverse, after = _decode_cursor(point_id, cursor)
    else:
        window, reverse, after = _window(start, end), order == "desc", None
    rows = await asyncio.to_thread(
        reader.read_raw, point_id, window.start, window.end, limit=limit + 1, reverse=reverse, after=after
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(point_id, window, reverse, rows[-1]) if more and rows else None
    link = _next_link(point_id, next_cursor, limit, fmt) if next_cursor else None
    headers = {"X-Next-Cursor": next_cursor, "Link": f'<{link}>; rel="next"'} if next_cursor else {}
    unit = api.view.model.points[point_id].unit
    body = {
        **_meta(point_id, unit, window, None, None),
        "order": "desc" if reverse else "asc",
        "rows": [
            {
                "time": format_instant(r.source_us),
                "value": r.value,
                "status": status_name(r.status),
                "server_time": format_instant(r.server_us),
            }
            for r in rows
        ]
        if fmt == "json"  # only JSON needs the rows as dicts (a day of 1 s samples: 86,400 of them)
        else [],
        "cursor": next_cursor,
        "next": link,
    }
    vtype = value_type(api.view.model.points[point_id].datatype, None)
    columns = [
        Column("time", "time", [r.source_us for r in rows]),
        Column("value", "value", [r.value for r in rows], vtype),
        Column("status", "status", [status_name(r.status) for r in rows]),
        Column("server_time", "time", [r.server_us for r in rows]),
    ]
    return _answer(fmt, body, columns, _arrow_meta(body), headers)


def _meta(pid: str, unit: str | None, window: Window, agg: Aggregate | None, interval: int | None) -> dict[str, Any]:
    return {
        "point": pid,
        "unit": unit,
        "start": format_instant(window.start),
        "end": format_instant(window.end),
        "aggregate": agg.value if agg else None,
        "interval": format_duration(interval) if interval else None,
    }


def _arrow_meta(body: dict[str, Any]) -> dict[str, str]:
    keys = ("point", "points", "unit", "start", "end", "aggregate", "interval", "order", "cursor")
    return {k: json.dumps(body[k]) if isinstance(body[k], list) else str(body[k]) for k in keys if body.get(k)}


async def _processed(
    api: Api, reader: HistoryReader, pid: str, fmt: str, window: Window, agg: Aggregate, text: str | None, limit: int
) -> Response:
    interval = _interval(text, window, limit)
    buckets = await asyncio.to_thread(reader.read_processed, [pid], window.start, window.end, interval, agg)
    point = api.view.model.points[pid]
    body = {
        **_meta(pid, point.unit, window, agg, interval),
        "order": "asc",
        "rows": [
            {"time": format_instant(b.start_us), "value": b.value, "status": status_name(b.status)} for b in buckets
        ],
        "cursor": None,
        "next": None,
    }
    columns = [
        Column("time", "time", [b.start_us for b in buckets]),
        Column("value", "value", [b.value for b in buckets], value_type(point.datatype, agg)),
        Column("status", "status", [status_name(b.status) for b in buckets]),
    ]
    return _answer(fmt, body, columns, _arrow_meta(body), {})


@router.get(
    "/history",
    summary="Aggregates of several points on one time axis",
    response_model=None,
    responses={200: {"model": AlignedHistory, **_OTHER_FORMATS}, 400: {}, 404: {}, 406: {}},
)
async def aligned_history(
    request: Request,
    api: Api,
    _: ReaderDep,
    points: Annotated[str, Query(description="point ids, comma separated")],
    aggregate: Annotated[str, Query(description=f"one of {KNOWN_AGGREGATES}")],
    start: StartQ = None,
    end: EndQ = None,
    interval: IntervalQ = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="most intervals")] = 10_000,
    format: FormatQ = None,
) -> Response:
    fmt = pick_format(format, request.headers.get("accept", ""))
    reader = _reader(api)
    ids = list(dict.fromkeys(p.strip() for p in points.split(",") if p.strip()))
    if not ids:
        raise ApiError(400, "points is empty; give point ids separated by commas, e.g. points=ahu1.sat,ahu1.rat")
    for pid in ids:
        _check_point(api, pid)
    agg = _aggregate(aggregate)
    window = _window(start, end)
    step = _interval(interval, window, limit)
    buckets = await asyncio.to_thread(reader.read_processed, ids, window.start, window.end, step, agg)
    axis = list(range(window.start, window.end, step))
    slot = {t: i for i, t in enumerate(axis)}
    values: dict[str, list[Any]] = {pid: [None] * len(axis) for pid in ids}
    status: dict[str, list[str]] = {pid: ["BadNoData"] * len(axis) for pid in ids}
    for b in buckets:
        i = slot.get(b.start_us)
        if i is not None and b.point in values:
            values[b.point][i] = b.value
            status[b.point][i] = status_name(b.status)
    body = {
        "points": ids,
        "start": format_instant(window.start),
        "end": format_instant(window.end),
        "aggregate": agg.value,
        "interval": format_duration(step),
        "time": [format_instant(t) for t in axis],
        "series": {pid: {"values": values[pid], "status": status[pid]} for pid in ids},
    }
    model = api.view.model.points
    columns = [Column("time", "time", axis)]
    for pid in ids:
        columns.append(Column(pid, "value", values[pid], value_type(model[pid].datatype, agg)))
        columns.append(Column(f"{pid}#status", "status", status[pid]))
    return _answer(fmt, body, columns, _arrow_meta(body), {})
