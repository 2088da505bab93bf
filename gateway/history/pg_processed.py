"""Processed (Part 13) reads of the PostgreSQL historian, with the embedded store's own aggregate functions.

Roll-ups answer Average, Minimum, Maximum, Count, Start and End when the request fits a roll-up level (interval
a multiple of it, start and end aligned to it, the level computed up to the end), exactly as the embedded store
decides: the SQL-computed statistics go through the same ``rollups`` combination. Otherwise the raw rows the
request needs are read (those in the range plus, for the bounds Interpolative and TimeAverage interpolate
from, the rows back to the last usable one at or before the start and on to the first usable one at or after the
end) and handed to ``aggregates.compute``, the reference implementation itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from psycopg import Connection, sql

from gateway.history import aggregates as agg
from gateway.history import rollups
from gateway.history.codec import K_BOOL, K_FLOAT, K_INT, K_OTHER
from gateway.history.model import Aggregate, Bucket
from gateway.history.pg_schema import Layout
from gateway.history.pg_values import READ_COLUMNS, unsigned_status, value_of

_USABLE = "status >= 0 AND (v_float IS NOT NULL OR v_int IS NOT NULL OR v_bool IS NOT NULL OR v_text IS NOT NULL)"
# each point's rows from the last usable one at or before the start to the first usable one at or after the end
_SERIES_SQL = f"""
SELECT q.pid, s.* FROM unnest(%(ids)s::integer[]) AS q(pid) CROSS JOIN LATERAL (
  SELECT {READ_COLUMNS} FROM {{t}} WHERE point_id = q.pid
    AND source_us >= COALESCE((SELECT source_us FROM {{t}} WHERE point_id = q.pid AND source_us <= %(s)s AND {_USABLE}
                               ORDER BY source_us DESC LIMIT 1), %(s)s)
    AND source_us <= COALESCE((SELECT source_us FROM {{t}} WHERE point_id = q.pid AND source_us >= %(e)s AND {_USABLE}
                               ORDER BY source_us LIMIT 1), %(e)s)
  ORDER BY source_us, server_us) AS s
"""
_STATS_COLUMNS = (
    "start_us, n_all, n_good, first_t, last_t, first_k, last_k, first_s, last_s, sum, min, max, first_v, last_v"
)


def read_processed(
    conn: Connection,
    layout: Layout | None,
    ids: dict[str, int],
    points: Sequence[str],
    start_us: int,
    end_us: int,
    interval_us: int,
    aggregate: Aggregate,
) -> list[Bucket]:
    """One bucket per point per interval (see ``HistoryReader.read_processed``); a few queries for all points."""
    starts = agg.interval_starts(start_us, end_us, interval_us).tolist()
    pids = list(dict.fromkeys(ids[p] for p in points if p in ids))
    answered: dict[int, list[agg.Result]] = {}
    if layout is not None and pids and aggregate in rollups._SERVED:
        answered = _from_rollups(conn, layout, pids, start_us, end_us, interval_us, aggregate)
    series = _series(conn, layout, [p for p in pids if p not in answered], start_us, end_us)
    out: list[Bucket] = []
    for point in points:
        pid = ids.get(point)
        results = answered.get(pid) if pid is not None else None
        if results is None:
            s = series.get(pid) if pid is not None else None
            results = agg.compute(aggregate, s or series_of([]), start_us, end_us, interval_us)
        out.extend(Bucket(point, a, v, st, at) for a, (v, st, at) in zip(starts, results, strict=True))
    return out


def _from_rollups(
    conn: Connection,
    layout: Layout,
    pids: list[int],
    start_us: int,
    end_us: int,
    interval_us: int,
    aggregate: Aggregate,
) -> dict[int, list[agg.Result]]:
    """Results from each point's fitting roll-up level (points no level fits are left out): the coarsest one
    still holding rows from ``start_us`` on (a coarser level may be kept for less long), as the embedded store
    chooses (rollups._level_covering)."""
    # each fitting (point, level) with the start of its oldest roll-up row still kept
    fitting = conn.execute(
        sql.SQL(
            "SELECT s.point_id, s.interval_us, (SELECT r.start_us FROM {r} r WHERE r.point_id = s.point_id"
            " AND r.interval_us = s.interval_us ORDER BY r.start_us LIMIT 1) FROM {s} s"
            " WHERE s.point_id = ANY(%(ids)s) AND mod(%(i)s, s.interval_us) = 0 AND mod(%(a)s, s.interval_us) = 0"
            " AND mod(%(b)s, s.interval_us) = 0 AND s.done_us >= %(b)s"
        ).format(r=layout.table("rollups"), s=layout.table("rollup_state")),
        {"ids": pids, "i": interval_us, "a": start_us, "b": end_us},
    ).fetchall()
    choices: dict[int, list[tuple[int, int]]] = {}
    for pid, level, first in fitting:
        choices.setdefault(pid, []).append((level, 2**63 if first is None else first))
    by_level: dict[int, list[int]] = {}
    for pid, levels in choices.items():
        covering = [level for level, first in levels if first <= start_us]
        level = max(covering) if covering else min(levels, key=lambda lf: (lf[1], -lf[0]))[0]
        by_level.setdefault(level, []).append(pid)
    starts = agg.interval_starts(start_us, end_us, interval_us)
    out: dict[int, list[agg.Result]] = {}
    for level, group in by_level.items():
        recs: dict[int, list[tuple[Any, ...]]] = {pid: [] for pid in group}
        for rec in conn.execute(
            sql.SQL(
                "SELECT point_id, {} FROM {} WHERE point_id = ANY(%s) AND interval_us = %s"
                " AND start_us >= %s AND start_us < %s ORDER BY point_id, start_us"
            ).format(sql.SQL(_STATS_COLUMNS), layout.table("rollups")),
            [group, level, start_us, end_us],
            binary=True,
        ).fetchall():
            recs[rec[0]].append(rec[1:])
        for pid, rows in recs.items():
            stats = _stats_of(rows) if rows else None
            out[pid] = [
                rollups._combine(aggregate, stats, int(a), min(int(a) + interval_us, end_us), interval_us)
                for a in starts
            ]
    return out


def _stats_of(recs: list[tuple[Any, ...]]) -> rollups.Stats:
    """Roll-up rows as the column arrays ``rollups._combine`` takes (statuses unsigned, missing numbers NaN)."""
    cols = list(zip(*recs, strict=True))
    ints = ("start", "n_all", "n_good", "first_t", "last_t", "first_k", "last_k")
    out: rollups.Stats = {name: np.array(cols[i], np.int64) for i, name in enumerate(ints)}
    out["first_s"] = np.array([unsigned_status(s) for s in cols[7]], np.int64)
    out["last_s"] = np.array([unsigned_status(s) for s in cols[8]], np.int64)
    for i, name in enumerate(("sum", "min", "max", "first_v", "last_v"), start=9):
        out[name] = np.array([math.nan if v is None else v for v in cols[i]], np.float64)
    return out


def _series(
    conn: Connection, layout: Layout | None, pids: list[int], start_us: int, end_us: int
) -> dict[int, agg.Series]:
    """Each point's rows that ``aggregates.compute`` looks at, as a Series (one query for all points)."""
    if layout is None or not pids:
        return {}
    recs: dict[int, list[tuple[Any, ...]]] = {pid: [] for pid in pids}
    query = sql.SQL(_SERIES_SQL).format(t=layout.table("samples"))
    for rec in conn.execute(query, {"ids": pids, "s": start_us, "e": end_us}, binary=True).fetchall():
        recs[rec[0]].append(rec[1:])
    return {pid: series_of(rows) for pid, rows in recs.items()}


def series_of(recs: list[tuple[Any, ...]]) -> agg.Series:
    """Rows selected with ``READ_COLUMNS`` as the aggregate functions' view (as embedded.series_of builds it)."""
    n = len(recs)
    t = np.fromiter((r[0] for r in recs), np.int64, n)
    status = np.fromiter((unsigned_status(r[2]) for r in recs), np.uint32, n)
    raw = [value_of(*r[3:7]) for r in recs]
    kinds = [_kind(r) for r in recs]
    numbers = np.fromiter(
        (float(v) if k in (K_FLOAT, K_INT, K_BOOL) else math.nan for v, k in zip(raw, kinds, strict=True)),  # type: ignore[arg-type]
        np.float64,
        n,
    )
    return agg.Series.of(t, numbers, status, raw, K_OTHER not in kinds)


def _kind(rec: tuple[Any, ...]) -> int:
    _, _, _, v_float, v_int, v_bool, v_text = rec
    if v_bool is not None:
        return K_BOOL
    if v_int is not None:
        return K_INT
    if v_text is not None:
        return K_OTHER
    return K_FLOAT if v_float is not None else 0
