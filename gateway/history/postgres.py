"""The PostgreSQL history backend: the same ``HistoryStore`` as the embedded one, for a shared historian.

``open_store(target)`` gives the recorder's read-write store, ``open_reader(target)`` a read-only one (another
process may hold it while the writer runs). A target is the database URL, with ``?gateway=<id>`` naming whose
history it is (pg_connect.py); the URL is a secret and never reaches a log or an error message.

Writes are queued and COPYed by ``flush`` (pg_writer.py); reads run on a small pool of autocommit
connections, each query a snapshot of what earlier flushes committed. The schema (pg_schema.py) is the same on
plain PostgreSQL (range partitions) and on TimescaleDB (hypertables). Roll-ups and retention: pg_rollups.py;
processed reads: pg_processed.py.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

try:
    import psycopg
    from psycopg import sql
except ImportError as exc:  # an optional dependency: say how to get it
    raise ImportError(
        "the PostgreSQL history backend needs psycopg: pip install 'twinbridge[postgresql]'", name=exc.name
    ) from exc

from gateway.history import pg_schema
from gateway.history.model import (
    Aggregate,
    Bucket,
    HistoryRow,
    Retention,
    RowBatch,
    StoreLocation,
)
from gateway.history.pg_connect import Backoff, HistoryUnavailable, Target, connect, describe_error, parse_target
from gateway.history.pg_schema import Layout
from gateway.history.pg_values import READ_COLUMNS, row_of
from gateway.history.pg_writer import PgWriter

T = TypeVar("T")
BACKEND = "postgresql"


class _Pool:
    """A few autocommit connections shared by reader threads; a broken one is discarded, not returned."""

    def __init__(self, target: Target, size: int) -> None:
        self._target = target
        self._size = size
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = connect(self._target, autocommit=True, application="twinbridge-history-reader")
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class PostgresHistoryReader:
    """Reads one gateway's history; unknown points (and a history not created yet) read as empty."""

    def __init__(self, target: str | Target, *, pool_size: int = 4) -> None:
        self._target = target if isinstance(target, Target) else parse_target(target)
        self._pool = _Pool(self._target, pool_size)
        self._layout: Layout | None = None
        self._ids: dict[str, int] = {}
        self._ids_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(gateway={self._target.gateway!r}, at={self._target.describe()!r})"

    @property
    def gateway(self) -> str:
        """The gateway whose history this is."""
        return self._target.gateway

    # -- plumbing -----------------------------------------------------------------------------------------
    def _run(self, work: Callable[[psycopg.Connection], T]) -> T:
        """Run ``work`` on a pooled connection; a connection broken by a server restart is replaced once."""
        for attempt in (1, 2):
            try:
                with self._pool.connection() as conn:
                    return work(conn)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if attempt == 2:
                    raise HistoryUnavailable(f"history database: {describe_error(exc, self._target)}") from None
            except psycopg.Error as exc:
                raise HistoryUnavailable(f"history database: {describe_error(exc, self._target)}") from None
        raise AssertionError("unreachable")

    def _layout_of(self, conn: psycopg.Connection) -> Layout | None:
        if self._layout is None:
            self._layout = pg_schema.find_layout(conn, self._target.gateway)
        return self._layout

    def _point_ids(self, conn: psycopg.Connection, names: Sequence[str]) -> dict[str, int]:
        """Ids of the named points that have history (others are absent from the result)."""
        layout = self._layout_of(conn)
        if layout is None:
            return {}
        with self._ids_lock:
            missing = [n for n in names if n not in self._ids]
        if missing:
            found = conn.execute(
                sql.SQL("SELECT name, id FROM {} WHERE name = ANY(%s)").format(layout.table("points")), [missing]
            ).fetchall()
            with self._ids_lock:
                self._ids.update(dict(found))
        with self._ids_lock:
            return {n: self._ids[n] for n in names if n in self._ids}

    # -- HistoryReader ------------------------------------------------------------------------------------
    def read_raw(
        self,
        point: str,
        start_us: int,
        end_us: int,
        *,
        limit: int,
        reverse: bool = False,
        after: tuple[int, int] | None = None,
    ) -> list[HistoryRow]:
        """Rows with ``start_us <= source_us < end_us`` in (source_us, server_us) order, from ``after`` on."""
        if limit <= 0 or end_us <= start_us:
            return []

        def work(conn: psycopg.Connection) -> list[HistoryRow]:
            pid = self._point_ids(conn, [point]).get(point)
            if pid is None or self._layout is None:
                return []
            direction = sql.SQL("DESC" if reverse else "ASC")
            lo, hi = start_us, end_us
            cursor = sql.SQL("")
            params: list[int] = [pid]
            if after is not None:
                # the plain bound lets the planner use the (point_id, source_us) index; the row comparison is exact
                if reverse:
                    hi = min(hi, after[0] + 1)
                    cursor = sql.SQL(" AND (source_us, server_us) < (%s, %s)")
                else:
                    lo = max(lo, after[0])
                    cursor = sql.SQL(" AND (source_us, server_us) > (%s, %s)")
            query = sql.SQL(
                "SELECT {cols} FROM {t} WHERE point_id = %s AND source_us >= %s AND source_us < %s{cursor}"
                " ORDER BY source_us {d}, server_us {d} LIMIT %s"
            ).format(cols=sql.SQL(READ_COLUMNS), t=self._layout.table("samples"), cursor=cursor, d=direction)
            params += [lo, hi, *(after or ()), limit]
            return [row_of(point, rec) for rec in conn.execute(query, params)]

        return self._run(work)

    def read_at_time(self, point: str, times_us: Sequence[int]) -> list[HistoryRow | None]:
        """For each time, the latest row with ``source_us <= t`` (any status), or None."""
        if not times_us:
            return []

        def work(conn: psycopg.Connection) -> list[HistoryRow | None]:
            pid = self._point_ids(conn, [point]).get(point)
            if pid is None or self._layout is None:
                return [None] * len(times_us)
            query = sql.SQL(
                "SELECT s.* FROM unnest(%s::bigint[]) WITH ORDINALITY AS q(t, i) LEFT JOIN LATERAL"
                " (SELECT {cols} FROM {t} WHERE point_id = %s AND source_us <= q.t"
                "  ORDER BY source_us DESC, server_us DESC LIMIT 1) s ON true ORDER BY q.i"
            ).format(cols=sql.SQL(READ_COLUMNS), t=self._layout.table("samples"))
            recs = conn.execute(query, [list(times_us), pid]).fetchall()
            return [None if rec[0] is None else row_of(point, rec) for rec in recs]

        return self._run(work)

    def read_processed(
        self, points: Sequence[str], start_us: int, end_us: int, interval_us: int, aggregate: Aggregate
    ) -> list[Bucket]:
        """Part 13 aggregates per interval (pg_processed.py)."""
        from gateway.history.pg_processed import read_processed

        def work(conn: psycopg.Connection) -> list[Bucket]:
            ids = self._point_ids(conn, list(points))
            return read_processed(conn, self._layout, ids, list(points), start_us, end_us, interval_us, aggregate)

        return self._run(work)

    def close(self) -> None:
        """Close the reader's connections; idempotent."""
        self._pool.close()


class PostgresHistoryStore(PostgresHistoryReader):
    """The recorder's store: queue + COPY on flush, roll-ups and retention on upkeep, reads as the reader."""

    def __init__(
        self,
        target: str | Target,
        *,
        partition_us: int = pg_schema.DAY_US,
        buffer_limit: int = 2_000_000,
        backoff: Backoff | None = None,
        pool_size: int = 4,
    ) -> None:
        super().__init__(target, pool_size=pool_size)
        self.writer = PgWriter(self._target, partition_us=partition_us, buffer_limit=buffer_limit, backoff=backoff)
        self._retention: Mapping[str, Retention] = {}
        self._default = Retention()
        self._closed = False
        from gateway.history.pg_rollups import Upkeep

        self._upkeep = Upkeep(self.writer)
        self.writer.on_commit = self._upkeep.note_written
        # make the schema now when the database is there (a reader may come before the first flush)
        self.writer.connection()

    # -- HistoryStore -------------------------------------------------------------------------------------
    def append(self, rows: Sequence[HistoryRow]) -> None:
        """Queue rows for the next flush."""
        self.writer.append(RowBatch.of(rows))

    def append_batch(self, batch: RowBatch) -> None:
        """Queue a columnar batch for the next flush."""
        self.writer.append(batch)

    def flush(self) -> None:
        """COPY what is queued; while the database is away the rows stay queued (bounded) and this returns."""
        self.writer.flush()

    def configure(self, retention: Mapping[str, Retention], default: Retention) -> None:
        """Each point's retention and roll-ups; others get ``default``."""
        self._upkeep.configure(retention, default)

    def apply_retention(self, now_us: int) -> None:
        """Compute due roll-ups, then drop expired raw and roll-up rows (writer thread)."""
        self.writer.flush()
        self._upkeep.run(now_us)

    def location(self) -> StoreLocation:
        """The target, for readers in other processes (a secret: ``StoreLocation`` hides it in its repr)."""
        from gateway.history.pg_connect import target_for

        return StoreLocation(BACKEND, target_for(self._target.url, self._target.gateway))

    @property
    def pending_rows(self) -> int:
        """Rows queued and not yet committed."""
        return self.writer.pending_rows

    @property
    def dropped_rows(self) -> int:
        """Rows dropped because the queue was full (or refused by the database)."""
        return self.writer.dropped_rows

    def close(self) -> None:
        """Flush (when the database is there) and close; idempotent."""
        if self._closed:
            return
        self._closed = True
        self.writer.flush()
        self.writer.close()
        super().close()


def open_store(target: str) -> PostgresHistoryStore:
    """The recorder's read-write store on the historian ``target`` names."""
    return PostgresHistoryStore(target)


def open_reader(target: str) -> PostgresHistoryReader:
    """A read-only reader of the history ``target`` names (safe in another process)."""
    return PostgresHistoryReader(target)
