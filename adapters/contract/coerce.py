"""One value coercion: how a value becomes a point's datatype, the same for samples coming in and writes going out.

The rules are those of a classic OPC server's tag conversion (Kepware, Ignition): a value is converted when
its meaning as the datatype is plain, and refused (BadTypeMismatch, or BadOutOfRange when it does not fit)
otherwise.

- bool: a bool; a number (0 is false, any other number true); the words true/false, 1/0, on/off, yes/no
  (any case, surrounding blanks ignored).
- integers: a number, rounded to the nearest integer (half to even); text in number syntax; a bool as 1/0.
  The result must fit the datatype's range; NaN and infinities are BadOutOfRange.
- float/double: a number, text in number syntax, a bool as 1.0/0.0; a float holds a float32 and is given at
  that precision (51.8, not 51.79999923706055).
- string: text as is; a bool as true/false; any other value as its decimal text.

Limits that are policy, not conversion, stay with their stage: the twin refuses a write without a value, of
NaN or outside the point's min/max, while an incoming sample outside min/max is clamped or made Uncertain.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from adapters.contract.model import DataType
from adapters.contract.precision import float32_shortest
from adapters.contract.sample import Value
from adapters.contract.status import StatusError

TRUE_WORDS = frozenset({"true", "1", "on", "yes"})
FALSE_WORDS = frozenset({"false", "0", "off", "no"})


class CoercionError(StatusError):
    """A value that cannot become the datatype; ``status`` is BadTypeMismatch or BadOutOfRange."""


def bool_word(text: str) -> bool | None:
    """The bool a word means (``"Yes"`` -> True, ``" off "`` -> False), or None for any other text."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def number(text: str) -> int | float:
    """A number written as text; integers stay exact (int64 values above 2**53 included)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise CoercionError("BadTypeMismatch", f"cannot read {text!r} as a number") from None


def coerce(datatype: DataType, value: Value) -> Value:
    """``value`` as ``datatype``, or ``CoercionError``; None stays None (a sample without a value)."""
    return value if value is None else coercer(datatype)(value)


@functools.cache
def coercer(datatype: DataType) -> Callable[[Value], Value]:
    """The compiled coercion of one datatype (the ingest pipeline calls it per sample)."""
    if datatype is DataType.BOOL:
        return _to_bool
    if datatype is DataType.STRING:
        return _to_string
    rng = datatype.int_range
    if rng is not None:
        lo, hi = rng
        return lambda v: _to_int(v, lo, hi, datatype.value)
    if datatype is DataType.FLOAT:
        return _to_float32
    return _to_float


def _to_bool(v: Value) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return v != 0
    if isinstance(v, str) and (word := bool_word(v)) is not None:
        return word
    raise CoercionError("BadTypeMismatch", f"cannot read {v!r} as a bool")


def _to_string(v: Value) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _to_int(v: Value, lo: int, hi: int, name: str) -> int:
    if isinstance(v, str):
        v = number(v)
    if not isinstance(v, int | float):
        raise CoercionError("BadTypeMismatch", f"cannot read {v!r} as a number")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise CoercionError("BadOutOfRange", f"{v} is not a finite number")
        v = round(v)
    v = int(v)
    if not lo <= v <= hi:
        raise CoercionError("BadOutOfRange", f"{v} does not fit a {name} ({lo}..{hi})")
    return v


def _to_float32(v: Value) -> float:
    # One call for the common float, not two: this runs for every sample of a float point.
    return float32_shortest(v if type(v) is float else _to_float(v))


def _to_float(v: Value) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        return float(number(v))
    raise CoercionError("BadTypeMismatch", f"cannot read {v!r} as a number")
