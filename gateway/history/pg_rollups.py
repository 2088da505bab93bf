"""Upkeep of the PostgreSQL historian as data ages: roll-ups first, then retention.

Roll-ups are the statistics of gateway/history/rollups.py (rows, Good rows, sum, minimum and maximum of the Good
values, first and last row), computed by SQL from the raw rows once an interval has ended, one row per point,
level and interval in ``rollups``; reads combine them with the embedded store's own function, so both backends
answer alike. ``rollup_state.done_us`` says up to where a point's level is computed. A row written later into
an interval already rolled up lowers ``done_us`` to that interval in the same transaction as the COPY: until
the next upkeep computes those intervals again, reads of that range go to the raw rows (which hold the late
row), so roll-ups never answer with stale figures; they behave like a continuous aggregate refreshed as data
ages. Intervals whose raw rows retention has begun to delete (``points.raw_from_us``) are not computed again.

Raw retention is per point and never drops rows a roll-up level of the point has not covered yet. Whole
partitions (TimescaleDB chunks) are dropped once every point's rows in them have expired; points with a shorter
retention lose older rows by DELETE through the (point_id, source_us) index. A point kept forever keeps every
partition. Roll-up rows expire per point and level the same way.

Upkeep runs on its own thread (the recorder's) but talks over the writer's connection, one short step at a
time under the writer's lock: a flush waits for at most one step, and a late row and the roll-up of its interval
never cross.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping

import psycopg
from psycopg import sql

from gateway.history import pg_schema
from gateway.history.codec import K_BOOL, K_FLOAT, K_INT, K_NONE, K_OTHER
from gateway.history.model import Retention
from gateway.history.pg_schema import Layout
from gateway.history.pg_values import GOOD_SQL, NUMERIC_SQL
from gateway.history.pg_writer import PgWriter

log = logging.getLogger(__name__)
_STEP_US = 3_600_000_000  # raw time rolled up per step (one transaction under the writer's lock)
# the codec's value kinds (what rollups._value turns back into a value)
KIND_SQL = (
    f"CASE WHEN v_bool IS NOT NULL THEN {K_BOOL} WHEN v_int IS NOT NULL THEN {K_INT}"
    f" WHEN v_text IS NOT NULL THEN {K_OTHER} WHEN v_float IS NOT NULL THEN {K_FLOAT} ELSE {K_NONE} END"
)
# a Good row with a number counts in Average/Minimum/Maximum/Count (NaN is not a number: aggregates.Series)
_GOOD_NUMBER = f"({GOOD_SQL} AND {NUMERIC_SQL} IS NOT NULL AND {NUMERIC_SQL} <> 'NaN'::double precision)"
_ROLLUP_SQL = """
WITH r AS MATERIALIZED (
    SELECT point_id, source_us - mod(mod(source_us, {i}) + {i}, {i}) AS b, source_us, server_us, status,
           {x} AS x, {kind} AS k, {good} AS good
    FROM {samples} WHERE point_id = ANY(%(ids)s) AND source_us >= %(lo)s AND source_us < %(hi)s
), s AS (
    SELECT point_id, b, count(*) AS n_all, count(*) FILTER (WHERE good) AS n_good,
           COALESCE(sum(x ORDER BY source_us, server_us) FILTER (WHERE good), 0) AS sum,
           min(x) FILTER (WHERE good) AS min, max(x) FILTER (WHERE good) AS max
    FROM r GROUP BY point_id, b
), f AS (
    SELECT DISTINCT ON (point_id, b) point_id, b, source_us, x, k, status FROM r
    ORDER BY point_id, b, source_us, server_us
), l AS (
    SELECT DISTINCT ON (point_id, b) point_id, b, source_us, x, k, status FROM r
    ORDER BY point_id, b, source_us DESC, server_us DESC
)
INSERT INTO {rollups} (start_us, interval_us, first_t, last_t, sum, min, max, first_v, last_v, point_id,
                       n_all, n_good, first_s, last_s, first_k, last_k)
SELECT s.b, {i}, f.source_us, l.source_us, s.sum, s.min, s.max, f.x, l.x, s.point_id,
       s.n_all, s.n_good, f.status, l.status, f.k, l.k
FROM s JOIN f USING (point_id, b) JOIN l USING (point_id, b)
"""


class Upkeep:
    """Roll-ups and retention for one gateway's history, on the writer's connection."""

    def __init__(self, writer: PgWriter) -> None:
        self._writer = writer
        self._retention: Mapping[str, Retention] = {}
        self._default = Retention()
        self._rollup_partitions: set[int] | None = None

    def configure(self, retention: Mapping[str, Retention], default: Retention) -> None:
        """Each point's policy; points not named (including ones only the database knows) get ``default``."""
        self._retention = dict(retention)
        self._default = default

    def policy(self, point: str) -> Retention:
        """The retention of a point."""
        return self._retention.get(point, self._default)

    def note_written(self, conn: psycopg.Connection, mins: dict[int, int]) -> None:
        """Inside each COPY's transaction: a point's levels computed past its oldest new row go back to it."""
        layout = self._writer.layout
        if layout is None or not mins:
            return
        conn.execute(
            sql.SQL(
                "UPDATE {} r SET done_us = m.t - mod(mod(m.t, r.interval_us) + r.interval_us, r.interval_us)"
                " FROM unnest(%s::integer[], %s::bigint[]) AS m(pid, t) WHERE r.point_id = m.pid AND r.done_us > m.t"
            ).format(layout.table("rollup_state")),
            [list(mins), list(mins.values())],
        )

    def run(self, now_us: int) -> None:
        """Compute due roll-ups, then drop expired rows; a lost connection is handed to the writer."""
        try:
            with self._writer.lock:
                step = self._step()
                if step is None:
                    return
                conn, layout = step
                listed = conn.execute(sql.SQL("SELECT name, id FROM {}").format(layout.table("points")))
                policies = {pid: self.policy(name) for name, pid in listed.fetchall()}
            levels: dict[int, list[int]] = defaultdict(list)
            for pid, policy in policies.items():
                for level in policy.rollups:
                    levels[level.interval_us].append(pid)
            for interval_us, pids in sorted(levels.items()):
                while self._roll_step(interval_us, pids, now_us):
                    pass
            with self._writer.lock:
                step = self._step()
                if step is None:
                    return
                conn, layout = step
                self._expire_raw(conn, layout, policies, now_us)
                self._expire_rollups(conn, layout, policies, now_us)
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE at < now() - interval '1 day'").format(layout.table("batches"))
                )
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            with self._writer.lock:
                self._writer.fault(exc)

    def _step(self) -> tuple[psycopg.Connection, Layout] | None:
        conn = self._writer.connection()
        layout = self._writer.layout
        return None if conn is None or layout is None else (conn, layout)

    # -- roll-ups -----------------------------------------------------------------------------------------
    def _roll_step(self, interval_us: int, pids: list[int], now_us: int) -> bool:
        """Compute one chunk of one level for the points furthest behind; False when all are done (or offline).

        Each step reads the state afresh under the lock: a flush in between may have lowered a watermark.
        """
        due = (now_us // interval_us) * interval_us
        with self._writer.lock:
            step = self._step()
            if step is None:
                return False
            conn, layout = step
            starts = self._starts(conn, layout, interval_us, pids)
            behind = {pid: lo for pid, lo in starts.items() if lo < due}
            if not behind:
                return False
            lo = min(behind.values())
            hi = min(due, lo + max(interval_us, _STEP_US) // interval_us * interval_us)
            group = [pid for pid, start in behind.items() if start == lo]
            self._compute(conn, layout, interval_us, group, lo, hi)
            return True

    def _starts(self, conn: psycopg.Connection, layout: Layout, interval_us: int, pids: list[int]) -> dict[int, int]:
        """Where each point's level must be computed from: its watermark, at least where its raw rows are complete;
        points seen for the first time start at their first row."""
        rows = conn.execute(
            sql.SQL(
                "SELECT p.id, s.done_us, p.raw_from_us, (SELECT min(source_us) FROM {samples} WHERE point_id = p.id)"
                " FROM {points} p LEFT JOIN {state} s ON s.point_id = p.id AND s.interval_us = %s"
                " WHERE p.id = ANY(%s)"
            ).format(
                samples=layout.table("samples"), points=layout.table("points"), state=layout.table("rollup_state")
            ),
            [interval_us, pids],
        ).fetchall()
        out: dict[int, int] = {}
        for pid, done, raw_from, first in rows:
            if done is None and first is None:
                continue  # no rows yet
            start = done if done is not None else (first // interval_us) * interval_us
            if raw_from is not None:  # intervals retention has begun to thin cannot be computed again
                start = max(start, -(-raw_from // interval_us) * interval_us)
            out[pid] = start
        return out

    def _compute(
        self, conn: psycopg.Connection, layout: Layout, interval_us: int, pids: list[int], lo: int, hi: int
    ) -> None:
        """(Re)compute the intervals of ``[lo, hi)`` for the points and move their watermark to ``hi``."""
        self._ensure_rollup_partitions(conn, layout, lo, hi)
        rollups = layout.table("rollups")
        with conn.transaction():
            conn.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE point_id = ANY(%s) AND interval_us = %s AND start_us >= %s AND start_us < %s"
                ).format(rollups),
                [pids, interval_us, lo, hi],
            )
            query = sql.SQL(_ROLLUP_SQL).format(
                i=sql.Literal(interval_us),
                x=sql.SQL(NUMERIC_SQL),
                kind=sql.SQL(KIND_SQL),
                good=sql.SQL(_GOOD_NUMBER),
                samples=layout.table("samples"),
                rollups=rollups,
            )
            conn.execute(query, {"ids": pids, "lo": lo, "hi": hi})
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (point_id, interval_us, done_us) SELECT p, %s, %s FROM unnest(%s::integer[]) AS p"
                    " ON CONFLICT (point_id, interval_us) DO UPDATE SET done_us = EXCLUDED.done_us"
                ).format(layout.table("rollup_state")),
                [interval_us, hi, pids],
            )

    def _ensure_rollup_partitions(self, conn: psycopg.Connection, layout: Layout, lo: int, hi: int) -> None:
        if layout.timescale:
            return
        if self._rollup_partitions is None:
            self._rollup_partitions = pg_schema.existing_partitions(conn, layout, "rollups")
        width = layout.rollup_partition_us
        first, last = pg_schema.partition_start(lo, width), pg_schema.partition_start(hi - 1, width)
        starts = set(range(first, last + 1, width)) - self._rollup_partitions
        pg_schema.create_partitions(conn, layout, "rollups", width, starts)
        self._rollup_partitions |= starts

    # -- retention ----------------------------------------------------------------------------------------
    def _expire_raw(
        self, conn: psycopg.Connection, layout: Layout, policies: dict[int, Retention], now_us: int
    ) -> None:
        done = self._done_by_point(conn, layout)
        cuts: dict[int | None, list[int]] = defaultdict(list)
        for pid, policy in policies.items():
            if policy.raw_us is None:
                cuts[None].append(pid)
                continue
            cut = now_us - policy.raw_us
            for level in policy.rollups:  # never drop rows a roll-up still has to see
                cut = min(cut, done.get((pid, level.interval_us), cut))
            cuts[cut].append(pid)
        if not cuts:
            return
        if None not in cuts:
            oldest_cut = min(c for c in cuts if c is not None)
            width = layout.partition_us
            dropped = pg_schema.drop_partitions_before(conn, layout, "samples", width, oldest_cut)
            self._writer.forget_partitions(dropped)
        delete = sql.SQL("DELETE FROM {} WHERE point_id = ANY(%s) AND source_us < %s").format(layout.table("samples"))
        mark = sql.SQL(
            "UPDATE {} SET raw_from_us = %s WHERE id = ANY(%s) AND (raw_from_us IS NULL OR raw_from_us < %s)"
        ).format(layout.table("points"))
        for cut_us, group in cuts.items():
            if cut_us is not None:
                with conn.transaction():
                    conn.execute(delete, [group, cut_us])
                    conn.execute(mark, [cut_us, group, cut_us])

    def _expire_rollups(
        self, conn: psycopg.Connection, layout: Layout, policies: dict[int, Retention], now_us: int
    ) -> None:
        groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
        for pid, policy in policies.items():
            for level in policy.rollups:
                groups[(level.interval_us, level.retention_us)].append(pid)
        cuts = [None if kept is None else now_us - kept for _, kept in groups]
        for (interval_us, kept), pids in groups.items():
            if kept is not None:  # a roll-up row goes once its whole interval is older than the cut
                conn.execute(
                    sql.SQL(
                        "DELETE FROM {} WHERE point_id = ANY(%s) AND interval_us = %s AND start_us + %s <= %s"
                    ).format(layout.table("rollups")),
                    [pids, interval_us, interval_us, now_us - kept],
                )
        if cuts and None not in cuts:
            longest = max(level.interval_us for p in policies.values() for level in p.rollups)
            oldest = min(c for c in cuts if c is not None) - longest
            dropped = pg_schema.drop_partitions_before(conn, layout, "rollups", layout.rollup_partition_us, oldest)
            if self._rollup_partitions is not None:
                self._rollup_partitions.difference_update(dropped)

    def _done_by_point(self, conn: psycopg.Connection, layout: Layout) -> dict[tuple[int, int], int]:
        rows = conn.execute(
            sql.SQL("SELECT point_id, interval_us, done_us FROM {}").format(layout.table("rollup_state"))
        )
        return {(pid, i): done for pid, i, done in rows.fetchall()}
