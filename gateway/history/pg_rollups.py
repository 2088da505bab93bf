"""Upkeep of the PostgreSQL historian as data ages: roll-ups first, then retention (writer thread).

Roll-ups are the statistics of gateway/history/rollups.py (rows, Good rows, sum, minimum and maximum of the Good
values, first and last row), computed by SQL from the raw rows once an interval has ended, one row per point,
level and interval in ``rollups``; reads combine them with the embedded store's own function, so both backends
answer alike. Unlike a computed-once table, a row written later for an interval already rolled up marks the
point dirty (pg_writer's COPY transaction), and the next upkeep computes those intervals again while their raw
rows are still kept: the roll-ups behave like a continuous aggregate with a refresh window.

Raw retention is per point and never drops rows a roll-up level of the point has not covered yet. Whole
partitions (TimescaleDB chunks) are dropped once every point's rows in them have expired; points with a shorter
retention lose older rows by DELETE through the (point_id, source_us) index. A point kept forever keeps every
partition. Roll-up rows expire per point and level the same way.
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
_STEP_INTERVALS = 1440  # intervals computed per transaction (one day of 1-minute roll-ups)
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
        """Inside each COPY's transaction: points whose oldest new row falls in rolled-up intervals get dirty."""
        layout = self._writer.layout
        if layout is None or not mins:
            return
        conn.execute(
            sql.SQL(
                "UPDATE {} r SET dirty_us = LEAST(COALESCE(r.dirty_us, m.t), m.t)"
                " FROM unnest(%s::integer[], %s::bigint[]) AS m(pid, t) WHERE r.point_id = m.pid AND r.done_us > m.t"
            ).format(layout.table("rollup_state")),
            [list(mins), list(mins.values())],
        )

    def run(self, now_us: int) -> None:
        """Compute due roll-ups, then drop expired rows; a lost connection is handed to the writer."""
        conn = self._writer.connection()
        layout = self._writer.layout
        if conn is None or layout is None:
            return
        try:
            listed = conn.execute(sql.SQL("SELECT name, id FROM {}").format(layout.table("points")))
            policies = {pid: self.policy(name) for name, pid in listed.fetchall()}
            levels: dict[int, list[int]] = defaultdict(list)
            for pid, policy in policies.items():
                for level in policy.rollups:
                    levels[level.interval_us].append(pid)
            for interval_us, pids in sorted(levels.items()):
                self._roll_level(conn, layout, interval_us, pids, policies, now_us)
            self._expire_raw(conn, layout, policies, now_us)
            self._expire_rollups(conn, layout, policies, now_us)
            conn.execute(sql.SQL("DELETE FROM {} WHERE at < now() - interval '1 day'").format(layout.table("batches")))
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._writer.fault(exc)

    # -- roll-ups -----------------------------------------------------------------------------------------
    def _roll_level(
        self,
        conn: psycopg.Connection,
        layout: Layout,
        interval_us: int,
        pids: list[int],
        policies: dict[int, Retention],
        now_us: int,
    ) -> None:
        """Compute every ended interval of one level not computed yet (or dirtied by late rows)."""
        due = (now_us // interval_us) * interval_us
        state = {
            pid: (done, dirty)
            for pid, done, dirty in conn.execute(
                sql.SQL(
                    "SELECT point_id, done_us, dirty_us FROM {} WHERE interval_us = %s AND point_id = ANY(%s)"
                ).format(layout.table("rollup_state")),
                [interval_us, pids],
            )
        }
        firsts = self._first_times(conn, layout, [p for p in pids if p not in state])
        ranges: dict[int, list[int]] = defaultdict(list)
        for pid in pids:
            first = firsts.get(pid)
            if pid in state:
                done, dirty = state[pid]
            elif first is not None:
                done, dirty = (first // interval_us) * interval_us, None
            else:
                continue  # no rows yet
            lo = done
            if dirty is not None:
                redo_from = (dirty // interval_us) * interval_us
                raw_us = policies[pid].raw_us
                if raw_us is not None:  # intervals retention has begun to thin cannot be computed again
                    redo_from = max(redo_from, -(-(now_us - raw_us) // interval_us) * interval_us)
                lo = min(done, redo_from)
            if lo < due:
                ranges[lo].append(pid)
        step = interval_us * _STEP_INTERVALS
        for lo, group in ranges.items():
            for a in range(lo, due, step):
                self._compute(conn, layout, interval_us, group, a, min(a + step, due))
            self._mark_done(conn, layout, interval_us, group, due)

    def _first_times(self, conn: psycopg.Connection, layout: Layout, pids: list[int]) -> dict[int, int | None]:
        if not pids:
            return {}
        rows = conn.execute(
            sql.SQL(
                "SELECT p, (SELECT min(source_us) FROM {} WHERE point_id = p) FROM unnest(%s::integer[]) AS p"
            ).format(layout.table("samples")),
            [pids],
        )
        return dict(rows.fetchall())

    def _compute(
        self, conn: psycopg.Connection, layout: Layout, interval_us: int, pids: list[int], lo: int, hi: int
    ) -> None:
        """(Re)compute the intervals of ``[lo, hi)`` for the points, in one transaction."""
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

    def _mark_done(self, conn: psycopg.Connection, layout: Layout, interval_us: int, pids: list[int], due: int) -> None:
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (point_id, interval_us, done_us, dirty_us) SELECT p, %s, %s, NULL"
                " FROM unnest(%s::integer[]) AS p ON CONFLICT (point_id, interval_us)"
                " DO UPDATE SET done_us = GREATEST(EXCLUDED.done_us, {}.done_us), dirty_us = NULL"
            ).format(layout.table("rollup_state"), sql.Identifier("rollup_state")),
            [interval_us, due, pids],
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
        samples = layout.table("samples")
        for cut_us, group in cuts.items():
            if cut_us is not None:
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE point_id = ANY(%s) AND source_us < %s").format(samples),
                    [group, cut_us],
                )

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
