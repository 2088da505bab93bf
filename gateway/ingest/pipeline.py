"""Between adapters and the twin: scale/offset, unit conversion, datatype, clamp/range and deadband.

Each point gets a small compiled ``PointPipeline`` once, so the per-sample work is a few float operations.
A sample whose value cannot become the point's datatype is not dropped: it turns Bad with the reason, so the
integrator sees it in the twin. A deadband suppresses small changes but never a change of quality or status,
and ``max_interval`` lets a value through at least that often.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from adapters.contract import precision
from adapters.contract.coerce import CoercionError, coercer
from adapters.contract.model import Point
from adapters.contract.sample import Quality, Sample, Value
from gateway import units


def _transformer(point: Point) -> Callable[[Value], Value] | None:
    """Scale/offset then unit conversion, or None when the point has neither (the common, fast case)."""
    t = point.transform
    scale = None if t.scale == 1.0 and t.offset == 0.0 else precision.scaler(t.scale, t.offset)
    convert = None
    if t.source_unit and point.unit and t.source_unit != point.unit:
        convert = units.converter(t.source_unit, point.unit)
    if convert is None:
        return scale  # type: ignore[return-value]

    def transform(v: Value) -> Value:
        if scale is not None:
            v = scale(v)  # type: ignore[arg-type]
        return precision.significant(convert(float(v)))  # type: ignore[arg-type]

    return transform


class PointPipeline:
    """The compiled value path of one point."""

    __slots__ = (
        "_coerce",
        "_db_abs",
        "_db_interval",
        "_last_status",
        "_last_time",
        "_last_value",
        "_transform",
        "clamp",
        "max",
        "min",
        "numeric",
        "point",
        "suppressed",
    )

    def __init__(self, point: Point) -> None:
        t = point.transform
        self.point = point.id
        self.numeric = point.datatype.is_numeric
        self._transform = _transformer(point)
        self.clamp = t.clamp
        self.min = point.min
        self.max = point.max
        self._coerce = coercer(point.datatype)
        db = t.deadband
        self._db_abs: float | None = None
        self._db_interval: float | None = None
        if db is not None:
            thresholds = []
            if db.absolute is not None:
                thresholds.append(db.absolute)
            if db.percent is not None and point.min is not None and point.max is not None:
                thresholds.append(db.percent / 100.0 * (point.max - point.min))
            self._db_abs = max(thresholds) if thresholds else None
            self._db_interval = db.max_interval
        self._last_value: Value = None
        self._last_status: str | None = None
        self._last_time = 0.0
        self.suppressed = 0

    def process(self, s: Sample) -> Sample | None:
        """The sample in engineering terms, or None when the deadband suppresses it."""
        value = s.value
        status = s.status
        reason = s.reason
        quality = s.quality
        if value is not None:
            try:
                if self.numeric and not isinstance(value, str):
                    # No float() here: an int64/uint64 beyond 2**53 must stay an exact int.
                    v: Any = value if self._transform is None else self._transform(value)
                    value = v
                    if self.min is not None and v < self.min:
                        if self.clamp:
                            value, status = self.min, "GoodClamped" if quality is Quality.GOOD else status
                        elif quality is Quality.GOOD:
                            quality, status = Quality.UNCERTAIN, "UncertainEngineeringUnitsExceeded"
                            reason = f"{v:g} is below the point's minimum {self.min:g}"
                    elif self.max is not None and v > self.max:
                        if self.clamp:
                            value, status = self.max, "GoodClamped" if quality is Quality.GOOD else status
                        elif quality is Quality.GOOD:
                            quality, status = Quality.UNCERTAIN, "UncertainEngineeringUnitsExceeded"
                            reason = f"{v:g} is above the point's maximum {self.max:g}"
                value = self._coerce(value)
            except CoercionError as exc:
                value, quality, status, reason = None, Quality.BAD, exc.status, exc.reason
            except (TypeError, ValueError) as exc:
                value, quality, status, reason = None, Quality.BAD, "BadTypeMismatch", str(exc)
        if self._db_abs is not None or self._db_interval is not None:
            now = time.monotonic()
            if (
                status == self._last_status
                and value is not None
                and self._last_value is not None
                and self._db_abs is not None
                and self.numeric
                and abs(value - self._last_value) <= self._db_abs  # type: ignore[operator]
                and (self._db_interval is None or now - self._last_time < self._db_interval)
            ):
                self.suppressed += 1
                return None
            self._last_time = now
        self._last_value = value
        self._last_status = status
        if value is s.value and status is s.status:
            return s
        return Sample(s.point, value, s.source_ts, quality, status, reason, s.adapter)

    def reset(self) -> None:
        """Forget the last value (after a reconnect, the first value always passes)."""
        self._last_value = None
        self._last_status = None


class Pipeline:
    """The value paths of every point."""

    def __init__(self, points: Iterable[Point] = ()) -> None:
        self.points: dict[str, PointPipeline] = {}
        self.add_points(points)

    def add_points(self, points: Iterable[Point]) -> None:
        """Compile the value path of (new) points."""
        for p in points:
            self.points[p.id] = PointPipeline(p)

    def process(self, sample: Sample) -> Sample | None:
        """Transform one sample; None when suppressed or for an unknown point."""
        pp = self.points.get(sample.point)
        return None if pp is None else pp.process(sample)

    @property
    def suppressed(self) -> int:
        """Samples the deadbands suppressed."""
        return sum(p.suppressed for p in self.points.values())
