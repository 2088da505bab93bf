"""Values at the precision the source meant: float32 shortest form, noise-free scaling, Modbus float32 decoding."""

from __future__ import annotations

import math
import random
import struct

import pytest

from adapters.contract.precision import decimals, float32_shortest, scaler, significant
from adapters.modbus.codec import Encoding, ValueSpec, decode, encode

F32 = struct.Struct("<f")


def widen(x: float) -> float:
    """``x`` stored in a float32 and read back as a double (what every float32 source hands over)."""
    return F32.unpack(F32.pack(x))[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("meant", [51.8, 0.1, -273.15, 12.5, 1e-3, 3.4e38, 123456.7, 0.0])
def test_float32_shortest_gives_back_what_was_meant(meant: float) -> None:
    assert widen(meant) != meant or meant in (12.5, 0.0)  # the widening adds digits (not for exact binaries)
    assert float32_shortest(widen(meant)) == meant


def test_float32_shortest_is_the_same_float32_and_never_longer_than_9_digits() -> None:
    rng = random.Random(13)
    for _ in range(20_000):
        x = F32.unpack(rng.getrandbits(32).to_bytes(4, "little"))[0]
        if not math.isfinite(x):
            continue
        y = float32_shortest(x)
        assert F32.pack(y) == F32.pack(x)
        assert len(repr(y)) <= len(repr(float(f"{x:.9g}")))
    assert math.isnan(float32_shortest(math.nan)) and float32_shortest(math.inf) == math.inf
    assert float32_shortest(1e300) == 1e300  # beyond float32: left for the range checks


def _shortest_by_search(value: float) -> float:
    """The float32 shortest form by the search alone (what float32_shortest computed before its fast path)."""
    if not math.isfinite(value):
        return value
    try:
        packed = F32.pack(value)
    except OverflowError:
        return value
    exact = F32.unpack(packed)[0]
    for fmt in ("%.6g", "%.7g", "%.8g"):
        candidate = float(fmt % exact)
        if F32.pack(candidate) == packed:
            return candidate
    return float(f"{exact:.9g}")


def test_float32_shortest_fast_path_gives_the_searched_answer_and_the_value_itself() -> None:
    rng = random.Random(14)
    edges = [0.0, -0.0, 1e-45, 1e-40, 1.17549e-38, 1.17550e-38, 3.40282e38, 3.40283e38, 16777215.0, 0.1]
    for v in edges:
        assert repr(float32_shortest(v)) == repr(_shortest_by_search(v)), v
    for _ in range(40_000):
        digits = rng.randint(1, 8)
        mantissa = rng.randrange(10 ** (digits - 1), 10**digits) * rng.choice((1, -1))
        v = float(f"{mantissa}e{rng.randint(-50, 40)}")
        assert repr(float32_shortest(v)) == repr(_shortest_by_search(v)), v
        if digits <= 6 and 1e-37 <= abs(v) <= 1e38:
            assert float32_shortest(v) is v  # a short value comes back itself: the pipeline then copies nothing


def test_decimals_and_scaler() -> None:
    assert (decimals(0.1), decimals(0.25), decimals(10.0), decimals(1e-5)) == (1, 2, 0, 5)
    s = scaler(0.1, 0.0)
    assert repr(s(518)) == "51.8" and repr(s(-7)) == "-0.7"
    assert repr(scaler(0.001, 0.0)(12345)) == "12.345"
    exact = scaler(1000, -5)(2**60)
    assert exact == 2**60 * 1000 - 5 and type(exact) is int
    assert repr(scaler(0.1, 0.0)(51.8)) == "5.18"  # a float raw value: 15 significant digits
    assert repr(significant(0.1 + 0.2)) == "0.3"


def test_modbus_float32_decodes_to_what_the_device_meant() -> None:
    spec = ValueSpec(Encoding.FLOAT32)
    regs = encode(spec, 51.8)
    assert repr(decode(spec, regs)) == "51.8"
    # float64 registers carry a double: every digit is kept
    d = ValueSpec(Encoding.FLOAT64)
    assert decode(d, encode(d, 51.79999923706055)) == 51.79999923706055


@pytest.mark.parametrize(("scale", "offset"), [(0.1, 0.0), (0.01, -40.0), (0.25, 0.5), (0.001, 273.15), (1e-5, 0.0)])
def test_scaled_integers_are_the_exact_decimal(scale: float, offset: float) -> None:
    from decimal import Decimal

    rng = random.Random(7)
    f = scaler(scale, offset)
    for _ in range(5_000):
        v = rng.randrange(-(10**6), 10**6)
        assert Decimal(repr(f(v))) == Decimal(v) * Decimal(repr(scale)) + Decimal(repr(offset))
