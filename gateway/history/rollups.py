"""Roll-ups: per-interval statistics computed from raw rows once an interval has ended, kept longer than raw.

Each roll-up row holds, for one point and one interval with raw rows: how many rows and how many Good ones,
the sum, minimum and maximum of the Good values, and the first and last row (time, value, kind, status). That
is enough to answer Average, Minimum, Maximum, Count, Start and End for any interval that is a multiple of the
roll-up's (Part 13 status rules as for raw rows), long after the raw rows are gone. TimeAverage and
Interpolative need the raw rows around each interval: they read raw. A roll-up is computed once, SETTLE_US
after its interval has ended (``start + interval + SETTLE_US <= now``), so rows still on their way (the last
flush interval, a device's buffered clock) are in it; rows arriving later than that are in raw only. Reads use a
level only up to its watermark and read raw beyond, so the delay never hides data.
"""

from __future__ import annotations

import json
import sqlite3
import zlib

import numpy as np
import numpy.typing as npt

from gateway.history import aggregates as agg
from gateway.history.codec import K_BOOL, K_FLOAT, K_INT, Columns, concat, decode_block, sort_rows
from gateway.history.model import (
    BAD_NO_DATA,
    CALCULATED,
    GOOD,
    PARTIAL,
    UNCERTAIN_DATA_SUB_NORMAL,
    Aggregate,
    HistoryValue,
)
from gateway.history.retention import kept_from

DAY_US = 86_400_000_000
_INT_COLS = ("start", "n_all", "n_good", "first_t", "last_t", "first_k", "last_k", "first_s", "last_s")
_FLOAT_COLS = ("sum", "min", "max", "first_v", "last_v")
_SERVED = {Aggregate.AVERAGE, Aggregate.MINIMUM, Aggregate.MAXIMUM, Aggregate.COUNT, Aggregate.START, Aggregate.END}
Stats = dict[str, npt.NDArray[np.int64] | npt.NDArray[np.float64]]


def stats(cols: Columns, starts: npt.NDArray[np.int64], interval_us: int) -> Stats:
    """Statistics of the non-empty intervals among ``starts`` (rows sorted by time, all within them)."""
    bucket = (cols.source_us - starts[0]) // interval_us
    present, first = np.unique(bucket, return_index=True)
    last = np.append(first[1:], len(bucket)) - 1
    good = ((cols.status & 0xC0000000) == 0) & np.isin(cols.kinds, (K_FLOAT, K_INT, K_BOOL))
    dense = np.searchsorted(present, bucket)
    n = len(present)
    gv = cols.numbers[good]
    gb = dense[good]
    mins = np.full(n, np.nan)
    maxs = np.full(n, np.nan)
    n_good = np.bincount(gb, minlength=n)
    if len(gv):
        firsts = np.searchsorted(gb, np.arange(n))
        has = n_good > 0
        mins[has] = np.minimum.reduceat(gv, firsts[has])
        maxs[has] = np.maximum.reduceat(gv, firsts[has])
    return {
        "start": starts[0] + present * interval_us,
        "n_all": np.bincount(dense, minlength=n),
        "n_good": n_good,
        "sum": np.bincount(gb, weights=gv, minlength=n),
        "min": mins,
        "max": maxs,
        "first_t": cols.source_us[first],
        "last_t": cols.source_us[last],
        "first_v": cols.numbers[first],
        "last_v": cols.numbers[last],
        "first_k": cols.kinds[first].astype(np.int64),
        "last_k": cols.kinds[last].astype(np.int64),
        "first_s": cols.status[first].astype(np.int64),
        "last_s": cols.status[last].astype(np.int64),
    }


def encode_stats(s: Stats) -> bytes:
    """Roll-up rows as bytes (column arrays, zlib'd)."""
    n = len(s["start"])
    raw = b"".join(s[c].astype(np.int64).tobytes() for c in _INT_COLS)
    raw += b"".join(s[c].astype(np.float64).tobytes() for c in _FLOAT_COLS)
    return json.dumps([n]).encode() + b"\n" + zlib.compress(raw, 6)


def decode_stats(data: bytes) -> Stats:
    """The roll-up rows ``encode_stats`` wrote."""
    head, _, body = data.partition(b"\n")
    (n,) = json.loads(head)
    raw = zlib.decompress(body)
    out: Stats = {}
    for i, c in enumerate(_INT_COLS):
        out[c] = np.frombuffer(raw, np.int64, n, 8 * n * i)
    base = 8 * n * len(_INT_COLS)
    for i, c in enumerate(_FLOAT_COLS):
        out[c] = np.frombuffer(raw, np.float64, n, base + 8 * n * i)
    return out


# How long after an interval ends its roll-up waits for late rows: far above the flush interval (1 s) and the
# source-to-gateway lag of polled devices, small beside raw retention (days), which answers reads meanwhile.
SETTLE_US = 120_000_000

RollupWrite = tuple[tuple[int, int, int, int, int, bytes] | None, tuple[int, int, int]]


def plan_roll_up(conn: sqlite3.Connection, pid: int, interval_us: int, now_us: int) -> RollupWrite | None:
    """The point's ended, not yet computed intervals of one level: (roll-up row or None, new watermark).

    Reads without a lock (blocks change only on the upkeep thread); the caller writes the result.
    """
    due = ((now_us - SETTLE_US) // interval_us) * interval_us
    found = conn.execute(
        "SELECT done_us FROM watermark WHERE point = ? AND interval_us = ?", (pid, interval_us)
    ).fetchone()
    if found is not None:
        done = int(found[0])
    else:
        first = conn.execute("SELECT min(t0) FROM block WHERE point = ?", (pid,)).fetchone()[0]
        if first is None:
            return None
        done = (int(first) // interval_us) * interval_us
    if done >= due:
        return None
    parts = [
        decode_block(data)
        for (data,) in conn.execute(
            "SELECT data FROM block WHERE point = ? AND t0 >= ? AND t0 < ? AND t1 >= ? ORDER BY t0",
            (pid, done - DAY_US, due, done),
        )
    ]
    row = None
    if parts:
        cols = sort_rows(concat(parts))
        keep = np.flatnonzero((cols.source_us >= done) & (cols.source_us < due))
        if len(keep):
            s = stats(cols.take(keep), np.array([done], np.int64), interval_us)
            row = (pid, interval_us, int(s["start"][0]), int(s["start"][-1]), len(s["start"]), encode_stats(s))
    return row, (pid, interval_us, due)


def write_roll_ups(conn: sqlite3.Connection, writes: list[RollupWrite]) -> None:
    """Store planned roll-ups and their watermarks in one transaction."""
    if not writes:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO rollup(point, interval_us, t0, t1, n, data) VALUES (?, ?, ?, ?, ?, ?)",
            [row for row, _ in writes if row is not None],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO watermark(point, interval_us, done_us) VALUES (?, ?, ?)", [w for _, w in writes]
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _value(v: float, kind: int) -> HistoryValue:
    if kind == K_FLOAT:
        return v
    if kind == K_INT:
        return int(v)
    if kind == K_BOOL:
        return bool(v)
    return None


def read_rollups(
    conn: sqlite3.Connection, pid: int, start_us: int, end_us: int, interval_us: int, aggregate: Aggregate
) -> list[agg.Result] | None:
    """Results from the coarsest fitting roll-up level, or None when none fits (the caller reads raw)."""
    if aggregate not in _SERVED:
        return None
    levels = conn.execute("SELECT interval_us, done_us FROM watermark WHERE point = ?", (pid,)).fetchall()
    fitting = [
        lvl
        for lvl, done in levels
        if interval_us % lvl == 0 and start_us % lvl == 0 and end_us % lvl == 0 and end_us <= done
    ]
    if not fitting:
        return None
    level = _level_covering(conn, pid, sorted(fitting, reverse=True), start_us)
    parts = [
        decode_stats(data)
        for (data,) in conn.execute(
            "SELECT data FROM rollup WHERE point = ? AND interval_us = ? AND t1 >= ? AND t0 < ? ORDER BY t0",
            (pid, level, start_us, end_us),
        )
    ]
    s = {c: np.concatenate([p[c] for p in parts]) for c in (*_INT_COLS, *_FLOAT_COLS)} if parts else None
    cut = kept_from(conn, pid, level)
    if s is not None and cut is not None:  # roll-up rows whose interval ended before the cut are gone
        visible = s["start"] + level > cut
        s = {c: v[visible] for c, v in s.items()}
    return combine(aggregate, s, start_us, end_us, interval_us)


def _combine_all(
    aggregate: Aggregate, s: Stats, starts: npt.NDArray[np.int64], end_us: int, interval_us: int
) -> list[agg.Result]:
    """Every interval's result at once (roll-up rows sorted by start, all within the range)."""
    n = len(starts)
    group = (s["start"] - starts[0]) // interval_us
    n_all = np.bincount(group, weights=s["n_all"], minlength=n).astype(np.int64)
    n_good = np.bincount(group, weights=s["n_good"], minlength=n).astype(np.int64)
    partial = n > 0 and int(starts[-1]) + interval_us > end_us
    if aggregate in (Aggregate.START, Aggregate.END):
        out = []
        firsts = np.searchsorted(group, np.arange(n), side="left")
        lasts = np.searchsorted(group, np.arange(n), side="right") - 1
        for i in range(n):
            sel = np.arange(firsts[i], lasts[i] + 1)
            out.append(_combine_one(aggregate, s, sel, int(starts[i]), int(starts[i]) + interval_us, interval_us))
    else:
        status = np.where(n_good == n_all, GOOD, UNCERTAIN_DATA_SUB_NORMAL) | CALCULATED
        if aggregate is Aggregate.COUNT:
            status[n_all == 0] = GOOD | CALCULATED
            out = list(zip(n_good.tolist(), status.tolist(), [None] * n, strict=True))
        else:
            if aggregate is Aggregate.AVERAGE:
                values = np.bincount(group, weights=s["sum"], minlength=n) / np.maximum(n_good, 1)
            else:
                col = s["min" if aggregate is Aggregate.MINIMUM else "max"]
                fill = np.inf if aggregate is Aggregate.MINIMUM else -np.inf
                values = np.full(n, fill)
                ufunc = np.minimum if aggregate is Aggregate.MINIMUM else np.maximum
                ufunc.at(values, group, np.where(np.isnan(col), fill, col))
            status[n_good == 0] = BAD_NO_DATA
            vals = [None if g == 0 else v for v, g in zip(values.tolist(), n_good.tolist(), strict=True)]
            out = list(zip(vals, status.tolist(), [None] * n, strict=True))
    if partial and out and not out[-1][1] & 0x80000000:
        v, st, at = out[-1]
        out[-1] = (v, st | PARTIAL, at)
    return out


def _level_covering(conn: sqlite3.Connection, pid: int, levels: list[int], start_us: int) -> int:
    """The coarsest level still holding rows from ``start_us`` on (coarser ones may have expired sooner)."""
    earliest: dict[int, int] = {}
    for lvl in levels:
        first = conn.execute("SELECT min(t0) FROM rollup WHERE point = ? AND interval_us = ?", (pid, lvl)).fetchone()[0]
        cut = kept_from(conn, pid, lvl)
        if first is not None and cut is not None:
            first = max(first, cut - cut % lvl)  # the first interval the cut left whole or in part
        if first is not None and first <= start_us:
            return lvl
        earliest[lvl] = first if first is not None else 2**63
    return min(levels, key=lambda lvl: (earliest[lvl], -lvl))


def _combine_one(
    aggregate: Aggregate, s: Stats | None, sel: npt.NDArray[np.intp], a: int, b: int, interval_us: int
) -> agg.Result:
    """One interval's result from the roll-up rows ``sel`` (Start and End; every aggregate of an empty range)."""
    flags = PARTIAL if b - a < interval_us else 0
    n_all = int(s["n_all"][sel].sum()) if s is not None else 0
    n_good = int(s["n_good"][sel].sum()) if s is not None else 0
    if aggregate is Aggregate.COUNT:
        status = GOOD if n_all in (0, n_good) else UNCERTAIN_DATA_SUB_NORMAL
        return (n_good, status | CALCULATED | flags, None)
    if s is None or not len(sel):
        return (None, BAD_NO_DATA, None)
    if aggregate not in (Aggregate.START, Aggregate.END):
        raise ValueError(f"{aggregate} is combined for all intervals at once")
    j = int(sel[0] if aggregate is Aggregate.START else sel[-1])
    p = "first" if aggregate is Aggregate.START else "last"
    raw_status = int(s[p + "_s"][j])
    status = raw_status if raw_status & 0x80000000 else raw_status | flags
    return (_value(float(s[p + "_v"][j]), int(s[p + "_k"][j])), status, int(s[p + "_t"][j]))


def combine(aggregate: Aggregate, s: Stats | None, start_us: int, end_us: int, interval_us: int) -> list[agg.Result]:
    """Every interval of ``[start_us, end_us)`` from roll-up rows ``s`` sorted by start (any backend's rows)."""
    starts = agg.interval_starts(start_us, end_us, interval_us)
    if s is None or not len(s["start"]):
        empty = np.zeros(0, np.intp)
        return [
            _combine_one(aggregate, None, empty, int(a), min(int(a) + interval_us, end_us), interval_us) for a in starts
        ]
    keep = (s["start"] >= start_us) & (s["start"] < end_us)
    return _combine_all(aggregate, {c: v[keep] for c, v in s.items()}, starts, end_us, interval_us)


def _combine(aggregate: Aggregate, s: Stats | None, a: int, b: int, interval_us: int) -> agg.Result:
    """One interval ``[a, b)`` (kept for callers of the first version; ``combine`` does all intervals at once)."""
    return combine(aggregate, s, a, b, max(interval_us, b - a))[0]
