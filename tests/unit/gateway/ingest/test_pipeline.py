"""The value path: scale/offset, datatype coercion, clamp/range and deadband."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.contract.model import DataType, Deadband, Transform
from adapters.contract.sample import Quality, Sample
from gateway.ingest.pipeline import PointPipeline
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


# -- 64-bit integers stay exact ---------------------------------------------------------------------------------
I64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1


def test_64_bit_integers_pass_exact() -> None:
    u = PointPipeline(make_point(datatype=DataType.UINT64, unit="UNITLESS"))
    i = PointPipeline(make_point(datatype=DataType.INT64, unit="UNITLESS"))
    for pp, v in ((u, U64_MAX), (u, 2**53 + 1), (i, I64_MAX), (i, -(2**63)), (i, -(2**53) - 1)):
        out = pp.process(_s(v))
        assert out is not None and out.status == "Good" and out.value == v and type(out.value) is int
    # the same as text (MQTT JSON strings, OPC UA strings)
    out = u.process(_s(str(U64_MAX)))
    assert out is not None and out.value == U64_MAX
    # one past the end is out of range, not rounded into range
    out = u.process(_s(U64_MAX + 1))
    assert out is not None and out.status == "BadOutOfRange"


def test_64_bit_integral_scale_offset_range_and_deadband() -> None:
    scaled = PointPipeline(make_point(datatype=DataType.INT64, unit="UNITLESS", transform=Transform(scale=2, offset=1)))
    out = scaled.process(_s(2**61 + 3))
    assert out is not None and out.value == 2**62 + 7
    ranged = PointPipeline(make_point(datatype=DataType.UINT64, unit="UNITLESS", min=0, max=2**64 - 1))
    out = ranged.process(_s(U64_MAX))
    assert out is not None and out.status == "Good" and out.value == U64_MAX
    db = PointPipeline(
        make_point(datatype=DataType.UINT64, unit="UNITLESS", transform=Transform(deadband=Deadband(absolute=0.5)))
    )
    assert db.process(_s(2**60)) is not None
    # a change of 1 near 2**60 is below float resolution but above the deadband: it must pass
    assert db.process(_s(2**60 + 1)) is not None
    assert db.process(_s(2**60 + 1)) is None


# -- values at the precision the source meant -------------------------------------------------------------------


def test_scaled_register_presents_at_the_scale_precision() -> None:
    pp = PointPipeline(make_point(transform=Transform(scale=0.1)))
    out = pp.process(_s(518))
    assert out is not None and out.value == 51.8 and repr(out.value) == "51.8"
    off = PointPipeline(make_point(transform=Transform(scale=0.01, offset=-40)))
    out = off.process(_s(2155))
    assert out is not None and repr(out.value) == "-18.45"
    conv = PointPipeline(make_point(unit="KiloW-HR", transform=Transform(scale=1, source_unit="W-HR")))
    out = conv.process(_s(12345))
    assert out is not None and repr(out.value) == "12.345"


def test_float32_point_presents_at_float32_precision() -> None:
    import struct

    widened = struct.unpack("<f", struct.pack("<f", 51.8))[0]  # 51.79999923706055
    pp = PointPipeline(make_point(datatype=DataType.FLOAT))
    out = pp.process(_s(widened))
    assert out is not None and repr(out.value) == "51.8"
    # a double point keeps every digit the source sent
    dp = PointPipeline(make_point(datatype=DataType.DOUBLE))
    out = dp.process(_s(widened))
    assert out is not None and out.value == widened


def test_a_float_point_sample_already_at_float32_precision_passes_uncopied() -> None:
    # Most telemetry (21.5, 40.2, 612) already is its float32 shortest form: the sample goes on as it came,
    # instead of a copy per sample (a third of the MQTT JSON bench's pipeline cost when it was copied).
    pp = PointPipeline(make_point(datatype=DataType.FLOAT))
    for v in (21.5, 40.2, 0.001, -273.15, 123456.0):
        s = _s(v)
        assert pp.process(s) is s
    out = pp.process(_s(612))  # an int becomes a float: a new sample, as before
    assert out is not None and type(out.value) is float and out.value == 612.0
