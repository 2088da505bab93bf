"""Anomaly detection: online detectors per point, their engine, and offline replay.

``build(ctx)`` is what the analytics service calls: an ``AnomalyEngine`` when the mapping has detectors, else None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.analytics.anomaly.detectors import Detector, DetectorError, make_detector, restore

if TYPE_CHECKING:
    from gateway.analytics.anomaly.engine import AnomalyEngine
    from gateway.analytics.context import AnalyticsContext

__all__ = ["Detector", "DetectorError", "build", "make_detector", "restore"]


def build(ctx: AnalyticsContext) -> AnomalyEngine | None:
    """The engine running the mapping's detectors (per point and per class, and those of points discovered later)."""
    from gateway.analytics.anomaly.engine import AnomalyEngine

    return AnomalyEngine(ctx)
