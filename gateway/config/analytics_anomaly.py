"""Anomaly detectors as written: ``anomaly: true | {detector, threshold, season, alarm, severity, params}`` on a
point, or a top-level class detector with ``select:``. A point's detector publishes its score as the derived
point ``<point id>_anomaly``, added to the model here (with its ANOMALY alarm rule when ``alarm`` is on).
"""

from __future__ import annotations

from typing import Any, cast, get_args

from adapters.contract.model import DataType, Point, PointKind
from gateway.config.analytics_values import Place, Refused, duration, flag, keys_known, severity
from gateway.config.context import origin
from gateway.rules.spec import (
    ANOMALY_THRESHOLDS,
    DERIVED_SOURCE,
    AlarmKind,
    AlarmRule,
    DerivedAddress,
    DetectorName,
    DetectorSpec,
)

DETECTOR_KEYS = ("detector", "threshold", "season", "alarm", "severity", "params")
DETECTORS: tuple[str, ...] = get_args(DetectorName)
SCORE_SUFFIX = "_anomaly"


def detector(raw: Any, place: Place, extra: tuple[str, ...] = ()) -> DetectorSpec | None:
    """The detector written at ``place`` (``true`` or a mapping); None for ``false`` or when anything is wrong."""
    if raw is False or raw is None:
        return None
    if raw is True:
        return DetectorSpec(origin=origin(place.doc, place.path))
    if not isinstance(raw, dict):
        place.error("anomaly: is true, or a mapping such as {detector: seasonal, threshold: 0.99, alarm: true}")
        return None
    before = len(place.errors)
    keys_known(raw, (*DETECTOR_KEYS, *extra), place, "anomaly:")
    fields: dict[str, Any] = {}
    for key in DETECTOR_KEYS:
        if key not in raw:
            continue
        try:
            fields[key] = _value(key, raw[key])
        except Refused as exc:
            place.at(key).error(str(exc))
    if len(place.errors) > before:
        return None
    return DetectorSpec(**fields, origin=origin(place.doc, place.path))


def _value(key: str, raw: Any) -> Any:
    if key == "detector":
        if raw not in DETECTORS:
            raise Refused(f"unknown detector {raw!r} (known: {', '.join(DETECTORS)}; seasonal needs no tuning)")
        return cast(DetectorName, raw)
    if key == "threshold":
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
            raise Refused(f"threshold is the anomaly score above which the alarm is raised, a number > 0 (got {raw!r})")
        return float(raw)
    if key == "season":
        if raw in (None, False, "none", "off"):
            return None
        seconds = duration(raw, "season")
        if seconds <= 0:
            raise Refused("season is the length of the cycle (e.g. 1d, 7d), or none for no seasonality")
        return seconds
    if key == "alarm":
        return flag(key, raw)
    if key == "severity":
        return severity(raw)
    if not isinstance(raw, dict):
        raise Refused("params is a mapping of the detector's own settings")
    return dict(raw)


def score_point(point: Point, spec: DetectorSpec) -> Point:
    """The derived point a detector on ``point`` publishes its score as."""
    return Point(
        id=point.id + SCORE_SUFFIX,
        asset=point.asset,
        kind=PointKind.MEASUREMENT,
        datatype=DataType.DOUBLE,
        source=DERIVED_SOURCE,
        address=DerivedAddress(aggregate=f"anomaly score of {point.id} ({spec.detector})"),
        label=f"{point.label} anomaly score",
        unit="UNITLESS",
        description=f"How unusual {point.id} is now ({spec.detector} detector)",
        location=point.location,
        origin=spec.origin,
    )


def point_detector(raw: Any, place: Place, point: Point, taken: set[str]) -> tuple[DetectorSpec, Point] | None:
    """A detector on ``point`` with its score point (``taken``: every point id, so the score's is free)."""
    spec = detector(raw, place)
    if spec is None:
        return None
    if not point.datatype.is_numeric:
        place.error(f"anomaly detection needs a numeric point (this one is {point.datatype.value}): remove anomaly:")
        return None
    sid = point.id + SCORE_SUFFIX
    if sid in taken:
        place.error(f"the detector's score point would be {sid}, which is already a point: rename that point")
        return None
    spec = DetectorSpec(
        detector=spec.detector,
        threshold=spec.threshold,
        alarm=spec.alarm,
        severity=spec.severity,
        season=spec.season,
        params=spec.params,
        score_point=sid,
        origin=spec.origin,
    )
    return spec, score_point(point, spec)


def score_alarm(spec: DetectorSpec) -> AlarmRule:
    """The ANOMALY rule on a score point: active while the score is above the detector's threshold."""
    return AlarmRule(
        name="anomaly",
        kind=AlarmKind.ANOMALY,
        severity=spec.severity,
        threshold=spec.threshold if spec.threshold is not None else ANOMALY_THRESHOLDS[spec.detector],
        origin=spec.origin,
    )
