"""The expression language of derived points: parse, check units, compile to closures.

``compile_expr("flow * (supply_temp - return_temp) * 1.163 [KiloW-HR/(M3*K)]", target, points, asset="boiler1")``
checks every name and dimension once (ExprError with the position and what to change) and returns a
``Compiled`` whose ``evaluate(env)`` runs nested closures with every unit conversion folded into constants.
The language is described in docs/analytics.md, section "Expressions". No eval, exec or Python ast is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from adapters.contract.model import DataType
from gateway import units
from gateway.rules import dims
from gateway.rules.expr_compile import Compiler, unit_meaning
from gateway.rules.expr_parse import ExprError, parse
from gateway.rules.expr_types import Env, Fn, PointInfo, Typed, WindowKey, adopt, describe
from gateway.rules.expr_units import parse_unit_expression

__all__ = [
    "Compiled",
    "Env",
    "ExprError",
    "MissingValue",
    "PointInfo",
    "WindowKey",
    "compile_expr",
    "parse_unit_expression",
]

_INTEGER = {"int16", "uint16", "int32", "uint32", "int64", "uint64"}


class MissingValue(LookupError):
    """An input has no value yet (raised by ``Env.value``; the engine marks the result Bad)."""


@dataclass(frozen=True)
class Compiled:
    """A checked expression. ``inputs``: every point it depends on, in order of appearance (points under
    window functions too); ``windows``: the window functions it reads; ``unit``: the target's unit, which
    ``evaluate`` returns its value in. ``evaluate(env)`` may raise ArithmeticError/ValueError (division by
    zero, sqrt of a negative number, a non-finite result) and lets ``MissingValue`` from ``env`` through."""

    text: str
    target: str
    inputs: tuple[str, ...]
    windows: tuple[WindowKey, ...]
    unit: str | None
    evaluate: Callable[[Env], bool | int | float] = field(repr=False, compare=False)


def compile_expr(text: str, target: PointInfo, points: Mapping[str, PointInfo], *, asset: str) -> Compiled:
    """Parse and check ``text`` as the expression computing ``target`` (bare names are ``asset``'s points)."""
    if not isinstance(text, str):
        raise ExprError('an expression is text, e.g. "flow * 2"', None)
    tree = parse(text)
    compiler = Compiler(points, asset, target.id)
    result = compiler.node(tree)
    evaluate = _finish(result, target, len(text))
    return Compiled(text, target.id, tuple(compiler.inputs), tuple(compiler.windows), target.unit, evaluate)


def _finish(r: Typed, target: PointInfo, end: int) -> Callable[[Env], bool | int | float]:
    kind = target.datatype
    if kind is DataType.STRING:
        raise ExprError("a derived point computes a number or a boolean: give it a numeric or bool datatype", None)
    if kind is DataType.BOOL:
        if not r.boolean:
            raise ExprError(
                f"the point is boolean but the expression gives {describe(r)}: compare it (x > 0) or use a "
                "numeric datatype",
                0,
            )
        fb = r.fn
        return (lambda env: bool(fb(env))) if not r.point else fb
    if r.boolean:
        raise ExprError(
            "the expression gives true/false but the point is numeric: use if(condition, 1, 0) or datatype: bool", 0
        )
    want = Typed(lambda env: 0, end, **unit_meaning(target.unit, 0))
    if r.bare:  # a constant without a unit takes the point's unit
        r = adopt(r, want, absolute=True)
    if r.dims != want.dims:
        raise ExprError(_mismatch(r, want, target.unit), 0)
    # value in the target unit = (v * scale + offset - level * origin) / target scale, folded exactly
    u = units.get_unit(target.unit) if target.unit else None
    t_scale = _exact(u.multiplier) if u else Fraction(1)
    origin = _exact(u.offset) * t_scale if u else Fraction(0)
    k = float(_exact(r.scale) / t_scale)
    c = float((_exact(r.offset) - _exact(r.level) * origin) / t_scale)
    if abs(c) < 1e-9 * max(1.0, abs(r.offset)):
        c = 0.0
    fn = r.fn
    if r.const:
        value = fn(None) * k + c  # type: ignore[arg-type]
        fn, k, c = (lambda env: value), 1.0, 0.0
    if kind.value in _INTEGER:
        return lambda env: round(fn(env) * k + c)
    return _finite(fn, k, c)


def _exact(x: float) -> Fraction:
    """A float as the simple fraction it stands for (0.5555555555555556 -> 5/9), so that 100 °C is 212 °F."""
    f = Fraction(repr(x))
    g = f.limit_denominator(10**6)
    return g if abs(g - f) <= abs(f) * Fraction(1, 10**15) else f


def _finite(fn: Fn, k: float, c: float) -> Callable[[Env], float]:
    """The closure with the conversion into the target unit, refusing inf and nan (an input was not finite,
    or the result overflowed); one frame, since it runs for every evaluation."""

    def bad(x: float) -> ValueError:
        return ValueError(f"the result is not a finite number ({x})")

    if k == 1.0 and c == 0.0:

        def plain(env: Env) -> float:
            x = fn(env)
            if x - x != 0:
                raise bad(x)
            return x

        return plain
    if c == 0.0:

        def scaled(env: Env) -> float:
            x = fn(env) * k
            if x - x != 0:
                raise bad(x)
            return x

        return scaled

    def shifted(env: Env) -> float:
        x = fn(env) * k + c
        if x - x != 0:
            raise bad(x)
        return x

    return shifted


def _mismatch(r: Typed, want: Typed, unit: str | None) -> str:
    need = dims.quantity_words(want.dims) or want.words or dims.format_dimension(want.dims)
    has = describe(r)
    point = f"the point's unit {unit} needs {need}" if unit else "the point has no unit, it needs a plain number"
    advice = "give constants a unit, e.g. 5 [KiloW]"
    if r.factors or want.factors:
        missing = dims.multiply_factors(want.factors, r.factors, -1)
        if missing:
            lit = dims.unit_expression(missing)
            advice = f"multiply by a constant with a unit, e.g. 1.163 [{lit}]"
    return f"the expression gives {has}, {point}: {advice}"
