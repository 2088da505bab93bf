"""OPC UA Part 13 aggregates over one point's raw rows: pure functions of sorted arrays, no I/O.

Semantics (Part 13 5.4, with the default AggregateConfiguration: TreatUncertainAsBad, PercentDataGood and
PercentDataBad 100, no sloped extrapolation):
- intervals are ``[start + k*interval, start + (k+1)*interval)`` cut at ``end``; a last interval shorter than
  ``interval`` carries the Partial bit;
- Average, Minimum, Maximum and Count use the Good raw values in the interval; the status is Good when every raw
  value in it is Good, BadNoData when none is, UncertainDataSubNormal otherwise; Count of an interval without
  raw values is 0 (Good); the timestamp is the interval start;
- Start and End are the first and last raw value in the interval with their own status and time;
- Interpolative is the interpolated bounding value at the interval start: the raw value there, else a straight
  line between the nearest non-Bad values before and after (stepped for non-numeric points), stepped
  extrapolation with UncertainDataSubNormal when nothing follows, BadNoData when nothing precedes;
- TimeAverage integrates straight lines through the interpolated bounds at both ends of the interval and the
  Good raw values in it, divided by the time covered; a missing start bound shortens the covered time and makes
  the result Uncertain, so does a Bad or Uncertain value inside.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from gateway.history.model import (
    BAD_NO_DATA,
    CALCULATED,
    GOOD,
    INTERPOLATED,
    PARTIAL,
    UNCERTAIN_DATA_SUB_NORMAL,
    Aggregate,
    HistoryValue,
    is_bad,
    is_good,
)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]
BAD_AGGREGATE_INVALID_INPUTS = 0x80D60000  # a numeric aggregate asked of a non-numeric point

Result = tuple[HistoryValue, int, int | None]  # value, status, raw time (Start/End) or None


class Series:
    """One point's rows sorted by time: times, numeric values (NaN where not numeric), statuses, raw values.

    ``good``: rows whose status is Good and whose value is a number; ``usable``: rows that may serve as a
    bound (not Bad, carrying a value). The raw Python values are built only when an aggregate returns one.
    """

    __slots__ = ("_raw", "_values", "good", "numeric", "status", "t", "usable", "v")

    def __init__(
        self,
        t: I64,
        v: F64,
        status: U32,
        has_value: npt.NDArray[np.bool_],
        values: Callable[[], list[HistoryValue]],
        numeric: bool = True,
    ) -> None:
        self.t, self.v, self.status, self.numeric = t, v, status, numeric
        self.good = ((status & 0xC0000000) == 0) & ~np.isnan(v)
        self.usable = ((status & 0x80000000) == 0) & has_value
        self._values = values
        self._raw: list[HistoryValue] | None = None

    @classmethod
    def of(cls, t: I64, v: F64, status: U32, raw: list[HistoryValue], numeric: bool = True) -> Series:
        """A series of plain lists' worth of rows (tests, small inputs)."""
        has_value = np.array([r is not None for r in raw], dtype=bool)
        return cls(t, v, status, has_value, lambda: raw, numeric)

    @property
    def raw(self) -> list[HistoryValue]:
        """The rows' values as Python objects."""
        if self._raw is None:
            self._raw = self._values()
        return self._raw


def interval_starts(start_us: int, end_us: int, interval_us: int) -> I64:
    """The start of every interval of ``[start_us, end_us)``."""
    if interval_us <= 0 or end_us <= start_us:
        return np.zeros(0, np.int64)
    return np.arange(start_us, end_us, interval_us, dtype=np.int64)


def _flags(i: int, starts: I64, end_us: int, interval_us: int) -> int:
    return PARTIAL if i == len(starts) - 1 and int(starts[i]) + interval_us > end_us else 0


def _status_of(n_good: int, n_all: int) -> int:
    if n_all == 0 or n_good == 0:
        return BAD_NO_DATA
    return GOOD if n_good == n_all else UNCERTAIN_DATA_SUB_NORMAL


def compute(agg: Aggregate, s: Series, start_us: int, end_us: int, interval_us: int) -> list[Result]:
    """One result per interval of ``[start_us, end_us)`` (``s`` may hold rows outside it: they serve as bounds)."""
    starts = interval_starts(start_us, end_us, interval_us)
    if agg is Aggregate.INTERPOLATIVE:
        return [_with(bound(s, int(a)), _flags(i, starts, end_us, interval_us)) for i, a in enumerate(starts)]
    numeric_only = agg in (Aggregate.AVERAGE, Aggregate.TIME_AVERAGE, Aggregate.MINIMUM, Aggregate.MAXIMUM)
    if numeric_only and not s.numeric:
        return [(None, BAD_AGGREGATE_INVALID_INPUTS, None) for _ in starts]
    edges = np.append(starts, min(end_us, int(starts[-1]) + interval_us)) if len(starts) else starts
    if agg is Aggregate.TIME_AVERAGE:
        return [
            _with(time_average(s, int(edges[i]), int(edges[i + 1])), _flags(i, starts, end_us, interval_us))
            for i in range(len(starts))
        ]
    cuts = np.searchsorted(s.t, edges, side="left")
    if agg is Aggregate.START or agg is Aggregate.END:
        return [
            _with(_edge(agg, s, int(cuts[i]), int(cuts[i + 1])), _flags(i, starts, end_us, interval_us))
            for i in range(len(starts))
        ]
    results = _plain(agg, s, cuts)
    last = len(results) - 1
    if last >= 0 and _flags(last, starts, end_us, interval_us):
        results[last] = _with(results[last], PARTIAL)
    return results


def _with(r: Result, flags: int) -> Result:
    value, status, at = r
    return (value, status if is_bad(status) else status | flags, at)  # no historian bits on Bad results


def _edge(agg: Aggregate, s: Series, lo: int, hi: int) -> Result:
    """Start or End: the first or last raw row of ``lo:hi`` with its status and time."""
    if hi == lo:
        return (None, BAD_NO_DATA, None)
    j = lo if agg is Aggregate.START else hi - 1
    return (s.raw[j], int(s.status[j]), int(s.t[j]))


def _plain(agg: Aggregate, s: Series, cuts: I64) -> list[Result]:
    """Average, Minimum, Maximum or Count of every interval at once (rows ``cuts[i]:cuts[i+1]``)."""
    n = len(cuts) - 1
    lo, hi = int(cuts[0]), int(cuts[-1])
    bucket = np.repeat(np.arange(n), np.diff(cuts))
    good = s.good[lo:hi]
    n_all = np.bincount(bucket, minlength=n)
    n_good = np.bincount(bucket[good], minlength=n)
    vals = s.v[lo:hi][good]
    gb = bucket[good]
    if agg is Aggregate.AVERAGE:
        out = np.bincount(gb, weights=vals, minlength=n) / np.maximum(n_good, 1)
    elif agg is not Aggregate.COUNT:
        out = np.full(n, np.nan)
        if len(vals):
            firsts = np.searchsorted(gb, np.arange(n))
            has = n_good > 0
            ufunc = np.minimum if agg is Aggregate.MINIMUM else np.maximum
            out[has] = ufunc.reduceat(vals, firsts[has])
    if agg is Aggregate.COUNT:
        status = np.where((n_all == 0) | (n_good == n_all), GOOD, UNCERTAIN_DATA_SUB_NORMAL) | CALCULATED
        values: list[HistoryValue] = n_good.tolist()
    else:
        status = np.where(n_good == n_all, GOOD, UNCERTAIN_DATA_SUB_NORMAL) | CALCULATED
        status[n_good == 0] = BAD_NO_DATA
        values = [None if g == 0 else v for v, g in zip(out.tolist(), n_good.tolist(), strict=True)]
    return list(zip(values, status.tolist(), [None] * n, strict=True))


def bound(s: Series, at_us: int) -> Result:
    """The interpolated bounding value at ``at_us`` (Part 13 3.1.8), with the Interpolated bit when computed."""
    i = int(np.searchsorted(s.t, at_us, side="left"))
    usable = s.usable
    # the nearest usable rows around at_us (rows at the same time as at_us count as "at")
    if i < len(s.t) and s.t[i] == at_us and usable[i]:
        return (s.raw[i], int(s.status[i]), None)
    before = np.flatnonzero(usable[:i])
    if len(before) == 0:
        return (None, BAD_NO_DATA, None)
    b = int(before[-1])
    after = np.flatnonzero(usable[i:])
    skipped_bad = bool(np.any(~usable[b + 1 : i]))
    if len(after) == 0:  # stepped extrapolation
        return (s.raw[b], UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED, None)
    a = i + int(after[0])
    uncertain = skipped_bad or not is_good(int(s.status[b])) or not is_good(int(s.status[a]))
    status = (UNCERTAIN_DATA_SUB_NORMAL if uncertain else GOOD) | INTERPOLATED
    if not s.numeric or np.isnan(s.v[b]) or np.isnan(s.v[a]):
        return (s.raw[b], status, None)  # stepped
    t0, t1 = int(s.t[b]), int(s.t[a])
    v0, v1 = float(s.v[b]), float(s.v[a])
    return (v0 + (v1 - v0) * (at_us - t0) / (t1 - t0), status, None)


def integral(s: Series, a_us: int, b_us: int) -> tuple[float, int, bool]:
    """(area in value·µs, covered µs, uncertain) of straight lines through the bounds and Good values in ``[a, b)``."""
    lo = int(np.searchsorted(s.t, a_us, side="right"))
    hi = int(np.searchsorted(s.t, b_us, side="left"))
    good = s.good[lo:hi]
    ts = s.t[lo:hi][good].astype(np.float64)
    vs = s.v[lo:hi][good]
    uncertain = bool(len(good) and not np.all(good))
    va, sa, _ = bound(s, a_us)
    vb, sb, _ = bound(s, b_us)
    xs, ys = list(ts), list(vs)
    if isinstance(va, int | float) and not is_bad(sa):
        xs.insert(0, float(a_us))
        ys.insert(0, float(va))
        uncertain |= not is_good(sa)
    else:
        uncertain = True
    if len(xs) == 0:
        return (0.0, 0, True)
    if isinstance(vb, int | float) and not is_bad(sb):
        xs.append(float(b_us))
        ys.append(float(vb))
        uncertain |= not is_good(sb)
    else:  # nothing usable at the end: hold the last value (stepped extrapolation)
        xs.append(float(b_us))
        ys.append(ys[-1])
        uncertain = True
    x, y = np.array(xs), np.array(ys)
    area = float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)
    return (area, int(x[-1] - x[0]), uncertain)


def time_average(s: Series, a_us: int, b_us: int) -> Result:
    """TimeAverage of ``[a_us, b_us)`` (see the module docstring)."""
    if not s.numeric:
        return (None, BAD_AGGREGATE_INVALID_INPUTS, None)
    area, covered, uncertain = integral(s, a_us, b_us)
    if covered <= 0:
        return (None, BAD_NO_DATA, None)
    uncertain |= covered < b_us - a_us
    return (area / covered, (UNCERTAIN_DATA_SUB_NORMAL if uncertain else GOOD) | CALCULATED, None)
