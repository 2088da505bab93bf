"""Write governance: the model decides whether a value may go to a device, whichever face it came through.

A value of the wrong type or outside the point's declared range is refused here, with the OPC UA status an
OPC UA client would expect, before any adapter sees it. An accepted engineering value is then turned back
into the device's raw value by inverting the point's transform (unit conversion, then scale and offset).
"""

from __future__ import annotations

import math
from typing import Any

from adapters.contract.coerce import CoercionError, coercer
from adapters.contract.model import Point
from adapters.contract.sample import Value
from adapters.contract.status import StatusError
from gateway import units


class WriteRefused(StatusError):
    """The twin refuses a write; ``status`` is the OPC UA status name returned to the client."""

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"


def coerce_value(point: Point, value: Any) -> Value:
    """The value as the point's datatype (the rules of ``adapters.contract.coerce``, as for incoming samples)
    within the point's limits, or ``WriteRefused`` (BadTypeMismatch / BadOutOfRange)."""
    pid = point.id
    if value is None:
        raise WriteRefused("BadTypeMismatch", f"{pid} needs a {point.datatype.value} value, got null")
    if isinstance(value, float) and not math.isfinite(value):
        raise WriteRefused("BadOutOfRange", f"{pid} does not accept {value}")
    try:
        value = coercer(point.datatype)(value)
    except CoercionError as exc:
        raise WriteRefused(exc.status, f"{pid}: {exc.reason}") from None
    if isinstance(value, float) and not math.isfinite(value):  # text such as "nan" or "inf"
        raise WriteRefused("BadOutOfRange", f"{pid} does not accept {value}")
    if point.datatype.is_numeric:
        if point.min is not None and value < point.min:
            raise WriteRefused("BadOutOfRange", f"{value:g} is below the minimum {point.min:g} of {pid}")
        if point.max is not None and value > point.max:
            raise WriteRefused("BadOutOfRange", f"{value:g} is above the maximum {point.max:g} of {pid}")
    return value


def check_writable(point: Point) -> None:
    """``WriteRefused(BadNotWritable)`` unless both the point and its address accept writes."""
    if not point.writable:
        raise WriteRefused("BadNotWritable", f"{point.id} is read-only (writable: false in the mapping)")
    if not point.address.writable():
        raise WriteRefused("BadNotWritable", f"{point.id} has a read-only address")


def to_raw(point: Point, value: Value) -> Value:
    """The device value for an engineering value: invert unit conversion, then scale and offset."""
    t = point.transform
    if not isinstance(value, int | float) or isinstance(value, bool) or t.is_identity:
        return value
    converts = bool(t.source_unit and point.unit and t.source_unit != point.unit)
    if isinstance(value, int) and not converts and float(t.scale).is_integer() and float(t.offset).is_integer():
        # integer arithmetic keeps an int64 exact; a value the scale does not divide falls through to floats
        quotient, remainder = divmod(value - int(t.offset), int(t.scale))
        if remainder == 0:
            return quotient
    v = float(value)
    if t.source_unit and point.unit and t.source_unit != point.unit:
        v = units.converter(point.unit, t.source_unit)(v)
    v = (v - t.offset) / t.scale
    if point.datatype.int_range is not None and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v
