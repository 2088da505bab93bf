"""Part 13 aggregates (gateway/history/aggregates.py) against values computed by hand or by brute force."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.history import aggregates as agg
from gateway.history.model import (
    BAD_NO_DATA,
    CALCULATED,
    GOOD,
    INTERPOLATED,
    PARTIAL,
    UNCERTAIN_DATA_SUB_NORMAL,
    Aggregate,
)

BAD = 0x80000000 | 0x00310000  # BadSensorFailure-like
UNCERTAIN = 0x40000000


def series(rows: list[tuple[int, object, int]], numeric: bool = True) -> agg.Series:
    t = np.array([r[0] for r in rows], np.int64)
    v = np.array([float(r[1]) if isinstance(r[1], int | float) else np.nan for r in rows], np.float64)
    st = np.array([r[2] for r in rows], np.uint32)
    return agg.Series.of(t, v, st, [r[1] for r in rows], numeric)


def test_average_min_max_count_use_good_values_and_mark_partial_last_interval() -> None:
    s = series([(0, 1.0, GOOD), (3, 5.0, GOOD), (10, 2.0, GOOD), (12, 9.0, BAD), (14, 4.0, GOOD), (21, 7.0, GOOD)])
    avg = agg.compute(Aggregate.AVERAGE, s, 0, 25, 10)
    assert avg == [
        (3.0, GOOD | CALCULATED, None),
        (3.0, UNCERTAIN_DATA_SUB_NORMAL | CALCULATED, None),
        (7.0, GOOD | CALCULATED | PARTIAL, None),
    ]
    assert [r[0] for r in agg.compute(Aggregate.MINIMUM, s, 0, 25, 10)] == [1.0, 2.0, 7.0]
    assert [r[0] for r in agg.compute(Aggregate.MAXIMUM, s, 0, 25, 10)] == [5.0, 4.0, 7.0]
    assert [r[0] for r in agg.compute(Aggregate.COUNT, s, 0, 25, 10)] == [2, 2, 1]


def test_empty_intervals_are_bad_no_data_and_count_zero() -> None:
    s = series([(0, 1.0, GOOD)])
    assert agg.compute(Aggregate.AVERAGE, s, 0, 20, 10)[1] == (None, BAD_NO_DATA, None)
    assert agg.compute(Aggregate.COUNT, s, 0, 20, 10)[1] == (0, GOOD | CALCULATED, None)
    only_bad = series([(0, 1.0, BAD)])
    assert agg.compute(Aggregate.MINIMUM, only_bad, 0, 10, 10) == [(None, BAD_NO_DATA, None)]


def test_start_and_end_return_raw_values_with_their_status_and_time() -> None:
    s = series([(2, 1.5, UNCERTAIN), (5, 2.5, GOOD), (8, 3.5, BAD)])
    assert agg.compute(Aggregate.START, s, 0, 10, 10) == [(1.5, UNCERTAIN, 2)]
    assert agg.compute(Aggregate.END, s, 0, 10, 10) == [(3.5, BAD, 8)]
    assert agg.compute(Aggregate.START, s, 10, 20, 10) == [(None, BAD_NO_DATA, None)]


def test_interpolative_is_the_sloped_bound_at_each_interval_start() -> None:
    s = series([(0, 10.0, GOOD), (10, 20.0, GOOD), (20, 40.0, GOOD)])
    got = agg.compute(Aggregate.INTERPOLATIVE, s, 5, 25, 5)
    # by hand: t=5 -> 15, t=10 -> 20 (a raw value), t=15 -> 30, t=20 -> 40 (raw)
    assert [r[0] for r in got] == [15.0, 20.0, 30.0, 40.0]
    assert got[0][1] == GOOD | INTERPOLATED and got[1][1] == GOOD


def test_interpolative_extrapolates_stepped_before_nothing_and_says_no_data_before_anything() -> None:
    s = series([(10, 1.0, GOOD), (20, 3.0, GOOD)])
    assert agg.bound(s, 5) == (None, BAD_NO_DATA, None)
    assert agg.bound(s, 30) == (3.0, UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED, None)
    with_bad = series([(10, 1.0, GOOD), (15, 99.0, BAD), (20, 3.0, GOOD)])
    value, status, _ = agg.bound(with_bad, 17)
    assert value == pytest.approx(1.0 + 2.0 * 7 / 10) and status == UNCERTAIN_DATA_SUB_NORMAL | INTERPOLATED


def test_interpolative_of_a_string_point_is_stepped() -> None:
    s = series([(0, "off", GOOD), (10, "on", GOOD)], numeric=False)
    assert agg.bound(s, 5) == ("off", GOOD | INTERPOLATED, None)
    assert agg.compute(Aggregate.AVERAGE, s, 0, 10, 10)[0][1] == agg.BAD_AGGREGATE_INVALID_INPUTS


def _brute_time_average(points: list[tuple[int, float]], a: int, b: int, steps: int = 200_000) -> float:
    """The mean over [a, b] of the straight lines through ``points``, by sampling (no shared code)."""
    xs = np.linspace(a, b, steps)
    ys = np.interp(xs, [p[0] for p in points], [p[1] for p in points])
    return float(ys.mean())


def test_time_average_integrates_lines_through_the_interpolated_bounds() -> None:
    rows = [(-5, 0.0, GOOD), (3, 8.0, GOOD), (6, 2.0, GOOD), (14, 10.0, GOOD), (30, 2.0, GOOD)]
    s = series(rows)
    got = agg.compute(Aggregate.TIME_AVERAGE, s, 0, 20, 10)
    pts = [(r[0], r[1]) for r in rows]
    assert got[0][0] == pytest.approx(_brute_time_average(pts, 0, 10), rel=1e-4)
    assert got[1][0] == pytest.approx(_brute_time_average(pts, 10, 20), rel=1e-4)
    assert got[0][1] == GOOD | CALCULATED


def test_time_average_without_a_start_bound_covers_less_and_is_uncertain() -> None:
    s = series([(4, 2.0, GOOD), (8, 6.0, GOOD), (12, 6.0, GOOD)])
    value, status, _ = agg.compute(Aggregate.TIME_AVERAGE, s, 0, 10, 10)[0]
    # covered from 4 to 10: line 2 -> 6 over [4, 8], then 6 over [8, 10]: (16 + 12) / 6
    assert value == pytest.approx(28 / 6) and status == UNCERTAIN_DATA_SUB_NORMAL | CALCULATED


def test_random_series_average_min_max_equal_plain_python() -> None:
    rng = np.random.default_rng(5)
    t = np.sort(rng.choice(10_000, 500, replace=False)).astype(np.int64)
    v = rng.normal(size=500)
    st = np.where(rng.random(500) < 0.1, BAD, GOOD).astype(np.uint32)
    s = agg.Series.of(t, v, st, v.tolist())
    for k, (a, st_) in enumerate(
        zip(
            agg.interval_starts(0, 10_000, 700).tolist(), agg.compute(Aggregate.AVERAGE, s, 0, 10_000, 700), strict=True
        )
    ):
        good = [float(x) for x, tt, ss in zip(v, t, st, strict=True) if a <= tt < a + 700 and ss == GOOD]
        assert st_[0] == pytest.approx(sum(good) / len(good)), k
    mins = agg.compute(Aggregate.MINIMUM, s, 0, 10_000, 700)
    assert mins[3][0] == min(float(x) for x, tt, ss in zip(v, t, st, strict=True) if 2100 <= tt < 2800 and ss == GOOD)
