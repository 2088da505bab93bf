"""The detectors by name, and what every detector offers the engine and the replay command.

A detector scores a batch of (epoch seconds, value) in time order and learns from each value after scoring it;
scores are in [0, 1] (0 during its warm-up), and a score above the threshold (``DetectorSpec.threshold``, else
the detector's ``default_threshold``) is an anomaly. ``to_state()`` is JSON-able data that ``restore`` turns
back into a detector that continues where it left off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

from gateway.analytics.anomaly.seasonal import SeasonalDetector

NAMES = ("seasonal", "hst")
INSTALL_HST = "pip install 'twinbridge[anomaly]'  (or: pip install river)"


class DetectorError(ValueError):
    """A detector that cannot be made: an unknown name, bad parameters, or a missing optional package."""


class Detector(Protocol):
    name: ClassVar[str]
    default_threshold: ClassVar[float]

    def score(self, times: Sequence[float], values: Sequence[float]) -> list[float]: ...

    def to_state(self) -> dict[str, Any]: ...


def make_detector(name: str, season: float | None = 86_400.0, params: Mapping[str, Any] | None = None) -> Detector:
    """A fresh detector (``DetectorError`` says what is wrong)."""
    params = dict(params or {})
    try:
        if name == "seasonal":
            return SeasonalDetector.from_params(season, params)
        if name == "hst":
            from gateway.analytics.anomaly.hst import HalfSpaceTreesDetector

            return HalfSpaceTreesDetector.from_params(season, params)
    except ImportError as exc:
        raise DetectorError(f"detector 'hst' needs the river package: {INSTALL_HST} ({exc})") from exc
    except (TypeError, ValueError) as exc:
        raise DetectorError(f"detector '{name}': {exc}") from exc
    raise DetectorError(f"unknown detector '{name}' (known: {', '.join(NAMES)})")


def restore(state: Mapping[str, Any]) -> Detector:
    """The detector a ``to_state()`` describes (``DetectorError`` when it cannot be restored)."""
    name = state.get("detector")
    try:
        if name == "seasonal":
            return SeasonalDetector.from_state(state)
        if name == "hst":
            from gateway.analytics.anomaly.hst import HalfSpaceTreesDetector

            return HalfSpaceTreesDetector.from_state(state)
    except ImportError as exc:
        raise DetectorError(f"detector 'hst' needs the river package: {INSTALL_HST}") from exc
    except (TypeError, ValueError) as exc:
        raise DetectorError(f"cannot restore a '{name}' detector: {exc}") from exc
    raise DetectorError(f"cannot restore an unknown detector '{name}'")


def threshold_of(detector: Detector, threshold: float | None) -> float:
    """The threshold given, else the detector's default."""
    return detector.default_threshold if threshold is None else threshold
