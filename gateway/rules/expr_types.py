"""Typed sub-expressions: a closure plus what its number means, and the conversions between them.

Every numeric sub-expression computes a number ``v`` whose SI value is ``v * scale + offset``. Constant factors
and unit conversions fold into ``scale`` at compile time, so ``x * 2 [KiloW]`` costs nothing extra at run time
and one multiplication at the end converts into the target point's unit.

``level`` counts temperature origins, the way affine algebra does: a temperature is 1, a difference of two
is 0, ``(a + b) / 2`` is 1 again. Storing into an offset unit (°C, °F) subtracts ``level`` times that unit's
origin, so a difference goes into a °C point as a difference and a mean as a temperature. In ``*`` and ``/``
temperatures count as absolute (kelvins), and the product's level is 0 (except scaling by a constant).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from adapters.contract.model import DataType
from gateway import units
from gateway.rules import dims
from gateway.rules.expr_parse import ExprError


@dataclass(frozen=True, slots=True)
class PointInfo:
    """What an expression needs to know of a point."""

    id: str
    unit: str | None
    datatype: DataType


@dataclass(frozen=True, slots=True)
class WindowKey:
    """A window function over a point: ``avg``/``min``/``max``/``delta`` with seconds, ``rate``/``integral`` with
    seconds or None (integral: running total since start; rate: between the last two values), ``last_change``."""

    function: str
    point: str
    seconds: float | None


class Env(Protocol):
    """What an evaluation reads: the values of points and of windows over them."""

    def value(self, point: str) -> Any:
        """A point's engineering value in its own unit; raises MissingValue when it has none yet."""
        ...

    def window(self, key: WindowKey) -> float:
        """A window function's value over a point (rate: unit/s, integral: unit*s, last_change: s)."""
        ...


Fn = Callable[[Env], Any]


@dataclass(frozen=True, slots=True)
class Typed:
    fn: Fn
    pos: int
    boolean: bool = False
    dims: dims.Dims = dims.DIMENSIONLESS
    scale: float = 1.0
    offset: float = 0.0
    level: float = 0.0
    factors: Mapping[str, int] = field(default_factory=dict)
    const: bool = False  # fn ignores env: fn(None) is the value
    bare: bool = False  # a number without a unit: it takes the unit of what it is added to or compared with
    point: str | None = None  # fn is exactly env.value(point)
    words: str = ""  # the quantity in words, for messages ("volume per time x temperature")

    def value(self) -> Any:
        return self.fn(None)  # type: ignore[arg-type]


def constant(value: Any, pos: int, like: Typed | None = None, **kw: Any) -> Typed:
    """A constant node; with ``like``, it takes that node's meaning (scale, offset, level, factors)."""
    if like is not None:
        kw = {
            "dims": like.dims,
            "scale": like.scale,
            "offset": like.offset,
            "level": like.level,
            "factors": like.factors,
            "boolean": like.boolean,
            "words": like.words,
        } | kw
    return Typed(lambda env: value, pos, const=True, **kw)


def fold(node: Typed) -> Typed:
    """Evaluate a node whose inputs are all constants now (errors such as 1/0 become compile errors)."""
    try:
        value = node.value()
    except (ArithmeticError, ValueError) as exc:
        raise ExprError(f"{_reason(exc)} in a constant part of the expression", node.pos) from None
    return constant(value, node.pos, node, bare=node.bare)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    return str(exc) or type(exc).__name__


def natural(node: Typed) -> tuple[float, float, float]:
    """(scale, offset, level) of the unit a reader sees in ``node`` (the point's unit for ``flow * 2``)."""
    scale = 1.0
    for name, exp in node.factors.items():
        u = units.get_unit(name)
        scale *= (u.multiplier if u else 1.0) ** exp
    if len(node.factors) == 1 and node.level == 1:
        [(name, exp)] = node.factors.items()
        u = units.get_unit(name)
        if u is not None and exp == 1 and u.offset:
            return scale, u.offset * u.multiplier, 1.0
    return scale, 0.0, node.level


def si(node: Typed) -> Any:
    """A constant's SI value."""
    v = node.value()
    return v * node.scale + node.offset if node.scale != 1.0 or node.offset else v


def adopt(bare: Typed, other: Typed, *, absolute: bool) -> Typed:
    """A bare number read in ``other``'s unit: absolute in comparisons (``t > 50`` is 50 °C), a difference
    in ``+``/``-`` (``t + 2`` adds 2 K). It may be computed (``if(on, 100, 0)``): its scale multiplies."""
    scale, offset, level = natural(other)
    if not absolute:
        offset, level = 0.0, 0.0
    return replace(
        bare, dims=other.dims, scale=bare.scale * scale, offset=bare.offset * scale + offset, level=level,
        factors=other.factors, words=other.words, bare=False,
    )  # fmt: skip


def convert(node: Typed, scale: float, offset: float) -> Fn:
    """A closure giving ``node``'s value as a number in the representation (scale, offset)."""
    k = node.scale / scale
    c = (node.offset - offset) / scale
    if abs(k - 1.0) < 1e-15:
        k = 1.0
    if abs(c) < 1e-12 * max(1.0, abs(node.offset), abs(offset)) / abs(scale):
        c = 0.0
    fn = node.fn
    if node.const:
        v = fn(None)  # type: ignore[arg-type]
        result = v * k + c
        return lambda env: result
    if k == 1.0 and c == 0.0:
        return fn
    p = node.point
    if c == 0.0:
        if p is not None:
            return lambda env: env.value(p) * k
        return lambda env: fn(env) * k
    if p is not None:
        return lambda env: env.value(p) * k + c
    return lambda env: fn(env) * k + c


def absolute(node: Typed) -> Typed:
    """The node with offset 0 (temperatures as kelvins), for * / ^ sqrt %."""
    if node.offset == 0.0:
        return node
    scale = abs(node.scale)
    return replace(node, fn=convert(node, scale, 0.0), scale=scale, offset=0.0, point=None)


def positive(node: Typed, offset: float | None = None) -> Typed:
    """The node with a positive scale (so that order and rounding are those of the physical value)."""
    off = node.offset if offset is None else offset
    if node.scale > 0 and off == node.offset:
        return node
    scale = abs(node.scale)
    return replace(node, fn=convert(node, scale, off), scale=scale, offset=off, point=None)


def check_finite(x: float) -> float:
    if x - x != 0:  # inf or nan
        raise ValueError(f"the result is not a finite number ({x})")
    return x


def describe(node: Typed) -> str:
    """``M3-K-PER-HR (volume per time x temperature)`` for messages."""
    if node.boolean:
        return "a boolean (true/false)"
    if node.dims == dims.DIMENSIONLESS and not node.factors:
        return "a plain number"
    name = dims.qudt_name(node.factors) if node.factors else dims.format_dimension(node.dims)
    words = dims.quantity_words(node.dims)
    if words is None:
        words = node.words or dims.format_dimension(node.dims)
    return f"{name} ({words})"
