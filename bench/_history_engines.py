"""The candidate history engines of ``python -m bench history``, each behind the same five operations.

Every engine gets the same random-walk samples (``dataset``) in Arrow-sized batches of 50,000 rows, then
``finish()`` (its compaction: sort, checkpoint, compact), then the three queries of the issue. The SQLite
baseline is what a Python user would write: one table ``(point, ts, value)`` with an index on ``(point, ts)``.
"""

from __future__ import annotations

import sqlite3
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench._history_postgres import Postgres
from gateway.history.embedded import EmbeddedStore
from gateway.history.model import Aggregate, RowBatch

HOUR = 3_600_000_000
DAY = 24 * HOUR
BATCH = 50_000


@dataclass
class Dataset:
    """Samples in columns, in arrival order (time-major: every point's sample of one poll, then the next)."""

    names: list[str]
    point: np.ndarray  # index into names
    source_us: np.ndarray
    server_us: np.ndarray
    value: np.ndarray
    t0: int
    days: int

    def __len__(self) -> int:
        return len(self.point)

    def batches(self) -> Any:
        for lo in range(0, len(self), BATCH):
            yield slice(lo, lo + BATCH)


def dataset(n_samples: int, n_points: int, days: int = 7, seed: int = 7) -> Dataset:
    """Random walks: per point a regular poll (period = span / samples per point) with 0-49 ms of jitter,
    the gateway applying each sample 100-1999 µs later, values stepping N(0, 0.05) and reported with two decimals
    (a slowly varying analog sensor)."""
    rng = np.random.default_rng(seed)
    per_point = n_samples // n_points
    period = days * DAY // per_point
    t0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
    k = np.repeat(np.arange(per_point, dtype=np.int64), n_points)
    point = np.tile(np.arange(n_points, dtype=np.int64), per_point)
    phase = (np.arange(n_points, dtype=np.int64) * period) // n_points
    source = t0 + k * period + phase[point] + rng.integers(0, 50, len(k)) * 1000
    server = source + rng.integers(100, 2000, len(k))
    steps = rng.normal(0, 0.05, (per_point, n_points))
    walk = rng.uniform(0, 100, n_points) + np.cumsum(steps, axis=0)
    value = np.round(walk.reshape(-1), 2)
    return Dataset([f"ahu{p // 8}.p{p % 8}" for p in range(n_points)], point, source, server, value, t0, days)


class Embedded:
    """twinbridge's embedded store (gateway/history/embedded.py)."""

    name = "embedded (SQLite WAL + packed blocks)"

    def __init__(self, root: Path) -> None:
        self.dir = root / "embedded"
        self.store = EmbeddedStore(self.dir)

    def ingest(self, d: Dataset, sl: slice) -> None:
        self.end_us = d.t0 + d.days * DAY
        batch = RowBatch(
            [d.names[i] for i in d.point[sl].tolist()],
            array("q", d.source_us[sl].tobytes()),
            array("q", d.server_us[sl].tobytes()),
            d.value[sl].tolist(),
            array("I", bytes(4 * len(d.point[sl]))),
        )
        self.store.append_batch(batch)
        self.store.flush()

    def finish(self) -> None:
        self.store.compact(0, force=True)
        self.store.apply_retention(self.end_us + DAY)  # every day has ended: consolidate each point-day
        conn = self.store._writer.maint
        conn.executescript("PRAGMA incremental_vacuum;")  # execute() would free one page only
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.dir.iterdir())

    def raw_day(self, name: str, start: int) -> int:
        return len(self.store.read_raw(name, start, start + DAY, limit=100_000))

    def hourly(self, names: list[str], start: int, days: int, aggs: list[Aggregate]) -> int:
        return sum(len(self.store.read_processed(names, start, start + days * DAY, HOUR, a)) for a in aggs)

    def close(self) -> None:
        self.store.close()


class SqliteBaseline:
    """A plain SQLite table (point, ts, value) with an index on (point, ts)."""

    name = "SQLite table (baseline)"

    def __init__(self, root: Path) -> None:
        self.path = root / "baseline.sqlite"
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE samples(point TEXT, ts INTEGER, value REAL)")
        self.conn.execute("CREATE INDEX samples_point_ts ON samples(point, ts)")

    def ingest(self, d: Dataset, sl: slice) -> None:
        names = d.names
        rows = zip(
            [names[i] for i in d.point[sl].tolist()], d.source_us[sl].tolist(), d.value[sl].tolist(), strict=True
        )
        self.conn.executemany("INSERT INTO samples VALUES (?, ?, ?)", rows)
        self.conn.commit()

    def finish(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))

    def raw_day(self, name: str, start: int) -> int:
        q = "SELECT ts, value FROM samples WHERE point = ? AND ts >= ? AND ts < ? ORDER BY ts"
        return len(self.conn.execute(q, (name, start, start + DAY)).fetchall())

    def hourly(self, names: list[str], start: int, days: int, aggs: list[Aggregate]) -> int:
        fns = ", ".join(
            {Aggregate.AVERAGE: "avg(value)", Aggregate.MINIMUM: "min(value)", Aggregate.MAXIMUM: "max(value)"}[a]
            for a in aggs
        )
        marks = ",".join("?" * len(names))
        q = (
            f"SELECT point, (ts - ?) / {HOUR} AS h, {fns} FROM samples WHERE point IN ({marks}) "
            "AND ts >= ? AND ts < ? GROUP BY point, h"
        )
        return len(self.conn.execute(q, (start, *names, start, start + days * DAY)).fetchall())

    def close(self) -> None:
        self.conn.close()


class DuckDB:
    """DuckDB: Arrow batches appended, then the table rewritten sorted by (point, time) and checkpointed."""

    name = "DuckDB (sorted table)"

    def __init__(self, root: Path) -> None:
        import duckdb

        self.path = root / "duck.db"
        self.con = duckdb.connect(str(self.path))
        self.con.execute(
            "CREATE TABLE raw(point VARCHAR, source_us BIGINT, server_us BIGINT, value DOUBLE, status UINTEGER)"
        )

    def ingest(self, d: Dataset, sl: slice) -> None:
        import pyarrow as pa

        names = pa.array(d.names).take(pa.array(d.point[sl]))
        n = len(names)
        tbl = pa.table(
            {
                "point": names,
                "source_us": d.source_us[sl],
                "server_us": d.server_us[sl],
                "value": d.value[sl],
                "status": pa.array(np.zeros(n, np.uint32)),
            }
        )
        self.con.register("batch", tbl)
        self.con.execute("INSERT INTO raw SELECT * FROM batch")
        self.con.unregister("batch")

    def finish(self) -> None:
        self.con.execute("CREATE TABLE h AS SELECT * FROM raw ORDER BY point, source_us")
        self.con.execute("DROP TABLE raw")
        self.con.execute("CHECKPOINT")
        self.con.execute("VACUUM")  # reclaims blocks where the build allows it
        self.con.execute("CHECKPOINT")

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))

    def raw_day(self, name: str, start: int) -> int:
        q = "SELECT source_us, server_us, value, status FROM h WHERE point = ? AND source_us >= ? AND source_us < ?"
        return len(self.con.execute(q, [name, start, start + DAY]).fetchall())

    def hourly(self, names: list[str], start: int, days: int, aggs: list[Aggregate]) -> int:
        fns = ", ".join(
            {Aggregate.AVERAGE: "avg(value)", Aggregate.MINIMUM: "min(value)", Aggregate.MAXIMUM: "max(value)"}[a]
            for a in aggs
        )
        q = (
            f"SELECT point, (source_us - {int(start)}) // {HOUR} AS hr, {fns} FROM h "
            "WHERE point IN (SELECT unnest(?)) AND source_us >= ? AND source_us < ? GROUP BY point, hr"
        )
        return len(self.con.execute(q, [names, start, start + days * DAY]).fetchall())

    def close(self) -> None:
        self.con.close()


class Parquet:
    """Parquet through pyarrow: one file per day sorted by (point, time), zstd, row groups of 64k rows."""

    name = "Parquet files (pyarrow)"

    def __init__(self, root: Path) -> None:
        self.dir = root / "parquet"
        self.dir.mkdir()
        self.parts: list[Any] = []
        self.files: dict[int, Path] = {}

    def ingest(self, d: Dataset, sl: slice) -> None:
        self.parts.append((d.point[sl], d.source_us[sl], d.server_us[sl], d.value[sl], d))

    def finish(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        d = self.parts[0][4]
        point = np.concatenate([p[0] for p in self.parts])
        src = np.concatenate([p[1] for p in self.parts])
        srv = np.concatenate([p[2] for p in self.parts])
        val = np.concatenate([p[3] for p in self.parts])
        self.parts = []
        day = (src - d.t0) // DAY
        order = np.lexsort((src, point, day))
        names = pa.array(d.names)
        for k in np.unique(day).tolist():
            sel = order[day[order] == k]
            tbl = pa.table(
                {
                    "point": names.take(pa.array(point[sel])).dictionary_encode(),
                    "source_us": src[sel],
                    "server_us": srv[sel],
                    "value": val[sel],
                    "status": np.zeros(len(sel), np.uint32),
                }
            )
            path = self.dir / f"{k}.parquet"
            pq.write_table(
                tbl,
                path,
                compression="zstd",
                row_group_size=65_536,
                use_byte_stream_split=["value"],
                column_encoding=None,
            )
            self.files[k] = path
        self.t0 = d.t0

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.dir.iterdir())

    def _read(self, names: list[str], start: int, end: int) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        days = range((start - self.t0) // DAY, (end - 1 - self.t0) // DAY + 1)
        tables = [pq.read_table(self.files[k], filters=[("point", "in", names)]) for k in days if k in self.files]
        tbl = pa.concat_tables(tables)
        return tbl.filter((pa.compute.field("source_us") >= start) & (pa.compute.field("source_us") < end))

    def raw_day(self, name: str, start: int) -> int:
        return self._read([name], start, start + DAY).num_rows

    def hourly(self, names: list[str], start: int, days: int, aggs: list[Aggregate]) -> int:
        import pyarrow.compute as pc

        tbl = self._read(names, start, start + days * DAY)
        tbl = tbl.append_column("h", pc.divide(pc.subtract(tbl["source_us"], start), HOUR))
        fns = [
            ("value", {Aggregate.AVERAGE: "mean", Aggregate.MINIMUM: "min", Aggregate.MAXIMUM: "max"}[a]) for a in aggs
        ]
        return tbl.group_by(["point", "h"]).aggregate(fns).num_rows

    def close(self) -> None:
        pass


ENGINES = (Embedded, SqliteBaseline, DuckDB, Parquet, Postgres)
