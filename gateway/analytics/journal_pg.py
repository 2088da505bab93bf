"""The alarm journal in the PostgreSQL historian: ``<schema>.alarm_events`` in the gateway's own schema.

The schema is the one the history store uses (``twinbridge_history.gateways`` names it; ``tbh_<gateway>`` when the
history store has not registered yet). Only the journal's table is created here: the history store owns the
registry and its own tables. A lost connection is reopened on the next call; the writer retries its batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from psycopg import sql

from gateway.analytics.journal import Row, _where
from gateway.history.pg_connect import HistoryUnavailable, connect, describe_error, parse_target
from gateway.history.pg_schema import find_layout, schema_for

if TYPE_CHECKING:
    import psycopg

TABLE = "alarm_events"


class PostgresJournal:
    """Journal rows in PostgreSQL; one connection shared by the writer thread and readers, under a lock."""

    def __init__(self, target: str) -> None:
        self._target = parse_target(target)
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self.schema = ""
        with self._lock:
            self._connection()  # fail at start with a clear message when the historian cannot be reached

    def _connection(self) -> psycopg.Connection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        conn = connect(self._target, autocommit=True, application="twinbridge-alarms")
        try:
            layout = find_layout(conn, self._target.gateway)
            self.schema = layout.schema if layout else schema_for(self._target.gateway)
            table = sql.Identifier(self.schema, TABLE)
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{self.schema}.{TABLE}"])
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                        " time_us bigint NOT NULL, alarm_id text NOT NULL, transition text NOT NULL,"
                        " actor text, comment text, snapshot jsonb NOT NULL)"
                    ).format(table)
                )
                conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS alarm_events_time ON {} (time_us)").format(table))
                conn.execute(
                    sql.SQL("CREATE INDEX IF NOT EXISTS alarm_events_alarm ON {} (alarm_id, time_us)").format(table)
                )
        except Exception as exc:
            conn.close()
            raise HistoryUnavailable(f"cannot prepare the alarm journal: {describe_error(exc, self._target)}") from None
        self._conn = conn
        return conn

    def _run(self, fn: Callable[[psycopg.Connection], list[Row]]) -> list[Row]:
        """Run ``fn`` on the connection; a failure drops the connection (the next call reconnects)."""
        with self._lock:
            conn = self._connection()
            try:
                return fn(conn)
            except Exception as exc:
                conn.close()
                self._conn = None
                raise HistoryUnavailable(f"alarm journal: {describe_error(exc, self._target)}") from None

    def append(self, rows: Sequence[Row]) -> None:
        self._run(lambda conn: self._append(conn, rows))

    def _append(self, conn: psycopg.Connection, rows: Sequence[Row]) -> list[Row]:
        stmt = sql.SQL(
            "INSERT INTO {} (time_us, alarm_id, transition, actor, comment, snapshot) VALUES (%s, %s, %s, %s, %s, %s)"
        ).format(sql.Identifier(self.schema, TABLE))
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(stmt, rows)
        return []

    def read(self, start_us: int | None, end_us: int | None, alarm_ids: Sequence[str] | None, limit: int) -> list[Row]:
        return self._run(lambda conn: self._read(conn, start_us, end_us, alarm_ids, limit))

    def _read(
        self, conn: psycopg.Connection, start_us: int | None, end_us: int | None, ids: Sequence[str] | None, limit: int
    ) -> list[Row]:
        where, args = _where(start_us, end_us, ids, "%s")
        stmt = sql.SQL(
            "SELECT time_us, alarm_id, transition, actor, comment, snapshot::text FROM {}"
            + where
            + " ORDER BY time_us, seq LIMIT %s"
        ).format(sql.Identifier(self.schema, TABLE))
        return conn.execute(stmt, [*args, limit]).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
