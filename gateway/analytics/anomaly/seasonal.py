"""The default detector: a robust seasonal baseline that needs no tuning.

Three views of each new value, each learned online with time-based rates (so 1 s and 5 min data behave alike):

- **season**: per slot of the cycle (24 hour-of-day slots of a daily ``season``), a Huber-clipped exponentially
  weighted location and mean absolute deviation, remembering about ``memory`` cycles. A slot is used once it has
  seen about a third of a cycle's weight (roughly one visit); until then the local view stands in.
- **local**: the same estimate over the last ``local`` seconds (an hour by default): a level shift or a spike
  stands out at once, even before the slots are warm.
- **flat**: a stuck sensor repeats one value. The run of repeats is compared with how often the series repeats
  a value (an exponentially weighted rate taken when the run began), as the surprise ``-ln p^run``.

The deviation ``z`` is ``|x - level| / (1.25 * deviation)`` (1.25 turns a mean absolute deviation into a
standard deviation for normal noise), the season's when its slot is warm, else the local one. It is then
calibrated to the series' own tails: the 99th percentile of ``z`` is tracked, and when it is above the normal
2.6 (a heavy-tailed server metric), ``z`` is scaled down by 2.6 / that percentile. A flat run's surprise is
turned into the same scale (``sqrt(2 * surprise)``, the normal deviation as unlikely). The published deviation
decays over ``hold`` seconds (10 min) from its last high, so one anomaly is one alarm, not a chattering one.
The score is ``1 - exp(-z / 3)``, in [0, 1): 0.63 at 3 sigma, 0.8 (the default threshold) at 4.8, 0.96 at 10.
The first ``warmup`` samples score 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from gateway.rules.spec import ANOMALY_THRESHOLDS

CLIP = 3.0  # Huber clipping, in mean absolute deviations: one wild value moves the baseline a bounded step
SIGMA_PER_MAD = 1.25  # standard deviation / mean absolute deviation for normal noise
TAIL_LEVEL = 0.99  # the quantile of the deviation tracked per series
TAIL_REF = 2.6  # that quantile for normal noise: a heavier tail scales deviations down by TAIL_REF / tail
TAIL_RATE = 3.0  # log-quantile step per season (per day for a daily season)
SCORE_SCALE = 3.0  # score = 1 - exp(-z / SCORE_SCALE)
SLOT_WARM = 0.25  # accumulated weight at which a season slot is trusted (one visit at memory 3)
STATE_VERSION = 1


class SeasonalDetector:
    """Robust seasonal baseline: per slot of the season, a local level, and a flat-run test."""

    name: ClassVar[str] = "seasonal"
    default_threshold: ClassVar[float] = ANOMALY_THRESHOLDS["seasonal"]  # tuned: docs/analytics.md

    def __init__(
        self,
        season: float | None = 86_400.0,
        *,
        slots: int = 24,
        memory: float = 3.0,
        local: float = 3_600.0,
        warmup: int = 30,
        flat: bool = True,
        hold: float = 600.0,
    ) -> None:
        if season is not None and season <= 0:
            raise ValueError(f"season must be positive seconds (got {season})")
        if slots < 1 or memory <= 0 or local <= 0 or warmup < 2:
            raise ValueError("slots >= 1, memory > 0, local > 0 and warmup >= 2 are required")
        self.season = season
        self.slots = slots if season is not None else 1
        self.memory = memory
        self.local = local
        self.warmup = warmup
        self.flat = flat
        self.hold = hold
        self.held = 0.0  # the deviation published: a high one decays over ``hold`` seconds (no chattering alarm)
        self.count = 0
        self.tail = TAIL_REF
        self.last_t: float | None = None
        self.last_x: float | None = None
        self.level = 0.0  # local level and mean absolute deviation
        self.dev = 0.0
        self.spread = 0.0  # slow mean absolute deviation of the whole series: floors the other deviations
        self.repeat = 0.05  # exponentially weighted rate of a value equal to the previous one
        self.run = 0  # repeats of the current value
        self.run_repeat = 0.05  # ``repeat`` when the run began
        self.slot_level = [0.0] * self.slots
        self.slot_dev = [0.0] * self.slots
        self.slot_weight = [0.0] * self.slots
        self.first: list[float] = []  # the warm-up values (median start)

    @classmethod
    def from_params(cls, season: float | None, params: Mapping[str, Any]) -> SeasonalDetector:
        """A detector from a ``DetectorSpec``'s season and params (unknown params: ``ValueError``)."""
        known = {"slots", "memory", "local", "warmup", "flat", "hold"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown seasonal parameter(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(season, **params)

    # -- scoring ------------------------------------------------------------------------------------------
    def score(self, times: Sequence[float], values: Sequence[float]) -> list[float]:
        """Score each (epoch seconds, value) in order, learning from each after scoring it."""
        out = [0.0] * len(values)
        season, slots, width = self.season, self.slots, (self.season or 1.0) / self.slots
        slot_tau = width * self.memory  # in-slot seconds remembered: ``memory`` visits' worth
        hold = self.hold
        tail_rate = TAIL_RATE / (season or self.local * 24)
        local_tau, spread_tau = self.local, (season or self.local * 24) * self.memory
        sl, sd, sw = self.slot_level, self.slot_dev, self.slot_weight
        exp, isfinite = math.exp, math.isfinite
        for i in range(len(values)):
            x, t = values[i], times[i]
            if not isfinite(x):
                continue  # NaN/inf: no score, no learning
            if self.count < self.warmup:
                self._warm(x, t)
                continue
            last_t = self.last_t if self.last_t is not None else t
            dt = min(max(t - last_t, 0.0), width)
            # the local view
            floor = 1e-3 * self.spread + 1e-9 * (1.0 + abs(self.level))
            dev = self.dev if self.dev > floor else floor
            r = x - self.level
            z = abs(r) / (SIGMA_PER_MAD * dev)
            k = int((t % season) // width) if season is not None else 0
            if k >= slots:
                k = slots - 1
            if sw[k] >= SLOT_WARM:
                sdev = sd[k] if sd[k] > floor else floor
                z = abs(x - sl[k]) / (SIGMA_PER_MAD * sdev)
            # calibrated to the series' own tails: a heavy-tailed series' usual extremes are no anomalies
            tail = self.tail
            ta = dt * tail_rate
            self.tail = tail * exp(ta * TAIL_LEVEL if z > tail else ta * (TAIL_LEVEL - 1.0))
            if tail > TAIL_REF:
                z *= TAIL_REF / tail
            if self.flat:
                if x == self.last_x:
                    if self.run == 0:
                        self.run_repeat = self.repeat
                    self.run += 1
                    p = min(max(self.run_repeat, 0.02), 0.98)
                    zf = math.sqrt(-2.0 * self.run * math.log(p))
                    z = max(z, zf)
                    self.repeat += 0.002 * (1.0 - self.repeat)
                else:
                    self.run = 0
                    self.repeat -= 0.002 * self.repeat
            held = self.held * exp(-dt / hold) if hold > 0 else 0.0
            self.held = z if z > held else held
            out[i] = 1.0 - exp(-self.held / SCORE_SCALE)
            # learn: local, slow spread, then the slot (initialized from the local view on its first visit)
            a = 1.0 - exp(-dt / local_tau) if dt > 0 else 0.0
            c = CLIP * dev
            self.level += a * (r if -c <= r <= c else (c if r > 0 else -c))
            self.dev += a * ((abs(r) if abs(r) < c else c) - self.dev)
            sa = 1.0 - exp(-dt / spread_tau) if dt > 0 else 0.0
            self.spread += sa * (min(abs(r), CLIP * max(self.spread, dev)) - self.spread)
            if sw[k] == 0.0:
                sl[k], sd[k] = self.level, self.dev
            ka = 1.0 - exp(-dt / slot_tau) if dt > 0 else 0.0
            sr = x - sl[k]
            sc = CLIP * (sd[k] if sd[k] > floor else floor)
            sl[k] += ka * (sr if -sc <= sr <= sc else (sc if sr > 0 else -sc))
            sd[k] += ka * ((abs(sr) if abs(sr) < sc else sc) - sd[k])
            sw[k] += ka
            self.last_t, self.last_x = t, x
            self.count += 1
        return out

    def _warm(self, x: float, t: float) -> None:
        """Collect the first values; at the end of the warm-up start from their median and mean deviation."""
        self.first.append(x)
        if self.last_x is not None and self.flat:
            self.repeat += ((1.0 if x == self.last_x else 0.0) - self.repeat) / self.warmup
        self.last_t, self.last_x = t, x
        self.count += 1
        if self.count == self.warmup:
            ordered = sorted(self.first)
            mid = ordered[len(ordered) // 2]
            self.level = mid
            self.dev = sum(abs(v - mid) for v in ordered) / len(ordered)
            self.spread = self.dev
            self.first = []

    # -- persistence ----------------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Everything learned, as JSON-able data."""
        return {
            "detector": self.name,
            "version": STATE_VERSION,
            "config": {
                "season": self.season,
                "slots": self.slots,
                "memory": self.memory,
                "local": self.local,
                "warmup": self.warmup,
                "flat": self.flat,
                "hold": self.hold,
            },
            "count": self.count,
            "last_t": self.last_t,
            "last_x": self.last_x,
            "level": self.level,
            "dev": self.dev,
            "spread": self.spread,
            "repeat": self.repeat,
            "run": self.run,
            "run_repeat": self.run_repeat,
            "held": self.held,
            "tail": self.tail,
            "slot_level": self.slot_level,
            "slot_dev": self.slot_dev,
            "slot_weight": self.slot_weight,
            "first": self.first,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> SeasonalDetector:
        """A detector that continues where ``to_state`` left off (``ValueError`` on a state it cannot read)."""
        if state.get("detector") != cls.name or state.get("version") != STATE_VERSION:
            raise ValueError(f"not a {cls.name} state of version {STATE_VERSION}")
        try:
            det = cls(**state["config"])
            for key in ("count", "run"):
                setattr(det, key, int(state[key]))
            for key in ("level", "dev", "spread", "repeat", "run_repeat", "held", "tail"):
                setattr(det, key, float(state[key]))
            det.last_t = None if state["last_t"] is None else float(state["last_t"])
            det.last_x = None if state["last_x"] is None else float(state["last_x"])
            for key in ("slot_level", "slot_dev", "slot_weight"):
                values = [float(v) for v in state[key]]
                if len(values) != det.slots:
                    raise ValueError(f"{key} has {len(values)} slots, expected {det.slots}")
                setattr(det, key, values)
            det.first = [float(v) for v in state["first"]]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete {cls.name} state: {exc}") from exc
        return det
