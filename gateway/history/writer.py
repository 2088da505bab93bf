"""The embedded store's write side: segments per flush, compaction into blocks, roll-ups and retention.

Flushes run on one thread with one connection, upkeep (compaction, roll-ups, retention) on another with its
own, so a long upkeep never delays a flush; SQLite serializes their transactions, which are kept short (the
compaction works through segments in batches). Each step is one transaction: a crash at any point leaves
either the old or the new state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import chain

import numpy as np

from gateway.history.codec import (
    Columns,
    concat,
    decode_block,
    decode_segment,
    encode_block,
    encode_segment,
    sort_rows,
    split_values,
)
from gateway.history.model import Retention, RowBatch

DAY_US = 86_400_000_000
BLOCK_MERGE_BELOW = 1024  # a day's newest block with fewer rows takes the next compaction's rows (bounds rewrites)
COMPACT_BATCH_ROWS = 1_000_000  # rows per compaction transaction (bounds memory, and how long a flush may wait)


class Writer:
    """Writes of one embedded store."""

    def __init__(
        self, conn: sqlite3.Connection, maint: sqlite3.Connection, compact_rows: int, compact_age_us: int
    ) -> None:
        self.conn = conn  # flushes
        self.maint = maint  # upkeep
        self.compact_rows = compact_rows
        self.compact_age_us = compact_age_us
        self.pending: list[RowBatch] = []
        self.ids: dict[str, int] = {name: pid for pid, name in conn.execute("SELECT id, name FROM point")}
        self.retention: dict[str, Retention] = {}
        self.default = Retention()
        self.closed = False

    def add(self, batch: RowBatch) -> None:
        if len(batch):
            self.pending.append(batch)

    # -- flush: one segment per call ----------------------------------------------------------------------
    def flush(self) -> None:
        if not self.pending or self.closed:
            return
        batches, self.pending = self.pending, []
        names = list(chain.from_iterable(b.points for b in batches))
        values = list(chain.from_iterable(b.values for b in batches))
        new = sorted({n for n in names if n not in self.ids})
        kinds, numbers, others = split_values(values)
        cols = Columns(
            np.concatenate([np.frombuffer(b.source_us, np.int64) for b in batches]),
            np.concatenate([np.frombuffer(b.server_us, np.int64) for b in batches]),
            kinds,
            numbers,
            others,
            np.concatenate([np.array(b.status, np.uint32) for b in batches]),
        )
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name in new:
                self.ids[name] = int(conn.execute("INSERT INTO point(name) VALUES (?)", (name,)).lastrowid or 0)
            ids = np.fromiter((self.ids[n] for n in names), np.uint32, len(names))
            conn.execute(
                "INSERT INTO segment(t_min, t_max, n, data) VALUES (?, ?, ?, ?)",
                (int(cols.source_us.min()), int(cols.source_us.max()), len(names), encode_segment(ids, cols)),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            for name in new:
                self.ids.pop(name, None)
            self.pending[:0] = batches  # kept for the next try
            raise

    # -- compaction: segments into per-point, per-day blocks -----------------------------------------------
    def compact(self, now_us: int, *, force: bool = False) -> int:
        """Move segments into blocks when enough rows wait or the oldest is old (always with ``force``)."""
        rows, oldest = self.maint.execute("SELECT coalesce(sum(n), 0), min(t_min) FROM segment").fetchone()
        if not rows or (not force and rows < self.compact_rows and oldest >= now_us - self.compact_age_us):
            return 0
        moved = 0
        for seg_ids in self._segment_batches():
            moved += self._compact_segments(seg_ids)
        return moved

    def _segment_batches(self) -> Iterator[list[int]]:
        batch: list[int] = []
        total = 0
        for seg_id, n in self.maint.execute("SELECT id, n FROM segment ORDER BY id").fetchall():
            batch.append(seg_id)
            total += n
            if total >= COMPACT_BATCH_ROWS:
                yield batch
                batch, total = [], 0
        if batch:
            yield batch

    def _compact_segments(self, seg_ids: list[int]) -> int:
        conn = self.maint
        conn.execute("BEGIN IMMEDIATE")
        try:
            ids_parts, col_parts = [], []
            marks = ",".join("?" * len(seg_ids))
            for (data,) in conn.execute(f"SELECT data FROM segment WHERE id IN ({marks}) ORDER BY id", seg_ids):
                ids, cols = decode_segment(data)
                ids_parts.append(ids)
                col_parts.append(cols)
            ids = np.concatenate(ids_parts)
            cols = concat(col_parts)
            day = cols.source_us // DAY_US
            order = np.lexsort((cols.server_us, cols.source_us, day, ids))
            ids, day, cols = ids[order], day[order], cols.take(order)
            key_change = np.flatnonzero((np.diff(ids) != 0) | (np.diff(day) != 0)) + 1
            bounds = np.concatenate([[0], key_change, [len(ids)]])
            for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
                self._put_block(int(ids[lo]), int(day[lo]), cols.take(slice(lo, hi)))
            conn.execute(f"DELETE FROM segment WHERE id IN ({marks})", seg_ids)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(ids)

    def _put_block(self, pid: int, day: int, rows: Columns) -> None:
        """Rows of one point and day: merged into that day's newest block while it is small, else a new block."""
        conn = self.maint
        last = conn.execute(
            "SELECT id, n, data FROM block WHERE point = ? AND t0 >= ? AND t0 < ? ORDER BY t0 DESC LIMIT 1",
            (pid, day * DAY_US, (day + 1) * DAY_US),
        ).fetchone()
        if last is not None and last[1] < BLOCK_MERGE_BELOW:
            rows = sort_rows(concat([decode_block(last[2]), rows]))
            conn.execute(
                "UPDATE block SET t0 = ?, t1 = ?, n = ?, data = ? WHERE id = ?",
                (int(rows.source_us[0]), int(rows.source_us[-1]), len(rows), encode_block(rows), last[0]),
            )
            return
        conn.execute(
            "INSERT INTO block(point, t0, t1, n, data) VALUES (?, ?, ?, ?, ?)",
            (pid, int(rows.source_us[0]), int(rows.source_us[-1]), len(rows), encode_block(rows)),
        )

    # -- roll-ups and retention -------------------------------------------------------------------------------
    def upkeep(self, now_us: int) -> None:
        """Compact everything, compute due roll-ups, then drop what has expired."""
        from gateway.history.retention import drop_expired
        from gateway.history.rollups import roll_up

        self.compact(now_us, force=True)
        for name, pid in list(self.ids.items()):
            policy = self.retention.get(name, self.default)
            for level in policy.rollups:
                roll_up(self.maint, pid, level.interval_us, now_us)
            drop_expired(self.maint, pid, policy, now_us)
        self.maint.executescript("PRAGMA incremental_vacuum;")  # freed pages back to the file system (all of them)

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.flush()
        finally:
            self.closed = True
            self.conn.close()
            self.maint.close()
