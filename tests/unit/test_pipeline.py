"""The value path: scale/offset, datatype coercion, clamp/range and deadband."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.ingest.pipeline import PointPipeline
from gateway.model import DataType, Deadband, Transform
from gateway.sample import Quality, Sample
from tests.conftest import make_point

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _s(v: object, status: str = "Good") -> Sample:
    return Sample("a.p", v, T0, Quality.of_status(status), status, None, "sim1")  # type: ignore[arg-type]


def test_scale_offset_and_int_coercion() -> None:
    pp = PointPipeline(make_point(datatype=DataType.FLOAT, transform=Transform(scale=0.1, offset=1.0)))
    out = pp.process(_s(215))
    assert out is not None and abs(out.value - 22.5) < 1e-9  # type: ignore[operator]
    ip = PointPipeline(make_point(datatype=DataType.INT16, unit="UNITLESS"))
    assert ip.process(_s(3.6)).value == 4  # type: ignore[union-attr]


def test_type_problem_turns_bad_with_reason() -> None:
    pp = PointPipeline(make_point(datatype=DataType.FLOAT))
    out = pp.process(_s("not a number"))
    assert out is not None and out.quality is Quality.BAD and out.status == "BadTypeMismatch"
    assert "not a number" in (out.reason or "")
    ip = PointPipeline(make_point(datatype=DataType.UINT16, unit="UNITLESS"))
    out = ip.process(_s(70000))
    assert out is not None and out.status == "BadOutOfRange"


def test_range_marks_uncertain_or_clamps() -> None:
    pp = PointPipeline(make_point(min=0, max=100))
    out = pp.process(_s(150))
    assert out is not None and out.quality is Quality.UNCERTAIN
    assert out.status == "UncertainEngineeringUnitsExceeded" and out.value == 150
    cp = PointPipeline(make_point(min=0, max=100, transform=Transform(clamp=True)))
    out = cp.process(_s(150))
    assert out is not None and out.value == 100 and out.status == "GoodClamped"


def test_deadband_suppresses_small_changes_but_not_quality_changes() -> None:
    pp = PointPipeline(make_point(transform=Transform(deadband=Deadband(absolute=0.5))))
    assert pp.process(_s(10.0)) is not None
    assert pp.process(_s(10.3)) is None
    assert pp.process(_s(10.4)) is None
    assert pp.process(_s(10.6)) is not None
    assert pp.process(_s(10.6, "UncertainLastUsableValue")) is not None
    assert pp.process(_s(10.6)) is not None
    assert pp.suppressed == 2


def test_deadband_percent_and_max_interval() -> None:
    pp = PointPipeline(make_point(min=0, max=200, transform=Transform(deadband=Deadband(percent=1, max_interval=0.0))))
    assert pp.process(_s(10.0)) is not None
    # max_interval 0: everything passes even within the 2.0 band
    assert pp.process(_s(10.5)) is not None
    pp2 = PointPipeline(make_point(min=0, max=200, transform=Transform(deadband=Deadband(percent=1))))
    assert pp2.process(_s(10.0)) is not None
    assert pp2.process(_s(11.9)) is None
    assert pp2.process(_s(12.1)) is not None
