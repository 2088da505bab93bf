"""Values as the source meant them: float32 at float32 precision, scaled values without binary noise.

A float32 register holding 51.8 widens to the double 51.79999923706055, and 518 x 0.1 is 51.800000000000004
in binary floating point. Neither is what the device meant, and both leak into REST, SSE and SPARQL. These
helpers give the nearest short decimal that is still the same float32 (or the same scaled value).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from decimal import Decimal

_F32 = struct.Struct("<f")
_pack, _unpack = _F32.pack, _F32.unpack
_TRY = ("%.6g", "%.7g", "%.8g")
# DBL_DIG: every decimal of up to 15 significant digits survives a double round trip, so digits beyond
# that in the result of a scale/offset/unit conversion are arithmetic noise.
_DOUBLE_DIGITS = 15
_F32_MIN_NORMAL = 1.1754943508222875e-38
_F32_MAX = 3.4028234663852886e38


def float32_shortest(value: float) -> float:
    """The shortest decimal that reads back as the same float32 as ``value`` (51.79999923706055 -> 51.8)."""
    # Fast path, and the same answer: a normal float32-range value of at most 6 significant digits is within
    # 2**-24 of its float32, far inside half a step of 6 digits, so it is its own shortest form. Returning the
    # object itself also lets the ingest pipeline pass the sample on without copying it.
    if _F32_MIN_NORMAL <= abs(value) <= _F32_MAX and float(f"{value:.6g}") == value:
        return value
    if not math.isfinite(value):
        return value
    try:
        packed = _pack(value)
    except OverflowError:
        return value  # beyond float32: leave it to the range checks
    exact = _unpack(packed)[0]
    # 6 digits always fit a float32's precision; 9 always round-trip (FLT_DECIMAL_DIG); %g drops trailing zeros.
    for fmt in _TRY:
        candidate = float(fmt % exact)
        if _pack(candidate) == packed:
            return candidate
    return float(f"{exact:.9g}")


def decimals(x: float) -> int:
    """How many decimal places the shortest form of ``x`` has (0.1 -> 1, 0.25 -> 2, 10.0 -> 0)."""
    exponent = Decimal(repr(float(x))).normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def scaler(scale: float, offset: float) -> Callable[[int | float], int | float]:
    """``v * scale + offset`` without binary noise; integers stay exact integers when both are integral.

    With ``d`` the decimals of scale and offset, an integer raw value gives ``(v * k + m) / 10**d`` for integers
    ``k`` and ``m``: integer arithmetic, then one correctly rounded division, so 518 x 0.1 is exactly the double
    nearest 51.8. A float raw value is rounded to 15 significant digits.
    """
    places = max(decimals(scale), decimals(offset))
    if places > _DOUBLE_DIGITS:
        return lambda v: v * scale + offset
    p = 10**places
    k = int(Decimal(repr(float(scale))) * p)
    m = int(Decimal(repr(float(offset))) * p)
    if places == 0:
        return lambda v: v * k + m if isinstance(v, int) else significant(v * scale + offset)

    def scaled(v: int | float) -> int | float:
        if isinstance(v, int):
            return (v * k + m) / p
        return significant(v * scale + offset)

    return scaled


def significant(v: float) -> float:
    """``v`` rounded to the 15 significant digits a double holds exactly (0.30000000000000004 -> 0.3)."""
    return float(f"{v:.15g}") if math.isfinite(v) else v
