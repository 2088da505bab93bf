"""Raw and at-time HistoryRead (OPC UA Part 11 6.5.3 and 6.5.5) as plain reads of a ``HistoryReader``.

Runs in a worker thread (the reads are blocking). Part 11's rules, as applied here:
- the time domain runs from start to just before end; end before start means reverse order (later first);
  start alone or end alone is allowed with NumValuesPerNode (forward from start, backward from end);
- bounds: the value at or before the start (after it, in reverse) and at or after the end, or a
  BadBoundNotFound placeholder at that time; a value exactly at the start is its own bound;
- a page holds at most NumValuesPerNode values (bounds included) and then a continuation point;
- at a requested time without a value, numbers are interpolated linearly between the values around it
  (Interpolated bit; Uncertain when one side is not Good or missing), other types are stepped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asyncua import ua

from gateway.history.model import (
    BAD_NO_DATA,
    INTERPOLATED,
    UNCERTAIN_DATA_SUB_NORMAL,
    HistoryReader,
    HistoryRow,
    HistoryValue,
    datetime_of,
    is_good,
)
from gateway.northbound.opcua.uatypes import status, ua_time

FAR_PAST = 0
FAR_FUTURE = 1 << 62
BAD_BOUND_NOT_FOUND = ua.StatusCodes.BadBoundNotFound
# continuation phases: rows from the first one, rows after a cursor, only the end bound left
ROWS, ROWS_AFTER, END_BOUND = 1, 2, 3


@dataclass(frozen=True, slots=True)
class RawPlan:
    """A raw read: the rows ``lo <= t < hi`` in one direction, page size, and which bounds to add."""

    lo: int
    hi: int
    reverse: bool
    page: int
    start_bound: int | None  # the time whose bound opens the answer, or None for no bound
    end_bound: int | None  # the time whose bound closes it


@dataclass(frozen=True, slots=True)
class RawRead:
    """One page of values and, when more follow, the continuation (phase, a, b)."""

    values: list[ua.DataValue]
    next: tuple[int, int, int] | None


def plan_raw(start: int | None, end: int | None, num: int, bounds: bool, max_values: int) -> RawPlan | None:
    """The read a ReadRawModifiedDetails asks for, or None when fewer than two of its three limits are given."""
    page = min(num, max_values) if num else max_values
    if start is not None and end is not None:
        if end < start:  # (end, start], later first
            return RawPlan(end + 1, start + 1, True, page, start if bounds else None, end if bounds else None)
        hi = end if end > start else start + 1  # identical times ask for the value at that instant
        return RawPlan(start, hi, False, page, start if bounds else None, end if bounds else None)
    if not num:
        return None
    if start is not None:
        return RawPlan(start, FAR_FUTURE, False, page, start if bounds else None, None)
    if end is not None:
        return RawPlan(FAR_PAST, end + 1, True, page, end if bounds else None, None)
    return None


def read_raw_page(
    reader: HistoryReader, pid: str, plan: RawPlan, position: tuple[int, int, int, int] | None, vtype: ua.VariantType
) -> RawRead:
    """One page of a raw read, from the beginning (``position`` None) or from a continuation point."""
    phase, a, b = (position[0], position[1], position[2]) if position else (ROWS, 0, 0)
    values: list[ua.DataValue] = []
    if position is None and plan.start_bound is not None:
        bound = _bound(reader, pid, plan.start_bound, later=plan.reverse, inside=True)
        if bound is not None:
            values.append(_value(bound, vtype))
    if phase in (ROWS, ROWS_AFTER):
        room = plan.page - len(values)
        if room <= 0:
            return RawRead(values, (phase, a, b))
        after = (a, b) if phase == ROWS_AFTER else None
        rows = reader.read_raw(pid, plan.lo, plan.hi, limit=room + 1, reverse=plan.reverse, after=after)
        values += [_value(r, vtype) for r in rows[:room]]
        if len(rows) > room:
            return RawRead(values, (ROWS_AFTER, *rows[room - 1].cursor))
    if plan.end_bound is not None:
        if len(values) >= plan.page:
            return RawRead(values, (END_BOUND, 0, 0))
        bound = _bound(reader, pid, plan.end_bound, later=not plan.reverse, inside=False)
        assert bound is not None  # only a start bound can coincide with a row of the domain
        values.append(_value(bound, vtype))
    return RawRead(values, None)


def _bound(reader: HistoryReader, pid: str, t: int, *, later: bool, inside: bool) -> HistoryRow | None:
    """The bounding value at ``t``: the row at or after it (``later``) or at or before it.

    A start bound (``inside``) that falls exactly at ``t`` is already the first row of the domain, so none is
    added; a missing bound becomes a BadBoundNotFound placeholder at ``t``.
    """
    if later:
        rows = reader.read_raw(pid, t, FAR_FUTURE, limit=1)
        row = rows[0] if rows else None
    else:
        row = reader.read_at_time(pid, [t])[0]
    if row is None:
        return HistoryRow(pid, t, t, None, BAD_BOUND_NOT_FOUND)
    if inside and row.source_us == t:
        return None
    return row


def _value(row: HistoryRow, vtype: ua.VariantType) -> ua.DataValue:
    variant = ua.Variant(row.value, vtype) if row.value is not None else ua.Variant()
    return ua.DataValue(
        variant,
        status(row.status),
        SourceTimestamp=ua_time(datetime_of(row.source_us)),
        ServerTimestamp=ua_time(datetime_of(row.server_us)),
    )


def at_time_values(
    reader: HistoryReader, pid: str, times: Sequence[int], vtype: ua.VariantType
) -> list[tuple[HistoryValue, int]]:
    """(value, status) at each time: the raw value there, else interpolated (numbers) or stepped."""
    numeric = vtype not in (ua.VariantType.Boolean, ua.VariantType.String)
    out: list[tuple[HistoryValue, int]] = []
    for t, prior in zip(times, reader.read_at_time(pid, times), strict=True):
        if prior is None:
            out.append((None, BAD_NO_DATA))
        elif prior.source_us == t or prior.value is None:
            out.append((prior.value, prior.status))
        elif not numeric or not _is_number(prior.value):
            out.append((prior.value, (prior.status & 0xFFFF0000) | INTERPOLATED))
        else:
            out.append(_interpolate(reader, pid, t, prior))
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _interpolate(reader: HistoryReader, pid: str, t: int, prior: HistoryRow) -> tuple[HistoryValue, int]:
    later = reader.read_raw(pid, t, FAR_FUTURE, limit=1)
    nxt = later[0] if later else None
    p = float(prior.value)  # type: ignore[arg-type]
    if nxt is None or not _is_number(nxt.value):  # no end bound: extrapolate the last value, stepped
        return p, UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED
    n = float(nxt.value)  # type: ignore[arg-type]
    value = p + (n - p) * (t - prior.source_us) / (nxt.source_us - prior.source_us)
    good = is_good(prior.status) and is_good(nxt.status)
    return value, (0 if good else UNCERTAIN_DATA_SUB_NORMAL) | INTERPOLATED
