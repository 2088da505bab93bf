"""The anomaly detectors as pure functions of their input: warm-up, spikes, stuck values, state round-trips."""

from __future__ import annotations

import json
import math
import random

import pytest

from gateway.analytics.anomaly.detectors import DetectorError, make_detector, restore
from gateway.analytics.anomaly.seasonal import SeasonalDetector
from gateway.analytics.anomaly.synthetic import generate

HOUR = 3_600.0


def noisy(n: int, step: float = 60.0, seed: int = 3) -> tuple[list[float], list[float]]:
    """A daily sine with noise, sampled every ``step`` seconds."""
    rng = random.Random(seed)
    times = [i * step for i in range(n)]
    values = [20 + 3 * math.sin(2 * math.pi * t / 86_400) + rng.gauss(0, 0.2) for t in times]
    return times, values


def test_the_warm_up_scores_zero_then_normal_values_score_low() -> None:
    det = SeasonalDetector(warmup=30)
    times, values = noisy(3 * 1440)
    scores = det.score(times, values)
    assert scores[:30] == [0.0] * 30
    assert all(0.0 <= s < 1.0 for s in scores)
    late = scores[1440:]
    assert sum(s > det.default_threshold for s in late) / len(late) < 0.01


def test_a_spike_scores_above_the_threshold() -> None:
    det = SeasonalDetector()
    times, values = noisy(3 * 1440)
    det.score(times, values)
    t = times[-1]
    (quiet,) = det.score([t + 60], [values[-1] + 0.1])
    (spike,) = det.score([t + 120], [values[-1] + 8.0])
    assert quiet < det.default_threshold < spike


def test_a_stuck_value_is_flagged_when_the_series_rarely_repeats() -> None:
    det = SeasonalDetector()
    times, values = noisy(2 * 1440)
    det.score(times, values)
    stuck = [values[-1]] * 30
    scores = det.score([times[-1] + 60 * (i + 1) for i in range(30)], stuck)
    assert scores[0] < det.default_threshold < max(scores)


def test_the_generated_faults_are_found_with_few_alarms_elsewhere() -> None:
    series = generate(days=10)
    det = make_detector("seasonal")
    flags = [s > det.default_threshold for s in det.score(series.times, series.values)]
    windows = series.windows()
    for fault, (lo, hi) in zip(series.faults, windows, strict=True):
        assert any(f for t, f in zip(series.times, flags, strict=True) if lo <= t <= hi), fault.kind
    onsets = [t for i, t in enumerate(series.times) if flags[i] and not flags[i - 1]]
    outside = [t for t in onsets if not any(lo <= t <= hi for lo, hi in windows) and t > series.times[0] + 86_400]
    assert len(outside) <= 2


def test_the_state_round_trips_through_json_and_continues_identically() -> None:
    times, values = noisy(2 * 1440)
    whole = SeasonalDetector()
    expected = whole.score(times, values)
    first = SeasonalDetector()
    got = first.score(times[:1500], values[:1500])
    state = json.loads(json.dumps(first.to_state()))
    again = restore(state)
    got += again.score(times[1500:], values[1500:])
    assert got == expected
    assert again.to_state() == whole.to_state()


def test_bad_states_and_names_are_refused_with_a_reason() -> None:
    with pytest.raises(DetectorError, match=r"unknown detector 'nope'.*seasonal, hst"):
        make_detector("nope")
    with pytest.raises(DetectorError, match=r"unknown seasonal parameter.*window"):
        make_detector("seasonal", params={"window": 3})
    with pytest.raises(DetectorError, match="season must be positive"):
        make_detector("seasonal", season=-1)
    state = SeasonalDetector().to_state()
    with pytest.raises(DetectorError, match="version"):
        restore({**state, "version": 99})
    with pytest.raises(DetectorError, match="incomplete"):
        restore({k: v for k, v in state.items() if k != "level"})
    with pytest.raises(DetectorError, match="unknown detector"):
        restore({"detector": "other"})


def test_nan_values_are_skipped_without_learning() -> None:
    det = SeasonalDetector(warmup=5)
    scores = det.score([0, 60, 120], [1.0, math.nan, math.inf])
    assert scores == [0.0, 0.0, 0.0] and det.count == 1


def test_half_space_trees_scores_and_round_trips() -> None:
    pytest.importorskip("river", reason="pip install 'twinbridge[anomaly]' (river) for the hst detector")
    times, values = noisy(1200)
    det = make_detector("hst", params={"window_size": 100})
    scores = det.score(times[:800], values[:800])
    assert scores[:100] == [0.0] * 100 and all(0.0 <= s <= 1.0 for s in scores)
    copy = restore(json.loads(json.dumps(det.to_state())))
    assert copy.score(times[800:], values[800:]) == det.score(times[800:], values[800:])
