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
# DBL_DIG: every decimal of up to 15 significant digits survives a double round trip, so digits beyond
# that in the result of a scale/offset/unit conversion are arithmetic noise.
_DOUBLE_DIGITS = 15


def float32_shortest(value: float) -> float:
    """The shortest decimal that reads back as the same float32 as ``value`` (51.79999923706055 -> 51.8)."""
    if not math.isfinite(value):
        return value
    try:
        packed = _F32.pack(value)
    except OverflowError:
        return value  # beyond float32: leave it to the range checks
    exact = _F32.unpack(packed)[0]
    # 6 digits always fit a float32's precision; 9 always round-trip (FLT_DECIMAL_DIG); %g drops trailing zeros.
    for digits in (6, 7, 8):
        candidate = float(f"{exact:.{digits}g}")
        if _F32.pack(candidate) == packed:
            return candidate
    return float(f"{exact:.9g}")


def decimals(x: float) -> int:
    """How many decimal places the shortest form of ``x`` has (0.1 -> 1, 0.25 -> 2, 10.0 -> 0)."""
    exponent = Decimal(repr(float(x))).normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def scaler(scale: float, offset: float) -> Callable[[int | float], int | float]:
    """``v * scale + offset`` without binary noise; integers stay exact integers when both are integral.

    An integer raw value times a scale of ``d`` decimals has at most ``d`` decimals, so rounding to them
    removes only the noise of the multiplication. A float raw value is rounded to 15 significant digits.
    """
    if float(scale).is_integer() and float(offset).is_integer():
        s, o = int(scale), int(offset)
        return lambda v: v * s + o if isinstance(v, int) else significant(v * s + o)
    places = max(decimals(scale), decimals(offset))
    if places > _DOUBLE_DIGITS:
        return lambda v: v * scale + offset

    def scaled(v: int | float) -> int | float:
        if isinstance(v, int):
            return round(v * scale + offset, places)
        return significant(v * scale + offset)

    return scaled


def significant(v: float) -> float:
    """``v`` rounded to the 15 significant digits a double holds exactly (0.30000000000000004 -> 0.3)."""
    return float(f"{v:.15g}") if math.isfinite(v) else v
