"""The on-disk store-and-forward buffer of one (broker, channel): an ordered FIFO of point states in SQLite.

SQLite in WAL mode with ``synchronous=NORMAL``: an append is one transaction, so a process killed at any moment
(kill -9) leaves the file consistent, and the buffer survives a restart. Rows are numbered in append order
(``seq``, never reused, even once the buffer was emptied: a reader's "after row n" stays true); the forwarder
reads them in order, and deletes a range only once the broker acknowledged it, so a
value is never dropped between "read" and "delivered". The file is locked exclusively: two gateways sharing a
buffer folder would each replay the other's values.

Bounded twice, the oldest values dropped first and counted: ``max_bytes`` on the stored size of the values
(point id, status and reason texts, value; SQLite's own page overhead comes on top) and ``max_age`` on the
gateway time of each value (the twin's clock, not the device's). Timestamps are kept to the microsecond and come
back as UTC datetimes (the same instants).

Used from one thread at a time (the forwarder's I/O thread); ``count``, ``bytes`` and the drop counters are
plain ints that any thread may read.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.contract.sample import PointState, Quality

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
ROW_OVERHEAD = 64  # bytes counted per value on top of its texts: seq, timestamps, quality, SQLite's row header
INT64 = (-(2**63), 2**63 - 1)

# value kinds: SQLite stores bools as integers, so the kind keeps True apart from 1 (and 1.0 stays a float)
NONE, BOOL, INT, FLOAT, TEXT, BIG_INT = range(6)

SCHEMA = """
CREATE TABLE IF NOT EXISTS states (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    size INTEGER NOT NULL,
    point TEXT NOT NULL,
    kind INTEGER NOT NULL,
    value,
    source_us INTEGER,
    gateway_us INTEGER,
    quality INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    quality_us INTEGER
)
"""
COLUMNS = "point, kind, value, source_us, gateway_us, quality, status, reason, quality_us"


class BufferLocked(RuntimeError):
    """Another process holds the buffer file."""


def _us(ts: datetime | None) -> int | None:
    if ts is None:
        return None
    d = ts - EPOCH  # exact: no float rounding of the microseconds
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def _ts(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + us * ONE_US


def _encode(s: PointState, now: float) -> tuple[Any, ...]:
    v = s.value
    stored: int | float | str | None
    if v is None:
        kind, stored, vsize = NONE, None, 0
    elif isinstance(v, bool):
        kind, stored, vsize = BOOL, int(v), 8
    elif isinstance(v, int):
        small = INT64[0] <= v <= INT64[1]
        kind, stored, vsize = (INT, v, 8) if small else (BIG_INT, str(v), len(str(v)))
    elif isinstance(v, float):
        kind, stored, vsize = FLOAT, v, 8
    else:
        text = str(v)
        kind, stored, vsize = TEXT, text, len(text)
    reason = s.reason
    size = ROW_OVERHEAD + len(s.point) + len(s.status) + (len(reason) if reason else 0) + vsize
    gw = s.gateway_ts
    at = gw.timestamp() if gw is not None else now
    return (
        at,
        size,
        s.point,
        kind,
        stored,
        _us(s.source_ts),
        _us(gw),
        int(s.quality),
        s.status,
        reason,
        _us(s.quality_ts),
    )


def _decode(row: Sequence[Any]) -> PointState:
    point, kind, stored, source_us, gateway_us, quality, status, reason, quality_us = row
    if kind == BOOL:
        value: Any = bool(stored)
    elif kind == BIG_INT:
        value = int(stored)
    elif kind == FLOAT:
        value = float(stored)
    else:
        value = stored
    return PointState(point, value, _ts(source_us), _ts(gateway_us), Quality(quality), status, reason, _ts(quality_us))


class StateBuffer:
    """An ordered, bounded, persistent FIFO of point states."""

    def __init__(
        self, path: str | Path, *, max_bytes: int, max_age: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._clock = clock
        self.dropped_full = 0  # oldest values dropped to stay under max_bytes
        self.dropped_age = 0  # values older than max_age dropped
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # no waiting for a lock: the only other holder would be another gateway, which is an error
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=0.1)
        try:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(SCHEMA)
            count, size = db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM states").fetchone()
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc):
                raise BufferLocked(f"the buffer {self.path} is in use by another process") from None
            raise
        self._db = db
        self.count: int = count
        self.bytes: int = size
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'states'").fetchone()
        self.last_seq: int = row[0] if row else 0

    # -- writing --------------------------------------------------------------------------------------
    def append(self, states: Sequence[PointState]) -> int:
        """Add states at the end, in one transaction; the oldest values are dropped (and counted) when the
        buffer goes over ``max_bytes``. Returns how many were dropped."""
        if not states:
            return 0
        now = self._clock()
        rows = [_encode(s, now) for s in states]
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany(f"INSERT INTO states (at, size, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
            added = sum(r[1] for r in rows)
            dropped = self._trim(self.bytes + added - self.max_bytes) if self.bytes + added > self.max_bytes else None
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.last_seq = last
        self.count += len(rows)
        self.bytes += added
        if dropped is None:
            return 0
        n, freed = dropped
        self.count -= n
        self.bytes -= freed
        self.dropped_full += n
        return n

    def _trim(self, excess: int) -> tuple[int, int]:
        """Delete the oldest rows until ``excess`` bytes are freed (inside the caller's transaction)."""
        n = freed = 0
        db = self._db
        while freed < excess:
            rows = db.execute("SELECT seq, size FROM states ORDER BY seq LIMIT 1000").fetchall()
            if not rows:
                break
            last = rows[-1][0]
            for seq, size in rows:
                freed += size
                n += 1
                if freed >= excess:
                    last = seq
                    break
            db.execute("DELETE FROM states WHERE seq <= ?", (last,))
        return n, freed

    def delete(self, first: int, last: int) -> int:
        """Remove the rows ``first..last`` (delivered); rows already dropped are skipped. Returns how many."""
        sizes = self._db.execute(
            "DELETE FROM states WHERE seq BETWEEN ? AND ? RETURNING size", (first, last)
        ).fetchall()
        self.count -= len(sizes)
        self.bytes -= sum(s for (s,) in sizes)
        return len(sizes)

    def purge_expired(self) -> int:
        """Drop (and count) the values at the head that are older than ``max_age``. Returns how many."""
        cutoff = self._clock() - self.max_age
        n = freed = 0
        db = self._db
        while True:
            rows = db.execute("SELECT seq, at, size FROM states ORDER BY seq LIMIT 1000").fetchall()
            expired = _prefix(rows, cutoff)
            if not expired:
                break
            db.execute("DELETE FROM states WHERE seq <= ?", (expired[-1][0],))
            n += len(expired)
            freed += sum(r[2] for r in expired)
            if len(expired) < len(rows):
                break
        self.count -= n
        self.bytes -= freed
        self.dropped_age += n
        return n

    # -- reading --------------------------------------------------------------------------------------
    def read(self, after: int = 0, limit: int = 1000) -> list[tuple[int, PointState]]:
        """Up to ``limit`` states after row ``after``, oldest first, with their row numbers."""
        rows = self._db.execute(
            f"SELECT seq, {COLUMNS} FROM states WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()
        return [(r[0], _decode(r[1:])) for r in rows]

    def close(self) -> None:
        """Close the file (a checkpoint folds the WAL into it); idempotent."""
        db, self._db = self._db, None  # type: ignore[assignment]
        if db is not None:
            db.close()


def _prefix(rows: list[Any], cutoff: float) -> list[Any]:
    out = []
    for r in rows:
        if r[1] >= cutoff:
            break
        out.append(r)
    return out
