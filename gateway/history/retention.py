"""Retention: drop a point's raw rows and roll-up rows once they are older than its policy keeps them.

Raw rows are dropped only after every roll-up level of the point has been computed past them, so a roll-up
never misses rows because retention came first. A block that straddles the cut is rewritten with the rows
that stay, so what is kept is exact to the microsecond, as the retention tests check.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from gateway.history.codec import decode_block, encode_block
from gateway.history.model import Retention
from gateway.history.rollups import decode_stats, encode_stats


def drop_expired(conn: sqlite3.Connection, pid: int, policy: Retention, now_us: int) -> None:
    """Drop the point's rows older than its retention (one transaction)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if policy.raw_us is not None:
            cut = now_us - policy.raw_us
            for level in policy.rollups:  # never drop rows a roll-up still has to see
                row = conn.execute(
                    "SELECT done_us FROM watermark WHERE point = ? AND interval_us = ?", (pid, level.interval_us)
                ).fetchone()
                cut = min(cut, int(row[0]) if row else cut)
            _drop_raw(conn, pid, cut)
        for level in policy.rollups:
            if level.retention_us is not None:
                _drop_rollups(conn, pid, level.interval_us, now_us - level.retention_us)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _drop_raw(conn: sqlite3.Connection, pid: int, cut_us: int) -> None:
    conn.execute("DELETE FROM block WHERE point = ? AND t1 < ?", (pid, cut_us))
    for block_id, data in conn.execute(
        "SELECT id, data FROM block WHERE point = ? AND t0 < ? AND t1 >= ?", (pid, cut_us, cut_us)
    ).fetchall():
        cols = decode_block(data)
        keep = np.flatnonzero(cols.source_us >= cut_us)
        rest = cols.take(keep)
        conn.execute(
            "UPDATE block SET t0 = ?, n = ?, data = ? WHERE id = ?",
            (int(rest.source_us[0]), len(rest), encode_block(rest), block_id),
        )


def _drop_rollups(conn: sqlite3.Connection, pid: int, interval_us: int, cut_us: int) -> None:
    # a roll-up row is dropped once its whole interval is older than the cut
    conn.execute(
        "DELETE FROM rollup WHERE point = ? AND interval_us = ? AND t1 + ? <= ?",
        (pid, interval_us, interval_us, cut_us),
    )
    for row_id, data in conn.execute(
        "SELECT id, data FROM rollup WHERE point = ? AND interval_us = ? AND t0 + ? <= ?",
        (pid, interval_us, interval_us, cut_us),
    ).fetchall():
        s = decode_stats(data)
        keep = np.flatnonzero(s["start"] + interval_us > cut_us)
        rest = {k: v[keep] for k, v in s.items()}
        conn.execute(
            "UPDATE rollup SET t0 = ?, n = ?, data = ? WHERE id = ?",
            (int(rest["start"][0]), len(keep), encode_stats(rest), row_id),
        )
