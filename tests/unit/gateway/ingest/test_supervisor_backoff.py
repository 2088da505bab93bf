"""Reconnect backoff: capped doubling with bounded jitter."""

from __future__ import annotations

import itertools
import random

from adapters.contract.config import backoff_delays


def test_doubles_then_caps() -> None:
    delays = list(itertools.islice(backoff_delays(1.0, 30.0, 0.0), 8))
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_stays_within_bounds() -> None:
    rng = random.Random(5)
    delays = list(itertools.islice(backoff_delays(1.0, 8.0, 0.2, rng), 200))
    assert 0.8 <= delays[0] <= 1.2
    assert all(d <= 8.0 * 1.2 for d in delays)
    assert len({round(d, 3) for d in delays[10:]}) > 10  # jitter spreads reconnect storms
