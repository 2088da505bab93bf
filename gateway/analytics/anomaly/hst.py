"""The optional learned detector: river's Half-Space Trees (``pip install 'twinbridge[anomaly]'``).

Features: the value and, with a season, the position in it (sine and cosine), scaled online to [0, 1] by river's
MinMaxScaler. Each value is scored, then learned. river's score is already in [0, 1]; it is 0 during the first
window (``window_size`` samples). The state is the pickled river pipeline (our own state file only).
"""

from __future__ import annotations

import base64
import math
import pickle
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from river import anomaly, compose, preprocessing

from gateway.rules.spec import ANOMALY_THRESHOLDS

STATE_VERSION = 1


class HalfSpaceTreesDetector:
    """river's HalfSpaceTrees behind the detector interface."""

    name: ClassVar[str] = "hst"
    default_threshold: ClassVar[float] = ANOMALY_THRESHOLDS["hst"]

    def __init__(
        self,
        season: float | None = 86_400.0,
        *,
        n_trees: int = 10,
        height: int = 8,
        window_size: int = 250,
        seed: int = 42,
    ) -> None:
        self.season = season
        self.config = {"n_trees": n_trees, "height": height, "window_size": window_size, "seed": seed}
        self.model: Any = compose.Pipeline(
            preprocessing.MinMaxScaler(),
            anomaly.HalfSpaceTrees(n_trees=n_trees, height=height, window_size=window_size, seed=seed),
        )

    @classmethod
    def from_params(cls, season: float | None, params: Mapping[str, Any]) -> HalfSpaceTreesDetector:
        known = {"n_trees", "height", "window_size", "seed"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown hst parameter(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(season, **params)

    def score(self, times: Sequence[float], values: Sequence[float]) -> list[float]:
        out = [0.0] * len(values)
        model, season = self.model, self.season
        for i, (t, x) in enumerate(zip(times, values, strict=True)):
            if not math.isfinite(x):
                continue
            features = {"value": x}
            if season:
                angle = 2 * math.pi * (t % season) / season
                features["season_sin"], features["season_cos"] = math.sin(angle), math.cos(angle)
            out[i] = float(model.score_one(features))
            model.learn_one(features)
        return out

    def to_state(self) -> dict[str, Any]:
        return {
            "detector": self.name,
            "version": STATE_VERSION,
            "season": self.season,
            "config": self.config,
            "model": base64.b64encode(pickle.dumps(self.model)).decode("ascii"),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> HalfSpaceTreesDetector:
        if state.get("detector") != cls.name or state.get("version") != STATE_VERSION:
            raise ValueError(f"not a {cls.name} state of version {STATE_VERSION}")
        try:
            det = cls(state["season"], **state["config"])
            det.model = pickle.loads(base64.b64decode(state["model"]))  # the gateway's own state file
        except (KeyError, TypeError, pickle.UnpicklingError, EOFError) as exc:
            raise ValueError(f"unreadable {cls.name} state: {exc}") from exc
        return det
