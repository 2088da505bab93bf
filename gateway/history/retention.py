"""Retention: a point's raw rows and roll-up rows stop being visible once older than its policy keeps them.

Each pass records, per point and level, the cut (``kept``: rows before it are gone; readers never return them)
and deletes whole blocks that end before it, all in one short transaction with no decoding: exact to the
microsecond for readers, and cheap, since a block straddling the cut is left as it is until it has fully expired.
Raw rows are cut only after every roll-up level of the point has been computed past them, so a roll-up never
misses rows because retention came first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from gateway.history.model import Retention

RAW = 0  # the ``kept`` level of raw rows (roll-up levels use their interval)


def drop_expired(conn: sqlite3.Connection, policies: Iterable[tuple[int, Retention]], now_us: int) -> None:
    """Apply every point's retention in one transaction."""
    marks = dict(((p, i), d) for p, i, d in conn.execute("SELECT point, interval_us, done_us FROM watermark"))
    conn.execute("BEGIN IMMEDIATE")
    try:
        for pid, policy in policies:
            if policy.raw_us is not None:
                cut = now_us - policy.raw_us
                for level in policy.rollups:  # never drop rows a roll-up still has to see
                    cut = min(cut, marks.get((pid, level.interval_us), cut))
                _cut(conn, pid, RAW, cut)
                conn.execute("DELETE FROM block WHERE point = ? AND t1 < ?", (pid, cut))
            for level in policy.rollups:
                if level.retention_us is not None:
                    cut = now_us - level.retention_us
                    _cut(conn, pid, level.interval_us, cut)
                    # a roll-up row goes once its whole interval is before the cut
                    conn.execute(
                        "DELETE FROM rollup WHERE point = ? AND interval_us = ? AND t1 + ? <= ?",
                        (pid, level.interval_us, level.interval_us, cut),
                    )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _cut(conn: sqlite3.Connection, pid: int, level: int, cut_us: int) -> None:
    conn.execute(
        "INSERT INTO kept(point, interval_us, from_us) VALUES (?, ?, ?) ON CONFLICT(point, interval_us) "
        "DO UPDATE SET from_us = max(from_us, excluded.from_us)",
        (pid, level, cut_us),
    )


def kept_from(conn: sqlite3.Connection, pid: int, level: int = RAW) -> int | None:
    """The point's cut for a level (rows before it are gone), None when nothing was ever cut."""
    row = conn.execute("SELECT from_us FROM kept WHERE point = ? AND interval_us = ?", (pid, level)).fetchone()
    return None if row is None else int(row[0])
