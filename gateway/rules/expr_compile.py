"""Syntax tree -> typed closures: dimension checks, unit conversions and constant folding at compile time.

See expr_types for how a number's meaning (scale, offset, level) is tracked; functions live in expr_funcs.
"""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from adapters.contract.model import DataType
from gateway import units
from gateway.rules import dims
from gateway.rules import expr_parse as p
from gateway.rules.expr_parse import ExprError
from gateway.rules.expr_types import (
    Fn,
    PointInfo,
    Typed,
    WindowKey,
    absolute,
    adopt,
    constant,
    convert,
    describe,
    fold,
    positive,
    si,
)
from gateway.rules.expr_units import parse_unit

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Compiler:
    def __init__(self, points: Mapping[str, PointInfo], asset: str, target: str) -> None:
        self.points = points
        self.asset = asset
        self.target = target
        self.inputs: dict[str, None] = {}
        self.windows: dict[WindowKey, None] = {}

    def node(self, n: p.Node) -> Typed:
        if isinstance(n, p.Num):
            return self.number(n)
        if isinstance(n, p.Bool):
            return constant(n.value, n.pos, boolean=True)
        if isinstance(n, p.Ref):
            return self.ref(n)
        if isinstance(n, p.Duration):
            raise ExprError(
                f"a duration ({n.text}) is only allowed as a window argument, e.g. avg(p, {n.text}); "
                f"a time as a quantity is written {n.seconds:g} [SEC]",
                n.pos,
            )
        if isinstance(n, p.Unary):
            return self.unary(n)
        if isinstance(n, p.Binary):
            return self.binary(n)
        from gateway.rules.expr_funcs import call  # functions need this module's helpers

        return call(self, n)

    def number(self, n: p.Num) -> Typed:
        if n.unit is None:
            return constant(n.value, n.pos, bare=True)
        u = parse_unit(n.unit, n.unit_pos)
        scale = u.multiplier
        offset = u.offset * u.multiplier
        words = dims.unit_words(u.unit) if u.unit else ""
        # an offset unit alone is a temperature (20 [DEG_C]); K alone is a difference (t + 5 [K])
        return constant(
            n.value, n.pos, dims=u.dims, scale=scale, offset=offset, level=1.0 if offset else 0.0,
            factors=u.factors, words=words,
        )  # fmt: skip

    # --- points ---
    def resolve(self, n: p.Ref) -> PointInfo:
        pid = f"{self.asset}.{n.name}" if n.bare else n.name
        info = self.points.get(pid)
        if info is None and n.bare:
            info = self.points.get(n.name)
        if info is None:
            raise ExprError(self.unknown(n), n.pos)
        if info.id == self.target:
            raise ExprError(f"'{n.name}' is the point this expression computes: it cannot refer to itself", n.pos)
        self.inputs.setdefault(info.id, None)
        return info

    def unknown(self, n: p.Ref) -> str:
        prefix = self.asset + "."
        if n.bare:
            siblings = [i[len(prefix) :] for i in self.points if i.startswith(prefix)]
            close = difflib.get_close_matches(n.name, siblings, n=3, cutoff=0.6)
            where = f"no point '{n.name}' on asset '{self.asset}'"
        else:
            close = []
            where = f"unknown point '{n.name}'"
        if not close:
            close = difflib.get_close_matches(n.name, list(self.points), n=3, cutoff=0.6)
            close = [c if c.replace(".", "").replace("_", "").isalnum() else "{" + c + "}" for c in close]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        return f"{where}{hint}; write a sibling's name, asset.point, or {{point-id}}"

    def ref(self, n: p.Ref) -> Typed:
        info = self.resolve(n)
        pid = info.id
        if info.datatype is DataType.STRING:
            raise ExprError(f"'{n.name}' is a string point: expressions compute numbers and booleans", n.pos)
        fn: Fn = lambda env: env.value(pid)  # noqa: E731
        if info.datatype is DataType.BOOL:
            return Typed(fn, n.pos, boolean=True, point=pid)
        return Typed(fn, n.pos, point=pid, **unit_meaning(info.unit, n.pos))

    # --- operators ---
    def unary(self, n: p.Unary) -> Typed:
        a = self.node(n.operand)
        if n.op == "not":
            self.need_bool(a, "not")
            fa = a.fn
            return maybe_fold(replace(a, fn=lambda env: not fa(env), pos=n.pos, point=None, bare=False))
        self.need_number(a, n.op)
        if n.op == "+":
            return a
        if a.const:
            return constant(-a.value(), n.pos, a, bare=a.bare)
        # -x costs nothing: the sign goes into the scale
        return replace(a, pos=n.pos, scale=-a.scale, offset=-a.offset, level=-a.level)

    def binary(self, n: p.Binary) -> Typed:
        a, b = self.node(n.left), self.node(n.right)
        if n.op in ("and", "or"):
            self.need_bool(a, n.op)
            self.need_bool(b, n.op)
            fa, fb = a.fn, b.fn
            fn: Fn = (lambda env: fa(env) and fb(env)) if n.op == "and" else (lambda env: fa(env) or fb(env))
            return maybe_fold(Typed(fn, n.pos, boolean=True, const=a.const and b.const))
        if n.op in _COMPARE:
            return self.compare(n, a, b)
        self.need_number(a, n.op)
        self.need_number(b, n.op)
        if n.op in ("+", "-"):
            return self.add(n, a, b)
        if n.op in ("*", "/"):
            return self.multiply(n, a, b)
        if n.op == "%":
            return self.modulo(n, a, b)
        return power(n, a, b)

    def need_bool(self, a: Typed, op: str) -> None:
        if not a.boolean:
            raise ExprError(f"'{op}' needs true/false, this operand is {describe(a)}: compare it, e.g. x > 0", a.pos)

    def need_number(self, a: Typed, op: str) -> None:
        if a.boolean:
            raise ExprError(f"'{op}' needs a number, this operand is a boolean: use if(x, 1, 0)", a.pos)

    def same(self, n: p.Binary | p.Call, a: Typed, b: Typed, verb: str, *, absolute: bool) -> tuple[Typed, Typed]:
        """Both operands with one dimension; a bare number takes the other's unit."""
        if a.bare and not b.bare:
            a = adopt(a, b, absolute=absolute)
        elif b.bare and not a.bare:
            b = adopt(b, a, absolute=absolute)
        if a.dims != b.dims:
            raise ExprError(
                f"cannot {verb} {describe(a)} and {describe(b)}: they measure different quantities; "
                "convert one with a constant that has a unit, or compare like with like",
                n.pos,
            )
        return a, b

    def add(self, n: p.Binary, a: Typed, b: Typed) -> Typed:
        a, b = self.same(n, a, b, "add" if n.op == "+" else "subtract", absolute=False)
        ref, other = (b, a) if a.const and not b.const else (a, b)
        fo = convert(other, ref.scale, other.offset)  # same scale: offsets add up in SI
        o = replace(other, fn=fo, point=other.point if fo is other.fn else None, scale=ref.scale)
        x, y = (o, ref) if ref is b else (ref, o)
        sign = 1.0 if n.op == "+" else -1.0
        fn = arith(n.op, x, y)
        result = Typed(
            fn, n.pos, dims=ref.dims, scale=ref.scale, offset=x.offset + sign * y.offset,
            level=x.level + sign * y.level, factors=ref.factors, const=a.const and b.const,
            bare=a.bare and b.bare, words=ref.words,
        )  # fmt: skip
        return maybe_fold(result)

    def multiply(self, n: p.Binary, a: Typed, b: Typed) -> Typed:
        sign = 1 if n.op == "*" else -1
        d = dims.combine(a.dims, b.dims, sign)
        f = dims.multiply_factors(a.factors, b.factors, sign)
        words = " x ".join(w for w in (a.words, b.words) if w) if sign > 0 else _per(a.words, b.words)
        bare = a.bare and b.bare
        if b.const or (a.const and sign > 0):
            node, k = (a, si(b)) if b.const else (b, si(a))
            if sign < 0:
                if k == 0:
                    raise ExprError("division by zero", b.pos)
                k = 1.0 / k
            # a constant factor goes into the scale: no work at run time
            out = replace(
                node, pos=n.pos, dims=d, factors=f, scale=node.scale * k, offset=node.offset * k,
                level=node.level * k, words=words, bare=bare,
            )  # fmt: skip
            return fold(out) if out.const else out
        x, y = absolute(a), absolute(b)
        scale = x.scale * y.scale if sign > 0 else x.scale / y.scale
        if x.const:  # constant / node
            kx = si(x)
            fy = y.fn
            fn: Fn = lambda env: kx / fy(env)  # noqa: E731
            scale = 1.0 / y.scale
        else:
            fn = arith(n.op, x, y)
        return Typed(fn, n.pos, dims=d, scale=scale, factors=f, words=words)

    def modulo(self, n: p.Binary, a: Typed, b: Typed) -> Typed:
        a, b = self.same(n, a, b, "take the remainder of", absolute=False)
        x = positive(absolute(a))
        fy = convert(absolute(b), x.scale, 0.0)
        y = replace(b, fn=fy, point=None, const=b.const)
        node = Typed(arith("%", x, y), n.pos, dims=x.dims, scale=x.scale, factors=x.factors, words=x.words,
                     const=x.const and y.const, bare=a.bare and b.bare)  # fmt: skip
        return maybe_fold(node)

    def compare(self, n: p.Binary, a: Typed, b: Typed) -> Typed:
        op = _COMPARE[n.op]
        if a.boolean or b.boolean:
            if not (a.boolean and b.boolean):
                odd = b if a.boolean else a
                raise ExprError(f"cannot compare a boolean with {describe(odd)}", n.pos)
            if n.op not in ("==", "!="):
                raise ExprError(f"'{n.op}' needs numbers; booleans compare with == or !=", n.pos)
            fa, fb = a.fn, b.fn
        else:
            a, b = self.same(n, a, b, "compare", absolute=True)
            ref = b if a.const and not b.const else a
            scale = abs(ref.scale)
            fa, fb = convert(a, scale, ref.offset), convert(b, scale, ref.offset)
        if b.const:
            cb = fb(None)  # type: ignore[arg-type]
            fn: Fn = lambda env: op(fa(env), cb)  # noqa: E731
        else:
            fn = lambda env: op(fa(env), fb(env))  # noqa: E731
        return maybe_fold(Typed(fn, n.pos, boolean=True, const=a.const and b.const))


def _per(a: str, b: str) -> str:
    return f"{a} per {b}" if a and b else a or (f"per {b}" if b else "")


def unit_meaning(unit: str | None, pos: int) -> dict[str, Any]:
    """The Typed fields of a value in a point's unit."""
    u = units.get_unit(unit) if unit else None
    if u is None:
        if unit:
            raise ExprError(f"the point's unit '{unit}' is unknown", pos)
        return {}
    d = dims.unit_dims(u)
    return {
        "dims": d,
        "scale": u.multiplier,
        "offset": u.offset * u.multiplier,
        "level": 1.0 if d == dims.TEMPERATURE else 0.0,
        "factors": dims.factors_of(u),
        "words": dims.unit_words(u),
    }


def maybe_fold(node: Typed) -> Typed:
    return fold(node) if node.const else node


def arith(op: str, a: Typed, b: Typed) -> Fn:
    """``a op b`` as one closure, reading point inputs directly (one call less per operand)."""
    fa, fb, pa, pb = a.fn, b.fn, a.point, b.point
    if b.const:
        c = b.value()
        if op == "+":
            return (lambda env: env.value(pa) + c) if pa else (lambda env: fa(env) + c)
        if op == "-":
            return (lambda env: env.value(pa) - c) if pa else (lambda env: fa(env) - c)
    if a.const:
        c = a.value()
        if op == "+":
            return (lambda env: c + env.value(pb)) if pb else (lambda env: c + fb(env))
        if op == "-":
            return (lambda env: c - env.value(pb)) if pb else (lambda env: c - fb(env))
    if op == "+":
        if pa and pb:
            return lambda env: env.value(pa) + env.value(pb)
        if pa:
            return lambda env: env.value(pa) + fb(env)
        if pb:
            return lambda env: fa(env) + env.value(pb)
        return lambda env: fa(env) + fb(env)
    if op == "-":
        if pa and pb:
            return lambda env: env.value(pa) - env.value(pb)
        if pa:
            return lambda env: env.value(pa) - fb(env)
        if pb:
            return lambda env: fa(env) - env.value(pb)
        return lambda env: fa(env) - fb(env)
    if op == "*":
        if pa and pb:
            return lambda env: env.value(pa) * env.value(pb)
        if pa:
            return lambda env: env.value(pa) * fb(env)
        if pb:
            return lambda env: fa(env) * env.value(pb)
        return lambda env: fa(env) * fb(env)
    if op == "/":
        if pa and pb:
            return lambda env: env.value(pa) / env.value(pb)
        if pa:
            return lambda env: env.value(pa) / fb(env)
        return lambda env: fa(env) / fb(env)
    return lambda env: fa(env) % fb(env)


def power(n: p.Binary, a: Typed, b: Typed) -> Typed:
    if b.dims != dims.DIMENSIONLESS:
        raise ExprError(f"an exponent must be a plain number, this one is {describe(b)}", b.pos)
    x = absolute(a)
    if x.scale < 0:
        x = positive(x)
    if b.const:
        e = si(b)
        d = dims.scale_dims(x.dims, e)
        f = dims.power_factors(x.factors, e)
        if d is None:
            raise ExprError(f"{describe(a)} to the power {e:g} has a fractional dimension", n.pos)
        scale = _power_of(x.scale, e)
        if scale is None:  # the scale cannot be raised on its own: apply it at run time
            x = replace(x, fn=convert(x, 1.0, 0.0), scale=1.0, point=None)
            scale = 1.0
        fx = x.fn
        node = Typed(
            lambda env: math.pow(fx(env), e), n.pos, dims=d, scale=scale, factors=f or {},
            const=x.const, bare=a.bare and b.bare, words=f"({x.words})^{e:g}" if x.words else "",
        )  # fmt: skip
        return maybe_fold(node)
    if x.dims != dims.DIMENSIONLESS:
        raise ExprError(f"{describe(a)} needs a constant exponent (e.g. x^2)", b.pos)
    fx, fy, sx = x.fn, convert(absolute(b), 1.0, 0.0), x.scale
    return Typed(lambda env: math.pow(fx(env) * sx, fy(env)), n.pos)


def _power_of(scale: float, e: float) -> float | None:
    try:
        out = scale**e
    except (OverflowError, ZeroDivisionError):
        return None
    return out if isinstance(out, float) and out != 0 and math.isfinite(out) else None
