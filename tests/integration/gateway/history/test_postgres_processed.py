"""Processed reads and roll-ups of the PostgreSQL backend equal the reference aggregate functions.

Raw-path results are compared with ``aggregates.compute`` over the whole series; roll-up statistics computed by
SQL are compared with ``rollups.stats`` over the same rows, and roll-up answers with the reference over raw.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pytest

from gateway.history import aggregates as agg
from gateway.history import rollups
from gateway.history.codec import K_BOOL, K_FLOAT, K_INT, K_NONE, Columns
from gateway.history.model import Aggregate, Bucket, HistoryRow, Retention, Rollup
from gateway.history.pg_processed import series_of
from gateway.history.pg_values import copy_tuple
from gateway.history.postgres import PostgresHistoryStore

pytestmark = pytest.mark.integration
Factory = Callable[..., PostgresHistoryStore]
S = 1_000_000
M = 60 * S
H = 60 * M
T0 = 1_700_000_000 * S - (1_700_000_000 * S) % H  # an hour boundary
STATUSES = [0] * 12 + [0x40A40000, 0x808A0000, 0x80340000]


def _walk(point: str, n: int, seed: int, *, nan: bool = True, step_s: float = 7.3) -> list[HistoryRow]:
    """A random walk with Bad and Uncertain rows, rows without a value, ties in source time and gaps."""
    rng = random.Random(seed)
    rows, t, v = [], T0 - 5 * M, 20.0
    for i in range(n):
        t += 0 if rng.random() < 0.03 else int(rng.expovariate(1 / step_s) * S) + 1
        if rng.random() < 0.01:
            t += 40 * M  # a gap longer than a roll-up interval
        v += rng.gauss(0, 0.5)
        value: float | None = round(v, 3)
        if rng.random() < 0.04:
            value = None
        elif nan and rng.random() < 0.01:
            value = math.nan
        rows.append(HistoryRow(point, t, T0 + i, value, rng.choice(STATUSES)))
    return rows


def _reference(rows: list[HistoryRow], aggregate: Aggregate, start: int, end: int, interval: int) -> list[agg.Result]:
    ordered = sorted(rows, key=lambda r: (r.source_us, r.server_us))
    series = series_of([_record(r) for r in ordered])
    return agg.compute(aggregate, series, start, end, interval)


def _record(r: HistoryRow) -> tuple[object, ...]:
    t = copy_tuple(r, 0)  # (source, server, v_float, v_int, point_id, status, v_bool, v_text)
    return (t[0], t[1], t[5], t[2], t[3], t[6], t[7])


def _same(got: list[Bucket], want: list[agg.Result], rel: float = 0.0) -> None:
    assert len(got) == len(want)
    for b, (value, status, at) in zip(got, want, strict=True):
        same_value = value == b.value or (
            isinstance(value, float) and isinstance(b.value, float) and math.isnan(value) and math.isnan(b.value)
        )
        if rel and isinstance(value, float) and isinstance(b.value, float):
            same_value = math.isclose(value, b.value, rel_tol=rel)
        assert same_value and b.status == status and b.at_us == at, (b, (value, status, at))


@pytest.mark.parametrize("aggregate", list(Aggregate))
def test_raw_processed_reads_equal_the_reference_functions(pg_store_factory: Factory, aggregate: Aggregate) -> None:
    store = pg_store_factory()
    rows = _walk("a.x", 3000, seed=1)
    store.append(rows)
    store.flush()
    for start, end, interval in [
        (T0, T0 + 4 * H, H),  # aligned
        (T0 - 7 * M + 3, T0 + 5 * H + 11 * S, 17 * M),  # misaligned, a partial last interval
        (T0 - 2 * H, T0 - H, 10 * M),  # before the first row
        (T0 + 2 * H + 5 * S, T0 + 2 * H + 6 * S, S),  # inside a gap: bounds come from far away
    ]:
        got = store.read_processed(["a.x"], start, end, interval, aggregate)
        _same(got, _reference(rows, aggregate, start, end, interval))
        assert {b.point for b in got} == {"a.x"}


def test_several_points_come_grouped_in_the_order_asked_unknown_ones_empty(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    a, b = _walk("a.x", 400, seed=2), _walk("b.y", 400, seed=3)
    store.append(a + b)
    store.flush()
    got = store.read_processed(["b.y", "nobody", "a.x"], T0, T0 + 2 * H, H, Aggregate.AVERAGE)
    assert [x.point for x in got] == ["b.y", "b.y", "nobody", "nobody", "a.x", "a.x"]
    _same(got[:2], _reference(b, Aggregate.AVERAGE, T0, T0 + 2 * H, H))
    _same(got[4:], _reference(a, Aggregate.AVERAGE, T0, T0 + 2 * H, H))
    assert [(x.value, x.status) for x in got[2:4]] == [(None, rollups.BAD_NO_DATA)] * 2


def _stats_by_sql(store: PostgresHistoryStore, interval: int) -> rollups.Stats:
    from gateway.history.pg_processed import _STATS_COLUMNS, _stats_of

    layout = store.writer.layout
    assert layout is not None
    conn = store.writer.connection()
    assert conn is not None
    recs = conn.execute(
        f"SELECT {_STATS_COLUMNS} FROM {layout.schema}.rollups WHERE interval_us = %s ORDER BY start_us", [interval]
    ).fetchall()
    return _stats_of(recs)


def _columns(rows: list[HistoryRow]) -> Columns:
    ordered = sorted(rows, key=lambda r: (r.source_us, r.server_us))
    kinds = np.array([K_NONE if r.value is None else K_FLOAT for r in ordered], np.uint8)
    numbers = np.array([0.0 if r.value is None else r.value for r in ordered], np.float64)
    return Columns(
        np.array([r.source_us for r in ordered], np.int64),
        np.array([r.server_us for r in ordered], np.int64),
        kinds,
        numbers,
        {},
        np.array([r.status for r in ordered], np.uint32),
    )


def test_rollups_computed_by_sql_equal_the_reference_statistics(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    rows = _walk("a.x", 4000, seed=4, nan=False)
    store.append(rows)
    store.flush()
    store.configure({}, Retention(raw_us=None, rollups=(Rollup(M, None), Rollup(H, None))))
    now = max(r.source_us for r in rows) + 3 * H
    store.apply_retention(now)
    for interval in (M, H):
        first = (min(r.source_us for r in rows) // interval) * interval
        due = (now // interval) * interval
        want = rollups.stats(_columns(rows), np.array([first], np.int64), interval)
        got = _stats_by_sql(store, interval)
        assert set(got) == set(want)
        for name in want:
            g, w = got[name], want[name].astype(got[name].dtype)
            if name in ("first_v", "last_v"):  # a row without a number: no value (the kind says so), whatever is stored
                numeric = np.isin(got[name[:-1] + "k"], (K_FLOAT, K_INT, K_BOOL))
                g, w = g[numeric], w[numeric]
            assert np.array_equal(g, w, equal_nan=True), name
        assert int(got["start"][-1]) < due
    # roll-ups answer what fits them, and the answer is the reference's over the raw rows (an average from
    # roll-ups adds the intervals' sums, so it may differ from one long sum in the last bits)
    for aggregate in (Aggregate.AVERAGE, Aggregate.MINIMUM, Aggregate.MAXIMUM, Aggregate.COUNT):
        start, end = T0, T0 + 6 * H
        got = store.read_processed(["a.x"], start, end, 2 * H, aggregate)
        _same(got, _reference(rows, aggregate, start, end, 2 * H), rel=1e-12 if aggregate is Aggregate.AVERAGE else 0)


def test_a_late_row_is_rolled_up_again_and_raw_outlives_pending_rollups(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    store.configure({}, Retention(raw_us=3 * H, rollups=(Rollup(H, 30 * H),)))
    store.append([HistoryRow("a.x", T0 + k * M, T0, float(k), 0) for k in range(120)])  # two hours, one a minute
    store.flush()
    store.apply_retention(T0 + 2 * H + M)
    count = store.read_processed(["a.x"], T0, T0 + 2 * H, H, Aggregate.COUNT)
    assert [b.value for b in count] == [60, 60]
    # a late row for the first hour (a device replaying its buffer) counts at once (the hour is read from raw
    # until the next upkeep computes it again), and after that upkeep from the roll-up
    store.append([HistoryRow("a.x", T0 + 30 * M + 1, T0 + 3 * H, 99.0, 0)])
    store.flush()
    assert [b.value for b in store.read_processed(["a.x"], T0, T0 + 2 * H, H, Aggregate.COUNT)] == [61, 60]
    store.apply_retention(T0 + 2 * H + 2 * M)
    assert [b.value for b in store.read_processed(["a.x"], T0, T0 + 2 * H, H, Aggregate.COUNT)] == [61, 60]
    assert _stats_by_sql(store, H)["n_all"].tolist() == [61, 60]
    assert store.read_processed(["a.x"], T0, T0 + H, H, Aggregate.MAXIMUM)[0].value == 99.0
    # much later: raw rows are gone, the hourly roll-ups still answer, until their own retention ends
    store.apply_retention(T0 + 20 * H)
    assert store.read_raw("a.x", T0, T0 + 2 * H, limit=10) == []
    assert [b.value for b in store.read_processed(["a.x"], T0, T0 + 2 * H, H, Aggregate.AVERAGE)] == [
        (sum(range(60)) + 99.0) / 61,
        sum(range(60, 120)) / 60,
    ]
    store.apply_retention(T0 + 40 * H)
    assert [b.status for b in store.read_processed(["a.x"], T0, T0 + 2 * H, H, Aggregate.AVERAGE)] == [
        rollups.BAD_NO_DATA
    ] * 2


def test_int_and_bool_points_roll_up_with_their_kinds(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    store.append([HistoryRow("a.n", T0 + k * M, T0, k * 3, 0) for k in range(60)])
    store.append([HistoryRow("a.b", T0 + k * M, T0, k % 2 == 0, 0) for k in range(60)])
    store.flush()
    store.configure({}, Retention(rollups=(Rollup(H, None),)))
    store.apply_retention(T0 + 2 * H)
    start = store.read_processed(["a.n", "a.b"], T0, T0 + H, H, Aggregate.START)
    end = store.read_processed(["a.n", "a.b"], T0, T0 + H, H, Aggregate.END)
    assert [(b.value, type(b.value), b.at_us) for b in start] == [(0, int, T0), (True, bool, T0)]
    assert [(b.value, type(b.value), b.at_us) for b in end] == [(177, int, T0 + 59 * M), (False, bool, T0 + 59 * M)]
    assert _stats_by_sql(store, H)["first_k"].tolist() in ([K_INT, K_BOOL], [K_BOOL, K_INT])


def test_rollups_stay_exact_while_late_rows_are_flushed_during_upkeep(pg_store_factory: Factory) -> None:
    """The recorder flushes on one thread and runs upkeep on another: no late row may slip past a roll-up."""
    import threading

    store = pg_store_factory()
    store.configure({}, Retention(rollups=(Rollup(M, None),)))
    rng = random.Random(5)
    written: list[HistoryRow] = []
    clock = {"now": T0}
    done = threading.Event()

    def flusher() -> None:
        for k in range(300):
            now = T0 + k * 2 * S
            clock["now"] = now
            # rows up to three minutes late, in intervals upkeep may be rolling up right now
            batch = [HistoryRow("a.x", now - rng.randrange(0, 3 * M), now, float(k), 0) for _ in range(5)]
            written.extend(batch)
            store.append(batch)
            store.flush()
        done.set()

    def upkeep() -> None:
        while not done.is_set():
            store.apply_retention(clock["now"])

    threads = [threading.Thread(target=flusher), threading.Thread(target=upkeep)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    now = clock["now"] + 10 * M
    store.apply_retention(now)
    first = (min(r.source_us for r in written) // M) * M
    want = rollups.stats(_columns(written), np.array([first], np.int64), M)
    got = _stats_by_sql(store, M)
    assert got["start"].tolist() == want["start"].tolist()
    assert got["n_all"].tolist() == want["n_all"].tolist()
    assert np.array_equal(got["sum"], want["sum"])
    assert store.writer.dropped_rows == 0


def test_a_late_row_where_retention_began_deleting_leaves_that_rollup_alone(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    store.configure({}, Retention(raw_us=90 * M, rollups=(Rollup(H, None),)))
    store.append([HistoryRow("a.x", T0 + k * M, T0, 1.0, 0) for k in range(180)])
    store.flush()
    store.apply_retention(T0 + 3 * H)  # roll-ups of 3 hours, then raw before T0 + 90 min deleted
    assert [b.value for b in store.read_processed(["a.x"], T0, T0 + 3 * H, H, Aggregate.COUNT)] == [60, 60, 60]
    store.append([HistoryRow("a.x", T0 + 70 * M, T0, 5.0, 0), HistoryRow("a.x", T0 + 150 * M, T0, 5.0, 0)])
    store.flush()
    store.apply_retention(T0 + 3 * H)
    # the second hour lost half its raw rows: its roll-up stays as computed; the third takes its late row
    assert [b.value for b in store.read_processed(["a.x"], T0, T0 + 3 * H, H, Aggregate.COUNT)] == [60, 60, 61]


def test_the_coarsest_level_still_holding_the_range_answers(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    # minute roll-ups kept forever, hourly ones only 3 hours: old hours come from the minutes
    store.configure({}, Retention(raw_us=H, rollups=(Rollup(M, None), Rollup(H, 3 * H))))
    store.append([HistoryRow("a.x", T0 + k * M, T0, float(k % 7), 0) for k in range(10 * 60)])
    store.flush()
    store.apply_retention(T0 + 10 * H)
    assert store.read_raw("a.x", T0, T0 + 8 * H, limit=10) == []
    got = store.read_processed(["a.x"], T0, T0 + 10 * H, H, Aggregate.COUNT)
    assert [b.value for b in got] == [60] * 10
    got = store.read_processed(["a.x"], T0, T0 + 2 * H, H, Aggregate.MAXIMUM)
    assert [b.value for b in got] == [6.0, 6.0]
