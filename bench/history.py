"""Which engine for the embedded history, measured: ``python -m bench history [--quick] [--engines]``.

Part 1 (engines): the same random-walk samples (20 M samples of 5,000 points over 7 days; ``--quick``: 100 k of
100 over 3) go into each candidate in batches of 50,000, then each one compacts (sorts, checkpoints); then the issue's
queries: one point's raw day, one point's hourly average/min/max over 7 days, and hourly averages of 100 points
over one day. The SQLite baseline (``(point, ts, value)`` with an index on ``(point, ts)``) runs in the same run.
Part 2 (gateway): the CPU cost per ingested sample of a running gateway with history on and off, in one run
(bench/_history_gateway.py).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._history_engines import DAY, ENGINES, Dataset, Embedded, Postgres, dataset
from bench.common import median, table
from gateway.history.model import Aggregate, Retention, Rollup

HOUR = 3_600_000_000
AVG_MIN_MAX = [Aggregate.AVERAGE, Aggregate.MINIMUM, Aggregate.MAXIMUM]


def _p50_ms(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return median(times)


def queries(engine: Any, d: Dataset, reps: int, seed: int = 3) -> list[float]:
    """p50 ms of the three queries, each on points and days drawn at random (the same draws for every engine)."""
    rng = random.Random(seed)
    picks = [(rng.choice(d.names), d.t0 + rng.randrange(1, d.days - 1) * DAY) for _ in range(reps)]
    hundreds = [rng.sample(d.names, 100) for _ in range(max(3, reps // 5))]
    it = iter(picks * 3)
    raw = _p50_ms(lambda: engine.raw_day(*next(it)), reps)
    week = _p50_ms(lambda: engine.hourly([next(it)[0]], d.t0, d.days, AVG_MIN_MAX), reps)
    hit = iter(hundreds * 2)
    many = _p50_ms(lambda: engine.hourly(next(hit), d.t0 + 2 * DAY, 1, [Aggregate.AVERAGE]), len(hundreds))
    return [raw, week, many]


def run_engine(cls: Any, d: Dataset, root: Path, reps: int) -> tuple[list[object], Any]:
    engine = cls(root)
    t = time.perf_counter()
    for sl in d.batches():
        engine.ingest(d, sl)
    ingest_s = time.perf_counter() - t
    t = time.perf_counter()
    engine.finish()
    finish_s = time.perf_counter() - t
    row: list[object] = [
        engine.name,
        f"{len(d) / ingest_s / 1e6:.2f}",
        f"{len(d) / (ingest_s + finish_s) / 1e6:.2f}",
        f"{engine.size() / len(d):.2f}",
        *(f"{q:.2f}" for q in queries(engine, d, reps)),
    ]
    return row, engine


def rollup_row(engine: Embedded | Postgres, d: Dataset, reps: int) -> list[object]:
    """The store again, after computing 1-hour roll-ups (the hourly queries then read those)."""
    store = engine.store
    store.configure({}, Retention(None, (Rollup(HOUR, None),)))
    t = time.perf_counter()
    store.apply_retention(d.t0 + (d.days + 2) * DAY)  # later than finish()'s upkeep (at most one per 10 min)
    rollup_s = time.perf_counter() - t
    qs = queries(engine, d, reps)
    return [
        f"{engine.name.split(' ')[0]}, hourly from 1 h roll-ups ({rollup_s:.0f} s to compute)",
        "",
        "",
        f"{engine.size() / len(d):.2f}",
        *(f"{q:.2f}" for q in qs),
    ]


def column_bytes(engine: Embedded) -> str:
    """Where the embedded store's bytes go, per sample: each column of a sample of blocks, packed as stored."""
    import random as rnd

    import numpy as np

    from gateway.history import codec

    conn = engine.store._writer.maint
    ids = [r[0] for r in conn.execute("SELECT id FROM block").fetchall()]
    total = dict.fromkeys(("source time", "server time", "value", "status+kind", "headers"), 0)
    rows = 0
    for bid in rnd.Random(1).sample(ids, min(300, len(ids))):
        data = conn.execute("SELECT data FROM block WHERE id = ?", (bid,)).fetchone()[0]
        c = codec.decode_block(data)
        dec = codec._decimals(c.numbers)
        ints = dec[1] if dec is not None else c.numbers.view(np.int64)
        parts = {
            "source time": len(codec.pack_ints(codec._times(c.source_us)[3])),
            "server time": len(codec.pack_ints(c.server_us - c.source_us)),
            "value": len(codec.pack_ints(np.diff(ints))),
            "status+kind": len(codec.pack_ints(c.status.astype(np.int64)))
            + len(codec.pack_ints(c.kinds.astype(np.int64))),
        }
        parts["headers"] = len(data) + 40 - sum(parts.values())  # + about 40 bytes of SQLite row and index
        for k, v in parts.items():
            total[k] += v
        rows += len(c)
    return ", ".join(f"{k} {v / rows:.2f}" for k, v in total.items())


def engines(quick: bool) -> None:
    # quick: the 100 points the widest query reads, the 3 days the queries need at least
    n, points, days = (100_000, 100, 3) if quick else (20_000_000, 5_000, 7)
    reps = 5 if quick else 60
    d = dataset(n, points, days)
    rows: list[list[object]] = []
    breakdown = ""
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        for cls in ENGINES:
            root = Path(tmp) / cls.__name__
            root.mkdir()
            try:
                row, engine = run_engine(cls, d, root, reps)
            except ImportError as exc:
                rows.append([cls.name, f"not installed ({exc.name})", "", "", "", "", ""])
                continue
            rows.append(row)
            if isinstance(engine, Embedded):
                breakdown = column_bytes(engine)
            if isinstance(engine, Embedded | Postgres):
                rows.append(rollup_row(engine, d, reps))
            engine.close()
    print(
        f"{len(d):,} samples of {points:,} points over {d.days} days (random walks, 2 decimals, polls with 0-49 ms "
        "jitter, applied 0.1-2 ms later); batches of 50,000; p50 of random points and days"
    )
    print(
        table(
            [
                "engine",
                "ingest M samples/s",
                "incl. compaction M/s",
                "bytes/sample",
                "raw point-day ms",
                "hourly avg+min+max 1 point 7 d ms",
                "hourly avg 100 points 1 d ms",
            ],
            rows,
        )
    )
    print(f"embedded store, bytes per sample by column: {breakdown}")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    only_engines = "--engines" in argv
    engines(quick)
    if not only_engines:
        from bench._history_gateway import gateway_cost

        gateway_cost(quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
