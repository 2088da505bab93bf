"""Write governance: type and range checks refuse values before any device sees them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.contract.model import DataType, Transform
from adapters.contract.sample import Sample
from gateway.ingest.pipeline import Pipeline
from gateway.twin.writes import WriteRefused, check_writable, coerce_value, to_raw
from tests.conftest import make_point

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _refused(point, value) -> str:
    with pytest.raises(WriteRefused) as exc:
        coerce_value(point, value)
    return exc.value.status


def test_numeric_range_and_type() -> None:
    p = make_point(datatype=DataType.FLOAT, writable=True, min=0, max=100)
    assert coerce_value(p, 5) == 5.0
    assert _refused(p, 101) == "BadOutOfRange"
    assert _refused(p, -1) == "BadOutOfRange"
    assert coerce_value(p, "12") == 12.0  # the conversion rules of incoming samples
    assert coerce_value(p, True) == 1.0
    assert _refused(p, "twelve") == "BadTypeMismatch"
    assert _refused(p, None) == "BadTypeMismatch"
    assert _refused(p, float("nan")) == "BadOutOfRange"
    assert _refused(p, "nan") == "BadOutOfRange"
    assert _refused(p, "101") == "BadOutOfRange"


def test_integer_points() -> None:
    p = make_point(datatype=DataType.INT16, writable=True, unit="UNITLESS")
    assert coerce_value(p, 7.0) == 7
    assert coerce_value(p, 7.6) == 8  # rounded, as an incoming sample is
    assert _refused(p, float("inf")) == "BadOutOfRange"
    assert _refused(p, 40000) == "BadOutOfRange"
    u = make_point(datatype=DataType.UINT16, writable=True, unit="UNITLESS")
    assert _refused(u, -1) == "BadOutOfRange"


def test_bool_and_string() -> None:
    b = make_point(datatype=DataType.BOOL, writable=True, unit=None)
    assert coerce_value(b, True) is True
    assert coerce_value(b, 0) is False
    assert coerce_value(b, "on") is True
    assert coerce_value(b, " Yes ") is True  # was refused while an incoming "yes" was accepted
    assert coerce_value(b, "no") is False
    assert coerce_value(b, 2) is True
    assert _refused(b, "maybe") == "BadTypeMismatch"
    s = make_point(datatype=DataType.STRING, writable=True, unit=None)
    assert coerce_value(s, "x") == "x"
    assert coerce_value(s, 3) == "3"
    assert coerce_value(s, False) == "false"


VALUES = ["yes", "No", " on ", "1", "0", "12", "7.5", "-3", "2.5e3", 0, 1, 2, -1, 7.6, 1e10, True, False, "x", ""]


@pytest.mark.parametrize(
    "dt", [DataType.BOOL, DataType.INT16, DataType.UINT32, DataType.FLOAT, DataType.DOUBLE, DataType.STRING]
)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_write_is_converted_by_the_rules_of_an_incoming_sample(dt: DataType, value: object) -> None:
    """One set of rules: a write gets the value an incoming sample of that value would give, or the same status."""
    point = make_point(datatype=dt, writable=True, unit=None if dt in (DataType.BOOL, DataType.STRING) else "UNITLESS")
    incoming = Pipeline([point]).process(Sample(point.id, value, T0))  # type: ignore[arg-type]
    assert incoming is not None
    try:
        written = coerce_value(point, value)
    except WriteRefused as exc:
        assert (incoming.value, incoming.status) == (None, exc.status)
    else:
        assert incoming.status == "Good" and incoming.value == written and type(incoming.value) is type(written)


def test_not_writable() -> None:
    with pytest.raises(WriteRefused) as exc:
        check_writable(make_point(writable=False))
    assert exc.value.status == "BadNotWritable"
    ro_address = make_point(writable=True, address={"writable": False})
    with pytest.raises(WriteRefused):
        check_writable(ro_address)


def test_to_raw_inverts_scale_and_offset() -> None:
    p = make_point(datatype=DataType.FLOAT, writable=True, transform=Transform(scale=0.1, offset=-40))
    assert to_raw(p, 21.5) == pytest.approx(615.0)
    ident = make_point(datatype=DataType.INT32, writable=True, unit="UNITLESS")
    assert to_raw(ident, 5) == 5


def test_64_bit_writes_stay_exact() -> None:
    big = make_point(datatype=DataType.UINT64, writable=True, unit="UNITLESS")
    assert coerce_value(big, 2**64 - 1) == 2**64 - 1
    assert to_raw(big, 2**64 - 1) == 2**64 - 1
    scaled = make_point(datatype=DataType.INT64, writable=True, unit="UNITLESS", transform=Transform(scale=2, offset=1))
    raw = to_raw(scaled, 2**62 + 7)
    assert raw == 2**61 + 3 and type(raw) is int
