"""The PostgreSQL historian's writer: a bounded buffer in front of COPY, surviving the database going away.

Everything here runs on the recorder's writer thread. ``append`` only queues; ``flush`` COPYs what is queued
(binary COPY, one transaction per chunk of about ``chunk_rows`` rows, sorted by point and time so the index
grows in order). When the database is unreachable the rows stay queued, up to ``buffer_limit`` rows; past that
the oldest are dropped and counted (``dropped_rows``), like Telegraf's output buffer. Reconnects wait a capped
doubling delay; a fault is logged once when it starts and once when it ends.

Each chunk's transaction also records a batch id: when the connection dies during COMMIT, the writer cannot
know whether the chunk landed, so after reconnecting it looks the id up and either forgets the chunk or
writes it again: nothing is lost and nothing is written twice.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from operator import itemgetter

import psycopg
from psycopg import sql

from gateway.history import pg_schema
from gateway.history.model import RowBatch
from gateway.history.pg_connect import Backoff, HistoryUnavailable, Target, connect, describe_error
from gateway.history.pg_schema import Layout
from gateway.history.pg_values import COPY_COLUMNS, COPY_TYPES, signed_status, value_columns

log = logging.getLogger(__name__)
_SORT_KEY = itemgetter(4, 0, 1)  # point_id, source_us, server_us


class PgWriter:
    """Queue rows, COPY them on ``flush``; owns the writer connection (also used for upkeep)."""

    def __init__(
        self,
        target: Target,
        *,
        partition_us: int = pg_schema.DAY_US,
        buffer_limit: int = 2_000_000,
        chunk_rows: int = 100_000,
        backoff: Backoff | None = None,
    ) -> None:
        self._target = target
        self._partition_us = partition_us
        self.buffer_limit = buffer_limit
        self.chunk_rows = chunk_rows
        self._backoff = backoff or Backoff()
        self._conn: psycopg.Connection | None = None
        self.layout: Layout | None = None
        self._ids: dict[str, int] = {}
        self._partitions: set[int] = set()
        self._queue: deque[RowBatch] = deque()
        self._inflight: tuple[uuid.UUID, list[RowBatch]] | None = None
        self.pending_rows = 0
        self.dropped_rows = 0
        self.written_rows = 0
        self._down_since: float | None = None
        self._drop_logged = False
        self._committing = False
        self.lock = threading.Lock()  # one conversation at a time on the connection: flush chunks, upkeep steps
        self._qlock = threading.Lock()  # the queue and its counters (append comes from another thread)
        # extra work inside each COPY's transaction, given each point's oldest row time (roll-ups' watermarks)
        self.on_commit: Callable[[psycopg.Connection, dict[int, int]], None] | None = None

    # -- queueing -----------------------------------------------------------------------------------------
    def append(self, batch: RowBatch) -> None:
        """Queue a batch; drop (and count) the oldest rows beyond ``buffer_limit``."""
        if not len(batch):
            return
        with self._qlock:
            self._queue.append(batch)
            self.pending_rows += len(batch)
            self._trim()

    def _trim(self) -> None:
        while self.pending_rows > self.buffer_limit and self._queue:
            oldest = self._queue[0]
            excess = self.pending_rows - self.buffer_limit
            if len(oldest) <= excess:
                self._queue.popleft()
                self._count_drop(len(oldest))
            else:
                self._queue[0] = _tail(oldest, len(oldest) - excess)
                self._count_drop(excess)

    def _count_drop(self, n: int) -> None:
        if not self._drop_logged:
            self._drop_logged = True
            log.warning("history buffer full (%d rows): dropping the oldest rows", self.buffer_limit)
        self.pending_rows -= n
        self.dropped_rows += n

    # -- connection ---------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether the writer holds a live connection."""
        return self._conn is not None and not self._conn.closed

    def connection(self) -> psycopg.Connection | None:
        """The writer's connection, (re)connecting when the backoff allows; None while the database is away."""
        if self.connected:
            return self._conn
        if not self._backoff.ready():
            return None
        try:
            conn = connect(self._target, autocommit=True, application="twinbridge-history-writer")
            self.layout = self.layout or pg_schema.bootstrap(conn, self._target.gateway, self._partition_us)
            self._partitions = pg_schema.existing_partitions(conn, self.layout)
            self._conn = conn
            self._resolve_inflight(conn)
        except (HistoryUnavailable, psycopg.Error) as exc:
            self._fault(exc)
            return None
        self._backoff.succeeded()
        if self._down_since is not None:
            log.warning(
                "history database %s reachable again after %.1f s (%d rows queued, %d dropped so far)",
                self._target.describe(),
                time.monotonic() - self._down_since,
                self.pending_rows,
                self.dropped_rows,
            )
            self._down_since = None
            self._drop_logged = False
        return self._conn

    def fault(self, exc: BaseException) -> None:
        """Note that the connection failed (also from upkeep): close it, back off, log once."""
        self._fault(exc)

    def _fault(self, exc: BaseException) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
        delay = self._backoff.failed()
        if self._down_since is None:
            self._down_since = time.monotonic()
            text = str(exc) if isinstance(exc, HistoryUnavailable) else describe_error(exc, self._target)
            log.warning(
                "history database %s unreachable: %s; queueing up to %d rows, retrying in %g s (backoff up to %g s)",
                self._target.describe(),
                text,
                self.buffer_limit,
                delay,
                self._backoff.cap_s,
            )

    def close(self) -> None:
        """Close the connection (queued rows not flushed are lost: call ``flush`` first)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- writing ------------------------------------------------------------------------------------------
    def flush(self) -> bool:
        """COPY every queued row; False when the database is away (the rows stay queued).

        Each chunk is written under ``lock``, which upkeep (another thread, same connection) also takes per step.
        """
        retries = 0
        while self._queue or self._inflight:
            with self.lock:
                conn = self.connection()
                if conn is None:
                    return False
                self._committing = False
                try:
                    self._write_next(conn)
                    retries = 0
                except psycopg.Error as exc:
                    if _connection_lost(exc, conn):
                        if not self._committing:
                            self._requeue_inflight()  # it did not land: keep it queued (droppable when full)
                        self._fault(exc)
                        return False
                    retries += 1
                    if retries <= 2 and _retryable(exc):
                        # a deadlock or a partition dropped by retention meanwhile: look again, write again
                        self._partitions = pg_schema.existing_partitions(conn, self.layout) if self.layout else set()
                        continue
                    retries = 0
                    self._refuse_inflight(exc)
        return True

    def _requeue_inflight(self) -> None:
        if self._inflight is not None:
            with self._qlock:
                self._queue.extendleft(reversed(self._inflight[1]))
                self._inflight = None
                self._trim()

    def _refuse_inflight(self, exc: psycopg.Error) -> None:
        """The database refused a chunk for its content or our rights: drop it (counted) rather than retry forever."""
        if self._inflight is None:
            raise exc
        count = sum(len(b) for b in self._inflight[1])
        self._inflight = None
        with self._qlock:
            self.pending_rows -= count
            self.dropped_rows += count
        log.error("history database refused %d rows, dropped: %s", count, describe_error(exc, self._target))

    def _write_next(self, conn: psycopg.Connection) -> None:
        if self._inflight is None and not self._queue:
            return  # connecting settled the in-flight chunk and nothing else is queued
        if self._inflight is None:
            chunk: list[RowBatch] = []
            rows = 0
            with self._qlock:
                while self._queue and (not chunk or rows + len(self._queue[0]) <= self.chunk_rows):
                    chunk.append(self._queue.popleft())
                    rows += len(chunk[-1])
            self._inflight = (uuid.uuid4(), chunk)
        batch_id, chunk = self._inflight
        count = self._copy(conn, batch_id, chunk)
        self._inflight = None
        with self._qlock:
            self.pending_rows -= count
            self.written_rows += count

    def _copy(self, conn: psycopg.Connection, batch_id: uuid.UUID, chunk: list[RowBatch]) -> int:
        assert self.layout is not None
        layout = self.layout
        ids = self._ids_for(conn, {p for b in chunk for p in b.points})
        width = layout.partition_us
        tuples = []
        for b in chunk:
            for point, src, srv, value, status in zip(
                b.points, b.source_us, b.server_us, b.values, b.status, strict=True
            ):
                v_float, v_int, v_bool, v_text = value_columns(value)
                tuples.append((src, srv, v_float, v_int, ids[point], signed_status(status), v_bool, v_text))
        tuples.sort(key=_SORT_KEY)
        starts = {pg_schema.partition_start(t[0], width) for t in tuples} - self._partitions
        pg_schema.create_partitions(conn, layout, "samples", width, starts)
        self._partitions |= starts
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            layout.table("samples"), sql.SQL(", ").join(map(sql.Identifier, COPY_COLUMNS))
        )
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(copy_sql) as copy:
                copy.set_types(list(COPY_TYPES))
                for t in tuples:
                    copy.write_row(t)
            cur.execute(sql.SQL("INSERT INTO {} (id) VALUES (%s)").format(layout.table("batches")), [batch_id])
            if self.on_commit is not None:
                mins: dict[int, int] = {}
                for t in tuples:  # sorted by point then time: a point's first tuple is its oldest
                    mins.setdefault(t[4], t[0])
                self.on_commit(conn, mins)
            self._committing = True  # from here a lost connection leaves the outcome unknown
        return len(tuples)

    def _ids_for(self, conn: psycopg.Connection, names: set[str]) -> dict[str, int]:
        assert self.layout is not None
        missing = sorted(names - self._ids.keys())
        if missing:
            points = self.layout.table("points")
            conn.execute(
                sql.SQL("INSERT INTO {} (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING").format(points),
                [missing],
            )
            found = conn.execute(sql.SQL("SELECT name, id FROM {} WHERE name = ANY(%s)").format(points), [missing])
            self._ids.update(dict(found.fetchall()))
        return self._ids

    def _resolve_inflight(self, conn: psycopg.Connection) -> None:
        """After a reconnect: forget the in-flight chunk if its COMMIT landed, else keep it to write again."""
        if self._inflight is None or self.layout is None:
            return
        batch_id, chunk = self._inflight
        landed = conn.execute(
            sql.SQL("SELECT 1 FROM {} WHERE id = %s").format(self.layout.table("batches")), [batch_id]
        ).fetchone()
        if landed:
            count = sum(len(b) for b in chunk)
            with self._qlock:
                self.pending_rows -= count
                self.written_rows += count
            self._inflight = None

    def forget_partitions(self, starts: list[int]) -> None:
        """Partitions retention dropped (so a late row for that range creates it again); under ``lock``."""
        self._partitions.difference_update(starts)


def _connection_lost(exc: psycopg.Error, conn: psycopg.Connection) -> bool:
    """Whether an error means the connection is gone (retry after a reconnect)."""
    return conn.closed or conn.broken or isinstance(exc, psycopg.InterfaceError)


def _retryable(exc: psycopg.Error) -> bool:
    """A transient refusal: a deadlock or serialization failure, or a row that found no partition."""
    return isinstance(
        exc, psycopg.errors.TransactionRollback | psycopg.errors.CheckViolation | psycopg.OperationalError
    )


def _tail(batch: RowBatch, keep: int) -> RowBatch:
    """The last ``keep`` rows of a batch."""
    out = RowBatch()
    cut = len(batch) - keep
    out.points = batch.points[cut:]
    out.source_us = batch.source_us[cut:]
    out.server_us = batch.server_us[cut:]
    out.values = batch.values[cut:]
    out.status = batch.status[cut:]
    return out
