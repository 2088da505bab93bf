"""Functions of the expression language: if, min, max, abs, round, sqrt, and the window functions."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from gateway.rules import dims
from gateway.rules import expr_parse as p
from gateway.rules.expr_compile import maybe_fold, unit_meaning
from gateway.rules.expr_parse import ExprError
from gateway.rules.expr_types import Fn, Typed, WindowKey, absolute, convert, describe, natural, positive, si

if TYPE_CHECKING:
    from gateway.rules.expr_compile import Compiler

WINDOWED = ("avg", "rate", "integral", "delta", "last_change")
_USAGE = {
    "if": "if(condition, a, b)",
    "abs": "abs(x)",
    "round": "round(x) or round(x, digits)",
    "sqrt": "sqrt(x)",
    "min": "min(a, b, ...) or min(point, 1h)",
    "max": "max(a, b, ...) or max(point, 1h)",
    "avg": "avg(point, 15min)",
    "rate": "rate(point) or rate(point, 1min)",
    "integral": "integral(point) or integral(point, 1d)",
    "delta": "delta(point, 1h)",
    "last_change": "last_change(point)",
}


def _arity(n: p.Call, low: int, high: int | None) -> None:
    count = len(n.args)
    if count < low or (high is not None and count > high):
        raise ExprError(f"{n.name}() takes {_USAGE[n.name]}; got {count} argument(s)", n.pos)


def call(c: Compiler, n: p.Call) -> Typed:
    if n.name in WINDOWED or (n.name in ("min", "max") and len(n.args) == 2 and isinstance(n.args[1], p.Duration)):
        return window(c, n)
    if n.name == "if":
        return if_(c, n)
    if n.name in ("min", "max"):
        return extreme(c, n)
    _arity(n, 1, 2 if n.name == "round" else 1)
    x = c.node(n.args[0])
    c.need_number(x, n.name + "()")
    if n.name == "abs":
        # a temperature keeps its origin (abs of °C is the °C value's); a difference has none
        y = positive(x, x.offset if x.level else 0.0)
        fy = y.fn
        return maybe_fold(replace(y, fn=lambda env: abs(fy(env)), pos=n.pos, point=None, bare=x.bare))
    if n.name == "round":
        return round_(c, n, x)
    half = dims.scale_dims(x.dims, 0.5)
    if half is None:
        raise ExprError(f"sqrt of {describe(x)} has no whole dimension (its exponents must be even)", n.pos)
    y = positive(absolute(x))
    fy = y.fn
    factors = dims.power_factors(y.factors, 0.5) or {}
    out = Typed(lambda env: math.sqrt(fy(env)), n.pos, dims=half, scale=math.sqrt(y.scale), factors=factors,
                const=y.const, bare=x.bare)  # fmt: skip
    return maybe_fold(out)


def round_(c: Compiler, n: p.Call, x: Typed) -> Typed:
    digits = 0
    if len(n.args) == 2:
        d = c.node(n.args[1])
        if not (d.const and d.bare and float(si(d)).is_integer()):
            raise ExprError("round(x, digits): digits must be a whole number such as 1 or -2", n.args[1].pos)
        digits = int(si(d))
    # rounds in the unit the reader sees (the point's own unit), not in an internal scale
    scale, offset, level = natural(x)
    fx = convert(x, scale, offset)
    fn: Fn = (lambda env: round(fx(env), digits)) if digits else (lambda env: float(round(fx(env))))
    return maybe_fold(replace(x, fn=fn, pos=n.pos, scale=scale, offset=offset, level=level, point=None))


def if_(c: Compiler, n: p.Call) -> Typed:
    _arity(n, 3, 3)
    cond, a, b = (c.node(arg) for arg in n.args)
    c.need_bool(cond, "if")
    fc = cond.fn
    if a.boolean or b.boolean:
        if not (a.boolean and b.boolean):
            raise ExprError("if(c, a, b): a and b must both be true/false or both numbers", n.pos)
        fa, fb = a.fn, b.fn
        ref = a
    else:
        a, b = c.same(n, a, b, "choose between", absolute=True)
        ref = b if a.const and not b.const else a
        fa, fb = convert(a, ref.scale, ref.offset), convert(b, ref.scale, ref.offset)
    if cond.const:
        chosen = a if cond.value() else b
        return replace(ref, fn=fa if chosen is a else fb, pos=n.pos, point=None, const=chosen.const)
    fn: Fn = lambda env: fa(env) if fc(env) else fb(env)  # noqa: E731
    return replace(ref, fn=fn, pos=n.pos, point=None, const=False, bare=a.bare and b.bare)


def extreme(c: Compiler, n: p.Call) -> Typed:
    if len(n.args) < 2:
        raise ExprError(f"{n.name}() takes {_USAGE[n.name]}", n.pos)
    args = [c.node(arg) for arg in n.args]
    for a in args:
        c.need_number(a, n.name + "()")
    ref = next((a for a in args if not a.const), next((a for a in args if not a.bare), args[0]))
    same = [ref if a is ref else c.same(n, ref, a, f"take the {n.name} of", absolute=True)[1] for a in args]
    scale = abs(ref.scale)
    fns = [convert(a, scale, ref.offset) for a in same]
    pick = min if n.name == "min" else max
    if len(fns) == 2:
        f0, f1 = fns
        fn: Fn = lambda env: pick(f0(env), f1(env))  # noqa: E731
    else:
        fn = lambda env: pick([f(env) for f in fns])  # noqa: E731
    const = all(a.const for a in args)
    bare = all(a.bare for a in args)
    out = replace(ref, fn=fn, pos=n.pos, scale=scale, point=None, const=const, bare=bare)
    return maybe_fold(out)


def window(c: Compiler, n: p.Call) -> Typed:
    name = n.name
    takes_window = name in ("avg", "min", "max", "delta")
    optional = name in ("rate", "integral")
    _arity(n, 1 if name in ("rate", "integral", "last_change") else 2, 1 if name == "last_change" else 2)
    target = n.args[0]
    if not isinstance(target, p.Ref):
        raise ExprError(f"{name}() works over a point's past values: {_USAGE[name]}", p.start(target))
    seconds: float | None = None
    if len(n.args) == 2:
        d = n.args[1]
        if not isinstance(d, p.Duration):
            raise ExprError(f"the window of {name}() is a duration such as 30s, 15min, 1h or 2d", p.start(d))
        if d.seconds <= 0:
            raise ExprError("a window must be longer than 0s", d.pos)
        seconds = d.seconds
    elif takes_window and not optional:
        raise ExprError(f"{name}() needs a window: {_USAGE[name]}", n.pos)
    info = c.resolve(target)
    if info.datatype.value == "string" or (info.datatype.value == "bool" and name != "last_change"):
        raise ExprError(f"{name}() needs a numeric point, '{target.name}' is {info.datatype.value}", target.pos)
    key = WindowKey(name, info.id, seconds)
    c.windows.setdefault(key, None)
    fn: Fn = lambda env: env.window(key)  # noqa: E731
    if name == "last_change":
        return Typed(fn, n.pos, dims=dims.TIME, factors={"SEC": 1}, words="time")
    base = Typed(fn, n.pos, **unit_meaning(info.unit, target.pos))
    if name in ("avg", "min", "max"):
        return base
    flat = replace(base, offset=0.0, level=0.0)  # differences, rates and integrals have no origin
    if name == "delta":
        return flat
    sign = -1 if name == "rate" else 1
    return replace(
        flat,
        dims=dims.combine(base.dims, dims.TIME, sign),
        factors=dims.multiply_factors(base.factors, {"SEC": 1}, sign),
        words=f"{base.words} per time" if sign < 0 else f"{base.words} x time",
    )
