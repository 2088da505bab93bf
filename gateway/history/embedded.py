"""The embedded history store: one SQLite file in WAL mode holding a write buffer and columnar blocks.

Why this shape (figures in docs/history.md, ``python -m bench history``): every flush writes one *segment*
(that flush's rows, all points, as plain arrays) in one transaction, so a crash loses at most the rows not yet
flushed and never leaves half a write; upkeep (``apply_retention``) compacts segments into per-point *blocks*
sorted by time and bit-packed (gateway/history/codec.py, about 1-3 bytes per sample), at most one UTC day per
block, so one point's day is one small blob behind an index. WAL lets other processes (the SPARQL query worker)
read consistent snapshots while the gateway writes: each read runs in one read transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from gateway.history import aggregates as agg
from gateway.history.caches import BlockCache, SegmentCache
from gateway.history.codec import (
    K_BOOL,
    K_FLOAT,
    K_INT,
    K_NONE,
    K_OTHER,
    Columns,
    concat,
    decode_block,
    sort_rows,
)
from gateway.history.model import (
    Aggregate,
    Bucket,
    HistoryRow,
    Retention,
    RowBatch,
    StoreLocation,
)
from gateway.history.retention import kept_from

DAY_US = 86_400_000_000
FILE = "history.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS point(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS segment(id INTEGER PRIMARY KEY, t_min INTEGER NOT NULL, t_max INTEGER NOT NULL,
    n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS block(id INTEGER PRIMARY KEY, point INTEGER NOT NULL, t0 INTEGER NOT NULL,
    t1 INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS block_point_t0 ON block(point, t0);
CREATE TABLE IF NOT EXISTS rollup(id INTEGER PRIMARY KEY, point INTEGER NOT NULL, interval_us INTEGER NOT NULL,
    t0 INTEGER NOT NULL, t1 INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS rollup_point_t0 ON rollup(point, interval_us, t0);
CREATE TABLE IF NOT EXISTS watermark(point INTEGER NOT NULL, interval_us INTEGER NOT NULL,
    done_us INTEGER NOT NULL, PRIMARY KEY(point, interval_us)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kept(point INTEGER NOT NULL, interval_us INTEGER NOT NULL,
    from_us INTEGER NOT NULL, PRIMARY KEY(point, interval_us)) WITHOUT ROWID;
"""
_BOUND_PAD_US = 3_600_000_000  # how far around an interval Interpolative/TimeAverage look for bounds, at least


def connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, NORMAL sync (safe for process crashes)."""
    if read_only:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes on a new file: freed pages can be returned
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class EmbeddedReader:
    """Read-only access to an embedded store, from any thread or process."""

    def __init__(self, directory: str | Path, *, read_only: bool = True) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILE
        self._read_only = read_only
        self._local = threading.local()
        self._point_ids: dict[str, int] = {}
        self._segments = SegmentCache()
        self._blocks = BlockCache()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, read_only=True)
            self._local.conn = conn
        return conn

    def _begin(self, conn: sqlite3.Connection) -> bool:
        """Open a read transaction (one snapshot for the whole read); note whether any segment waits.

        False (no transaction left open) while the writer has not created the tables yet: nothing to read.
        """
        conn.execute("BEGIN")
        try:
            self._local.segments = conn.execute("SELECT EXISTS (SELECT 1 FROM segment)").fetchone()[0] == 1
        except sqlite3.OperationalError:
            conn.execute("ROLLBACK")
            return False
        return True

    def _pid(self, conn: sqlite3.Connection, point: str) -> int | None:
        pid = self._point_ids.get(point)
        if pid is None:
            row = conn.execute("SELECT id FROM point WHERE name = ?", (point,)).fetchone()
            if row is None:
                return None
            pid = self._point_ids[point] = int(row[0])
        return pid

    # -- reading rows -------------------------------------------------------------------------------------
    def _range(self, conn: sqlite3.Connection, pid: int, start_us: int, end_us: int) -> Columns:
        """Every row of a point with ``start_us <= source_us < end_us``, sorted (inside a read transaction)."""
        cut = kept_from(conn, pid)
        if cut is not None:  # rows before the retention cut are gone, even where their block is not yet
            start_us = max(start_us, cut)
            if end_us <= start_us:
                return _empty()
        parts: list[Columns] = []
        for key in conn.execute(
            "SELECT id, n, t0, t1 FROM block WHERE point = ? AND t0 >= ? AND t0 < ? AND t1 >= ? ORDER BY t0",
            (pid, start_us - DAY_US, end_us, start_us),
        ).fetchall():
            cols = self._blocks.get(key)
            if cols is None:
                cols = decode_block(conn.execute("SELECT data FROM block WHERE id = ?", (key[0],)).fetchone()[0])
                self._blocks.put(key, cols)
            parts.append(cols)
        if getattr(self._local, "segments", True):
            parts.extend(self._segment_rows(conn, pid, start_us, end_us))
        cols = sort_rows(concat(parts)) if parts else _empty()
        keep = (cols.source_us >= start_us) & (cols.source_us < end_us)
        return cols if keep.all() else cols.take(np.flatnonzero(keep))

    def _segment_rows(self, conn: sqlite3.Connection, pid: int, start_us: int, end_us: int) -> list[Columns]:
        out = []
        for (seg_id,) in conn.execute(
            "SELECT id FROM segment WHERE t_max >= ? AND t_min < ? ORDER BY id", (start_us, end_us)
        ).fetchall():
            data = None
            if seg_id not in self._segments:
                data = conn.execute("SELECT data FROM segment WHERE id = ?", (seg_id,)).fetchone()[0]
            rows = self._segments.rows(seg_id, data, pid)
            if len(rows):
                out.append(rows)
        return out

    def _latest_before(self, conn: sqlite3.Connection, pid: int, t_us: int) -> Columns:
        """The latest row of a point with ``source_us <= t_us`` (empty when none)."""
        row = conn.execute(
            "SELECT t0 FROM block WHERE point = ? AND t0 <= ? ORDER BY t0 DESC LIMIT 1", (pid, t_us)
        ).fetchone()
        seg_min = conn.execute("SELECT min(t_min) FROM segment WHERE t_min <= ?", (t_us,)).fetchone()[0]
        lows = [v for v in (row[0] if row else None, seg_min) if v is not None]
        if not lows:
            return _empty()
        # from the newest block starting at or before t (blocks overlapping it come along) and the segments
        cols = self._range(conn, pid, min(lows), t_us + 1)
        return cols.take(np.array([len(cols) - 1])) if len(cols) else cols

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
        """Rows of one point in ``[start_us, end_us)`` (see ``HistoryReader.read_raw``)."""
        if after is not None:
            start_us, end_us = (start_us, min(end_us, after[0] + 1)) if reverse else (max(start_us, after[0]), end_us)
        if limit <= 0 or end_us <= start_us:
            return []
        conn = self._conn()
        if not self._begin(conn):
            return []
        try:
            pid = self._pid(conn, point)
            cols = self._range(conn, pid, start_us, end_us) if pid is not None else _empty()
        finally:
            conn.execute("COMMIT")
        src, srv = cols.source_us, cols.server_us
        if after is not None:
            c0, c1 = after
            keep = ((src < c0) | ((src == c0) & (srv < c1))) if reverse else ((src > c0) | ((src == c0) & (srv > c1)))
            cols = cols.take(np.flatnonzero(keep))
        idx = np.arange(len(cols) - 1, -1, -1)[:limit] if reverse else np.arange(min(limit, len(cols)))
        return _rows(point, cols.take(idx))

    def read_at_time(self, point: str, times_us: Sequence[int]) -> list[HistoryRow | None]:
        """For each time, the latest row at or before it."""
        conn = self._conn()
        if not self._begin(conn):
            return [None for _ in times_us]
        try:
            pid = self._pid(conn, point)
            found = [self._latest_before(conn, pid, t) if pid is not None else _empty() for t in times_us]
        finally:
            conn.execute("COMMIT")
        return [_rows(point, c)[0] if len(c) else None for c in found]

    def read_processed(
        self, points: Sequence[str], start_us: int, end_us: int, interval_us: int, aggregate: Aggregate
    ) -> list[Bucket]:
        """Part 13 aggregates per interval (roll-ups when they fit, raw rows otherwise)."""
        from gateway.history.rollups import read_rollups

        out: list[Bucket] = []
        starts = agg.interval_starts(start_us, end_us, interval_us).tolist()
        conn = self._conn()
        if not self._begin(conn):  # no tables yet: every point reads as unknown
            empty = agg.compute(aggregate, series_of(_empty()), start_us, end_us, interval_us)
            return [Bucket(p, s, v, st, at) for p in points for s, (v, st, at) in zip(starts, empty, strict=True)]
        try:
            for point in points:
                pid = self._pid(conn, point)
                results = None
                if pid is not None:
                    results = read_rollups(conn, pid, start_us, end_us, interval_us, aggregate)
                if results is None:
                    series = self._series(conn, pid, start_us, end_us, interval_us, aggregate)
                    results = agg.compute(aggregate, series, start_us, end_us, interval_us)
                out.extend(Bucket(point, s, v, st, at) for s, (v, st, at) in zip(starts, results, strict=True))
        finally:
            conn.execute("COMMIT")
        return out

    def _series(
        self,
        conn: sqlite3.Connection,
        pid: int | None,
        start_us: int,
        end_us: int,
        interval_us: int,
        aggregate: Aggregate,
    ) -> agg.Series:
        if pid is None:
            return series_of(_empty())
        if aggregate not in (Aggregate.TIME_AVERAGE, Aggregate.INTERPOLATIVE):  # no bounds needed
            return series_of(self._range(conn, pid, start_us, end_us))
        pad = max(interval_us, _BOUND_PAD_US)
        cols = self._range(conn, pid, start_us - pad, end_us + pad)
        if not len(cols) or cols.source_us[0] >= start_us:
            before = self._latest_before(conn, pid, start_us - pad)
            cols = concat([before, cols]) if len(before) else cols
        return series_of(cols)

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def series_of(cols: Columns) -> agg.Series:
    """The aggregate functions' view of sorted rows."""
    numeric_rows = (cols.kinds == K_FLOAT) | (cols.kinds == K_INT) | (cols.kinds == K_BOOL)
    numbers = np.where(numeric_rows, cols.numbers, np.nan)
    numeric = not bool(np.any(cols.kinds == K_OTHER))
    return agg.Series(cols.source_us, numbers, cols.status, cols.kinds != K_NONE, cols.values, numeric)


def _empty() -> Columns:
    return Columns(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0), {}, np.zeros(0, np.uint32)
    )


def _rows(point: str, c: Columns) -> list[HistoryRow]:
    return [
        HistoryRow(point, s, v, val, st)
        for s, v, val, st in zip(c.source_us.tolist(), c.server_us.tolist(), c.values(), c.status.tolist(), strict=True)
    ]


class EmbeddedStore(EmbeddedReader):
    """The read-write store (one per directory; writes from one thread at a time)."""

    def __init__(
        self, directory: str | Path, *, compact_rows: int = 200_000, compact_age_us: int = 600_000_000
    ) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        super().__init__(directory, read_only=False)
        from gateway.history.writer import Writer

        self._writer = Writer(
            connect(self.path, read_only=False), connect(self.path, read_only=False), compact_rows, compact_age_us
        )

    def append(self, rows: Sequence[HistoryRow]) -> None:
        """Queue rows for the next flush."""
        self._writer.add(RowBatch.of(rows))

    def append_batch(self, batch: RowBatch) -> None:
        """Queue a columnar batch for the next flush."""
        self._writer.add(batch)

    def flush(self) -> None:
        """Write queued rows as one segment, in one transaction (durable against a process crash)."""
        self._writer.flush()

    def configure(self, retention: Mapping[str, Retention], default: Retention) -> None:
        """Each point's retention and roll-ups."""
        self._writer.retention = dict(retention)
        self._writer.default = default

    def apply_retention(self, now_us: int) -> None:
        """Compact what was flushed, compute due roll-ups, drop expired rows (may run beside ``flush``)."""
        self._writer.upkeep(now_us)

    def compact(self, now_us: int, *, force: bool = False) -> int:
        """Move segments into per-point blocks (all of them with ``force``); returns the rows moved."""
        self._writer.flush()
        return self._writer.compact(now_us, force=force)

    def location(self) -> StoreLocation:
        """Where other processes open a reader."""
        return StoreLocation("embedded", str(self.directory))

    def close(self) -> None:
        """Flush and close."""
        self._writer.close()
        super().close()


def open_store(target: str) -> EmbeddedStore:
    """The read-write store in directory ``target`` (created when missing)."""
    return EmbeddedStore(target)


def open_reader(target: str) -> EmbeddedReader:
    """A read-only reader on the store in directory ``target`` (another process may be writing it)."""
    return EmbeddedReader(target)
