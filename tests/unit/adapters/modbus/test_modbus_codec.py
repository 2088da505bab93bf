"""Modbus codec: known register vectors for every byte/word order, round trips, range errors, bits, strings."""

from __future__ import annotations

import math

import pytest

from adapters.modbus.codec import (
    ByteOrder,
    EncodeError,
    Encoding,
    ValueSpec,
    decode,
    encode,
    register_count,
    set_bit,
    to_coil,
)

BO = ByteOrder

# (encoding, value, {order: registers as the device sends them})
VECTORS = [
    (Encoding.INT16, -2, {BO.ABCD: [0xFFFE], BO.CDAB: [0xFFFE], BO.BADC: [0xFEFF], BO.DCBA: [0xFEFF]}),
    (Encoding.UINT16, 0x1234, {BO.ABCD: [0x1234], BO.CDAB: [0x1234], BO.BADC: [0x3412], BO.DCBA: [0x3412]}),
    (
        Encoding.INT32,
        0x12345678,
        {BO.ABCD: [0x1234, 0x5678], BO.CDAB: [0x5678, 0x1234], BO.BADC: [0x3412, 0x7856], BO.DCBA: [0x7856, 0x3412]},
    ),
    (Encoding.INT32, -1, {o: [0xFFFF, 0xFFFF] for o in BO}),
    (Encoding.UINT32, 4_000_000_000, {BO.ABCD: [0xEE6B, 0x2800], BO.CDAB: [0x2800, 0xEE6B]}),
    (
        Encoding.FLOAT32,
        12.5,  # 0x41480000
        {BO.ABCD: [0x4148, 0x0000], BO.CDAB: [0x0000, 0x4148], BO.BADC: [0x4841, 0x0000], BO.DCBA: [0x0000, 0x4841]},
    ),
    (
        Encoding.INT64,
        0x0102030405060708,
        {
            BO.ABCD: [0x0102, 0x0304, 0x0506, 0x0708],
            BO.CDAB: [0x0708, 0x0506, 0x0304, 0x0102],
            BO.BADC: [0x0201, 0x0403, 0x0605, 0x0807],
            BO.DCBA: [0x0807, 0x0605, 0x0403, 0x0201],
        },
    ),
    (Encoding.UINT64, 2**64 - 1, {o: [0xFFFF] * 4 for o in BO}),
    (Encoding.FLOAT64, 1.0, {BO.ABCD: [0x3FF0, 0, 0, 0], BO.CDAB: [0, 0, 0, 0x3FF0], BO.DCBA: [0, 0, 0, 0xF03F]}),
]


@pytest.mark.parametrize(("encoding", "value", "by_order"), VECTORS)
def test_known_vectors_both_directions(encoding: Encoding, value: float, by_order: dict[ByteOrder, list[int]]) -> None:
    for order, regs in by_order.items():
        spec = ValueSpec(encoding, order)
        assert decode(spec, regs) == value, (encoding, order)
        assert encode(spec, value) == regs, (encoding, order)


SAMPLES: dict[Encoding, list[float | int]] = {
    Encoding.INT16: [-32768, -1, 0, 1, 32767],
    Encoding.UINT16: [0, 1, 65535],
    Encoding.INT32: [-(2**31), -123456, 0, 2**31 - 1],
    Encoding.UINT32: [0, 70000, 2**32 - 1],
    Encoding.INT64: [-(2**63), -5, 2**63 - 1],
    Encoding.UINT64: [0, 2**40 + 3, 2**64 - 1],
    Encoding.FLOAT32: [0.0, -1.5, 3.25, 1e30, -2.5e-10],
    Encoding.FLOAT64: [0.0, math.pi, -1e300, 5e-324],
}


@pytest.mark.parametrize("order", list(ByteOrder))
@pytest.mark.parametrize("encoding", list(SAMPLES))
def test_every_encoding_and_order_round_trips(encoding: Encoding, order: ByteOrder) -> None:
    spec = ValueSpec(encoding, order)
    for v in SAMPLES[encoding]:
        regs = encode(spec, v)
        assert len(regs) == spec.count == register_count(encoding)
        assert all(0 <= r <= 0xFFFF for r in regs)
        back = decode(spec, regs)
        if encoding is Encoding.FLOAT32:
            assert back == pytest.approx(v, rel=1e-7)
        else:
            assert back == v
        assert type(back) is (float if encoding in (Encoding.FLOAT32, Encoding.FLOAT64) else int)


def test_integer_encodings_round_floats_half_away_from_zero() -> None:
    spec = ValueSpec(Encoding.INT16)
    assert encode(spec, 214.99999999999997) == [215]  # a typical inverse-scaled value
    assert encode(spec, 2.5) == [3]
    assert decode(spec, encode(spec, -2.5)) == -3
    assert encode(spec, True) == [1]


@pytest.mark.parametrize(
    ("encoding", "value", "status"),
    [
        (Encoding.INT16, 32768, "BadOutOfRange"),
        (Encoding.INT16, -32768.6, "BadOutOfRange"),
        (Encoding.UINT16, -1, "BadOutOfRange"),
        (Encoding.UINT32, 2**32, "BadOutOfRange"),
        (Encoding.INT32, math.nan, "BadOutOfRange"),
        (Encoding.UINT64, math.inf, "BadOutOfRange"),
        (Encoding.FLOAT32, 1e40, "BadOutOfRange"),
        (Encoding.INT16, "12", "BadTypeMismatch"),
        (Encoding.FLOAT64, None, "BadTypeMismatch"),
    ],
)
def test_values_that_do_not_fit_are_refused(encoding: Encoding, value: object, status: str) -> None:
    with pytest.raises(EncodeError) as exc:
        encode(ValueSpec(encoding), value)  # type: ignore[arg-type]
    assert exc.value.status == status
    assert encoding.value in exc.value.reason or "number" in exc.value.reason


def test_strings_pad_strip_and_swap_bytes() -> None:
    spec = ValueSpec(Encoding.STRING, length=6)
    assert spec.count == 3
    assert encode(spec, "AB") == [0x4142, 0, 0]
    assert decode(spec, [0x4142, 0x4320, 0x2020]) == "ABC"  # trailing spaces stripped
    assert decode(spec, [0x4142, 0x0043, 0x4400]) == "AB"  # the first NUL ends the text
    swapped = ValueSpec(Encoding.STRING, ByteOrder.BADC, length=4)
    assert encode(swapped, "ABCD") == [0x4241, 0x4443]
    assert decode(swapped, [0x4241, 0x4443]) == "ABCD"
    word_swap = ValueSpec(Encoding.STRING, ByteOrder.CDAB, length=4)  # word order never applies to strings
    assert decode(word_swap, encode(word_swap, "WXYZ")) == "WXYZ" and encode(word_swap, "WXYZ")[0] == 0x5758
    odd = ValueSpec(Encoding.STRING, length=3)
    assert odd.count == 2 and decode(odd, encode(odd, "xyz")) == "xyz"
    assert decode(odd, [0x4142, 0x43FF]) == "ABC"  # bytes past length are ignored
    assert decode(spec, [0xC3A9, 0xFF00, 0]) == "é\ufffd"  # invalid UTF-8 is replaced, never raised
    with pytest.raises(EncodeError, match="7 bytes"):
        encode(spec, "toolong")
    with pytest.raises(EncodeError):
        encode(spec, 5)


def test_bits_and_booleans_in_registers() -> None:
    assert decode(ValueSpec(Encoding.BIT, bit=0), [0x0001]) is True
    assert decode(ValueSpec(Encoding.BIT, bit=15), [0x8000]) is True
    assert decode(ValueSpec(Encoding.BIT, bit=3), [0xFFF7]) is False
    assert decode(ValueSpec(Encoding.BIT, ByteOrder.BADC, bit=0), [0x0100]) is True  # byte-swapped register
    spec = ValueSpec(Encoding.BIT, bit=4)
    assert set_bit(spec, 0x0001, True) == 0x0011
    assert set_bit(spec, 0xFFFF, False) == 0xFFEF
    assert set_bit(ValueSpec(Encoding.BIT, ByteOrder.DCBA, bit=8), 0x0000, 1) == 0x0001
    with pytest.raises(EncodeError):
        set_bit(spec, 0, "on")
    with pytest.raises(EncodeError, match="set_bit"):
        encode(spec, True)
    boolean = ValueSpec(Encoding.BOOL)
    assert decode(boolean, [0]) is False and decode(boolean, [7]) is True
    assert encode(boolean, True) == [1] and encode(boolean, 0) == [0]
    assert encode(ValueSpec(Encoding.BOOL, ByteOrder.BADC), True) == [0x0100]


def test_coil_states() -> None:
    assert to_coil(True) is True and to_coil(0) is False and to_coil(1.0) is True
    for bad in (2, "true", None, 0.5):
        with pytest.raises(EncodeError):
            to_coil(bad)  # type: ignore[arg-type]
