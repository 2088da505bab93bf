"""Write governance: type and range checks refuse values before any device sees them."""

from __future__ import annotations

import pytest

from adapters.contract.model import DataType, Transform
from gateway.twin.writes import WriteRefused, check_writable, coerce_value, to_raw
from tests.conftest import make_point


def _refused(point, value) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WriteRefused) as exc:
        coerce_value(point, value)
    return exc.value.status


def test_numeric_range_and_type() -> None:
    p = make_point(datatype=DataType.FLOAT, writable=True, min=0, max=100)
    assert coerce_value(p, 5) == 5.0
    assert _refused(p, 101) == "BadOutOfRange"
    assert _refused(p, -1) == "BadOutOfRange"
    assert _refused(p, "12") == "BadTypeMismatch"
    assert _refused(p, True) == "BadTypeMismatch"
    assert _refused(p, None) == "BadTypeMismatch"
    assert _refused(p, float("nan")) == "BadOutOfRange"


def test_integer_points() -> None:
    p = make_point(datatype=DataType.INT16, writable=True, unit="UNITLESS")
    assert coerce_value(p, 7.0) == 7
    assert _refused(p, 7.5) == "BadTypeMismatch"
    assert _refused(p, 40000) == "BadOutOfRange"
    u = make_point(datatype=DataType.UINT16, writable=True, unit="UNITLESS")
    assert _refused(u, -1) == "BadOutOfRange"


def test_bool_and_string() -> None:
    b = make_point(datatype=DataType.BOOL, writable=True, unit=None)
    assert coerce_value(b, True) is True
    assert coerce_value(b, 0) is False
    assert coerce_value(b, "on") is True
    assert _refused(b, 2) == "BadTypeMismatch"
    s = make_point(datatype=DataType.STRING, writable=True, unit=None)
    assert coerce_value(s, "x") == "x"
    assert _refused(s, 3) == "BadTypeMismatch"


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
