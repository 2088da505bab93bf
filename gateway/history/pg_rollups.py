"""Upkeep of the PostgreSQL historian as data ages: roll-ups first, then retention.

Raw retention is per point. Whole partitions (TimescaleDB chunks) are dropped once every point's rows in them
have expired, i.e. when the partition ends before ``now - longest retention``; points with a shorter retention
lose their older rows by DELETE (through the (point_id, source_us) index, only the partitions before their
cutoff are touched). A point kept forever keeps every partition.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping

import psycopg
from psycopg import sql

from gateway.history import pg_schema
from gateway.history.model import Retention
from gateway.history.pg_schema import Layout
from gateway.history.pg_writer import PgWriter

log = logging.getLogger(__name__)


class Upkeep:
    """Roll-ups and retention for one gateway's history, run from the writer thread on its connection."""

    def __init__(self, writer: PgWriter) -> None:
        self._writer = writer
        self._retention: Mapping[str, Retention] = {}
        self._default = Retention()

    def configure(self, retention: Mapping[str, Retention], default: Retention) -> None:
        """Each point's policy; points not named (including ones only the database knows) get ``default``."""
        self._retention = dict(retention)
        self._default = default

    def policy(self, point: str) -> Retention:
        """The retention of a point."""
        return self._retention.get(point, self._default)

    def note_written(self, conn: psycopg.Connection, min_source_us: int) -> None:
        """Called inside each COPY's transaction with its oldest row's time (late rows dirty roll-ups)."""

    def run(self, now_us: int) -> None:
        """Compute due roll-ups, then drop expired rows; a lost connection is the writer's fault to handle."""
        conn = self._writer.connection()
        layout = self._writer.layout
        if conn is None or layout is None:
            return
        try:
            points: dict[str, int] = dict(
                conn.execute(sql.SQL("SELECT name, id FROM {}").format(layout.table("points"))).fetchall()
            )
            self._expire_raw(conn, layout, points, now_us)
            conn.execute(sql.SQL("DELETE FROM {} WHERE at < now() - interval '1 day'").format(layout.table("batches")))
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._writer.fault(exc)

    def _expire_raw(self, conn: psycopg.Connection, layout: Layout, points: dict[str, int], now_us: int) -> None:
        by_retention: dict[int | None, list[int]] = defaultdict(list)
        for name, pid in points.items():
            by_retention[self.policy(name).raw_us].append(pid)
        if not by_retention:
            return
        finite = [r for r in by_retention if r is not None]
        if None not in by_retention and finite:
            longest = max(finite)
            dropped = pg_schema.drop_partitions_before(conn, layout, "samples", layout.partition_us, now_us - longest)
            self._writer.forget_partitions(dropped)
        samples = layout.table("samples")
        for raw_us, ids in by_retention.items():
            if raw_us is None:
                continue
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE point_id = ANY(%s) AND source_us < %s").format(samples),
                [ids, now_us - raw_us],
            )
