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
BLOCK_MERGE_BELOW = 64  # a day's newest block with fewer rows takes the next compaction's rows (slow points)
BLOCK_MAX = 16_384  # rows per block once a day is consolidated (a point-day of 1 Hz samples: 6 blocks)
CONSOLIDATE_DAYS = 7  # ended days looked at for consolidation (older late rows stay in their own blocks)
AGE_EVERY_US = 600_000_000  # roll-ups and retention at most every 10 minutes of store time (compaction every upkeep)
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
        self.aged_us = -(2**62)  # store time of the last roll-up and retention pass

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
            ids = np.array(list(map(self.ids.__getitem__, names)), np.uint32)
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
        """Segments into blocks: decoded and encoded outside the write lock, written in one short transaction.

        Reading without the lock is safe: segments never change, and blocks change only on this thread.
        """
        conn = self.maint
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
        updates: list[tuple[int, int, int, bytes, int]] = []
        inserts: list[tuple[int, int, int, int, bytes]] = []
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            self._plan_block(int(ids[lo]), int(day[lo]), cols.take(slice(lo, hi)), updates, inserts)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("UPDATE block SET t0 = ?, t1 = ?, n = ?, data = ? WHERE id = ?", updates)
            conn.executemany("INSERT INTO block(point, t0, t1, n, data) VALUES (?, ?, ?, ?, ?)", inserts)
            conn.execute(f"DELETE FROM segment WHERE id IN ({marks})", seg_ids)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(ids)

    def _plan_block(
        self,
        pid: int,
        day: int,
        rows: Columns,
        updates: list[tuple[int, int, int, bytes, int]],
        inserts: list[tuple[int, int, int, int, bytes]],
    ) -> None:
        """Rows of one point and day: merged into that day's newest block while it is small, else a new block."""
        conn = self.maint
        last = conn.execute(
            "SELECT id, n FROM block WHERE point = ? AND t0 >= ? AND t0 < ? ORDER BY t0 DESC LIMIT 1",
            (pid, day * DAY_US, (day + 1) * DAY_US),
        ).fetchone()
        if last is not None and last[1] < BLOCK_MERGE_BELOW:
            data = conn.execute("SELECT data FROM block WHERE id = ?", (last[0],)).fetchone()[0]
            rows = sort_rows(concat([decode_block(data), rows]))
            updates.append((int(rows.source_us[0]), int(rows.source_us[-1]), len(rows), encode_block(rows), last[0]))
            return
        inserts.append((pid, int(rows.source_us[0]), int(rows.source_us[-1]), len(rows), encode_block(rows)))

    def consolidate(self, now_us: int) -> int:
        """Merge each ended day's blocks of a point into as few as hold its rows (blocks of up to BLOCK_MAX rows).

        During the day a compaction writes one block per point (rewriting only blocks under BLOCK_MERGE_BELOW
        rows), so each row is encoded about once there; merging the day once it has ended gives the small,
        few blocks that reads and disk want. Returns the point-days merged.
        """
        today = now_us // DAY_US
        groups = self.maint.execute(
            "SELECT point, t0 / ? AS day FROM block WHERE t0 >= ? AND t0 < ? GROUP BY point, day "
            "HAVING count(*) > (sum(n) + ? - 1) / ?",
            (DAY_US, (today - CONSOLIDATE_DAYS) * DAY_US, today * DAY_US, BLOCK_MAX, BLOCK_MAX),
        ).fetchall()
        for pid, day in groups:
            self._merge_day(pid, day)
        return len(groups)

    def _merge_day(self, pid: int, day: int) -> None:
        conn = self.maint  # read and encode first, then a short write (blocks change only on this thread)
        blocks = conn.execute(
            "SELECT id, data FROM block WHERE point = ? AND t0 >= ? AND t0 < ?",
            (pid, day * DAY_US, (day + 1) * DAY_US),
        ).fetchall()
        rows = sort_rows(concat([decode_block(data) for _, data in blocks]))
        inserts = []
        for lo in range(0, len(rows), BLOCK_MAX):
            part = rows.take(slice(lo, lo + BLOCK_MAX))
            inserts.append((pid, int(part.source_us[0]), int(part.source_us[-1]), len(part), encode_block(part)))
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM block WHERE id = ?", [(bid,) for bid, _ in blocks])
            conn.executemany("INSERT INTO block(point, t0, t1, n, data) VALUES (?, ?, ?, ?, ?)", inserts)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- roll-ups and retention -------------------------------------------------------------------------------
    def upkeep(self, now_us: int) -> None:
        """Compact everything, compute due roll-ups, then drop what has expired."""
        from gateway.history.retention import drop_expired
        from gateway.history.rollups import plan_roll_up, write_roll_ups

        self.compact(now_us, force=True)
        if now_us - self.aged_us < AGE_EVERY_US:
            return
        self.aged_us = now_us
        self.consolidate(now_us)
        policies = [(pid, self.retention.get(name, self.default)) for name, pid in list(self.ids.items())]
        writes = []
        for pid, policy in policies:  # computed without a lock, written together
            for level in policy.rollups:
                planned = plan_roll_up(self.maint, pid, level.interval_us, now_us)
                if planned is not None:
                    writes.append(planned)
                if len(writes) >= 1000:
                    write_roll_ups(self.maint, writes)
                    writes = []
        write_roll_ups(self.maint, writes)
        drop_expired(self.maint, policies, now_us)
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
