"""A generated series with injected, labelled faults: a boiler's supply temperature, deterministic for a seed.

Used by the quality evaluation (``bench/_analytics_quality.py``) and the tests, and handy to try
``twinbridge anomaly replay`` without data of one's own (``write_csv``). The faults are those the demo's PLC
simulation injects: a spike, a stuck sensor, a drift and a pump failure (the temperature steps down).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

DAY = 86_400.0
START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault: its kind and when it lasts (epoch seconds, end exclusive)."""

    kind: str  # spike | stuck | drift | pump_failure
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class LabelledSeries:
    """Timestamps (epoch seconds), values, and the faults injected into them."""

    name: str
    times: list[float]
    values: list[float]
    faults: tuple[Fault, ...]

    def windows(self, tail: float = 900.0) -> list[tuple[float, float]]:
        """The anomaly windows: each fault plus ``tail`` seconds (a detector may see a fault's end too)."""
        return [(f.start, f.end + tail) for f in self.faults]


# (kind, start in days, duration in seconds): after three days of normal operation to learn from
FAULTS = (
    ("spike", 3.55, 60.0),
    ("stuck", 4.7, 3 * 3_600.0),
    ("drift", 5.8, 8 * 3_600.0),
    ("pump_failure", 7.4, 2 * 3_600.0),
    ("spike", 8.52, 60.0),
)


def generate(days: float = 10.0, step: float = 60.0, seed: int = 17) -> LabelledSeries:
    """A daily-cycling temperature (°C) with weather wander, sensor noise and the ``FAULTS`` injected."""
    rng = np.random.default_rng(seed)
    n = int(days * DAY / step)
    t0 = START.timestamp()
    times = t0 + np.arange(n) * step
    hours = (times % DAY) / 3_600.0
    wander = np.zeros(n)  # slow AR(1) weather effect, about ±1 K
    shocks = rng.normal(0.0, 0.02 * math.sqrt(step / 60.0), n)
    keep = math.exp(-step / (6 * 3_600.0))
    for i in range(1, n):
        wander[i] = keep * wander[i - 1] + shocks[i]
    values = 60.0 + 4.0 * np.sin(2 * math.pi * (hours - 9.0) / 24.0) + wander + rng.normal(0.0, 0.25, n)
    faults = []
    for kind, day, duration in FAULTS:
        start = t0 + day * DAY
        end = start + duration
        inside = (times >= start) & (times < end)
        idx = np.flatnonzero(inside)
        if not len(idx):
            continue
        if kind == "spike":
            values[idx] += 5.0 if day < 8 else -5.0
        elif kind == "stuck":
            values[idx] = values[idx[0] - 1]
        elif kind == "drift":
            values[idx] += 6.0 * (times[idx] - start) / duration
        elif kind == "pump_failure":
            values[idx] -= 20.0
        faults.append(Fault(kind, start, end))
    values = np.round(values, 2)  # the sensor's resolution
    return LabelledSeries("generated_faults", times.tolist(), values.tolist(), tuple(faults))


def write_csv(series: LabelledSeries, path: str | Path) -> Path:
    """The series as a ``timestamp,value`` CSV (ISO 8601 UTC timestamps), as ``anomaly replay`` reads it."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "value"])
        for t, v in zip(series.times, series.values, strict=True):
            w.writerow([datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), repr(v)])
    return path
