"""Windows over one point's values: step-held values, sliding expiry, monotonic min/max, running integral."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from gateway.analytics.windows import EmptyWindow, LastChange, LastTwo, RunningIntegral, SeriesWindow, WindowSet


@dataclass(frozen=True)
class Key:
    function: str
    point: str
    seconds: float | None


def _brute_held(samples: list[tuple[float, float]], start: float, now: float) -> list[tuple[float, float, float]]:
    """(from, to, value) stretches of the held values inside [start, now]."""
    out = []
    for i, (t, v) in enumerate(samples):
        end = samples[i + 1][0] if i + 1 < len(samples) else now
        lo, hi = max(t, start), min(end, now)
        if hi > lo or (hi == lo and i == len(samples) - 1 and t <= now):
            out.append((lo, hi, v))
    return out


def test_time_weighted_average_holds_each_value_until_the_next() -> None:
    w = SeriesWindow(10)
    w.add(0, 10.0)
    w.add(5, 20.0)
    assert w.average(10) == pytest.approx(15.0)  # 5 s of 10, 5 s of 20
    assert w.integral(10) == pytest.approx(150.0)
    # at 12 the window is [2, 12]: 3 s of 10 and 7 s of 20
    assert w.average(12) == pytest.approx((3 * 10 + 7 * 20) / 10)


def test_the_value_holding_at_the_window_start_counts_from_the_start() -> None:
    w = SeriesWindow(60)
    w.add(0, 1.0)
    w.add(100, 3.0)
    # window [60, 120]: 1 held from 60 to 100, then 3
    assert w.average(120) == pytest.approx((40 * 1 + 20 * 3) / 60)
    assert w.minimum(120) == 1.0
    assert w.delta(120) == 2.0
    w.add(170, 5.0)  # now the window is [110, 170]: the 1 no longer holds in it
    assert w.minimum(170) == 3.0
    assert len(w) == 2


def test_min_max_avg_integral_match_a_brute_force_over_random_series() -> None:
    rng = random.Random(7)
    w = SeriesWindow(30, track_min=True, track_max=True)
    samples: list[tuple[float, float]] = []
    t = now = 0.0
    for _ in range(600):
        t += rng.uniform(0.1, 3.0)
        v = rng.uniform(-50, 50)
        w.add(t, v)
        samples.append((t, v))
        now = max(now, t + rng.uniform(0, 2))  # the engine asks at the wall clock: time moves forward
        held = _brute_held(samples, now - 30, now)
        assert w.minimum(now) == min(v for _, _, v in held)
        assert w.maximum(now) == max(v for _, _, v in held)
        area = sum((b - a) * v for a, b, v in held)
        assert w.integral(now) == pytest.approx(area, rel=1e-9, abs=1e-6)
        span = now - max(now - 30, samples[0][0])
        assert w.average(now) == pytest.approx(area / span, rel=1e-9, abs=1e-6)


def test_rate_and_delta_across_a_window() -> None:
    w = SeriesWindow(60)
    w.add(0, 100.0)
    w.add(30, 130.0)
    w.add(60, 160.0)
    assert w.delta(60) == 60.0
    assert w.rate(60) == pytest.approx(1.0)  # per second


def test_an_empty_window_has_no_value() -> None:
    with pytest.raises(EmptyWindow):
        SeriesWindow(10).average(5)
    with pytest.raises(EmptyWindow):
        RunningIntegral().value(5)
    with pytest.raises(EmptyWindow):
        LastChange().seconds_since(5)


def test_rate_without_window_is_the_slope_of_the_last_two_samples() -> None:
    r = LastTwo()
    r.add(0, 1.0)
    assert r.rate() == 0.0
    r.add(2, 5.0)
    assert r.rate() == 2.0


def test_running_integral_skips_outages_and_continues_from_a_snapshot() -> None:
    i = RunningIntegral()
    i.add(0, 2.0)
    i.add(10, 4.0)  # 20 so far
    i.gap(15)  # 4 until 15: 40, then nothing
    i.add(100, 1.0)
    assert i.value(110) == pytest.approx(50.0)
    saved = i.snapshot(110)
    again = RunningIntegral()
    again.restore(saved)
    again.add(500, 1.0)  # the time between the snapshot and the next sample is not counted
    assert again.value(510) == pytest.approx(60.0)


def test_last_change_counts_from_the_last_different_value() -> None:
    c = LastChange()
    c.add(0, 1)
    c.add(5, 1)
    assert c.seconds_since(10) == 10
    c.add(12, 2)
    assert c.seconds_since(20) == 8


def test_window_set_shares_a_series_per_point_and_length_and_skips_bad_values() -> None:
    keys = [Key("avg", "p", 60), Key("max", "p", 60), Key("integral", "p", None), Key("last_change", "q", None)]
    ws = WindowSet(keys)
    assert len(ws.series) == 1
    assert ws.points() == {"p", "q"}
    ws.feed("p", 0, 10.0, False)
    ws.feed("p", 10, 99.0, True)  # Bad: not taken; the integral stops at 10
    ws.feed("p", 20, 20.0, False)
    assert ws.value(Key("max", "p", 60), 30) == 20.0
    assert ws.value(Key("integral", "p", None), 30) == pytest.approx(10 * 10 + 10 * 20)
    ws.feed("q", 5, "on", False)
    assert ws.value(Key("last_change", "q", None), 30) == 25.0


def test_a_value_window_without_length_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a window length"):
        WindowSet([Key("avg", "p", None)])
