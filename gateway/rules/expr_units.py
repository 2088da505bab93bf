"""Unit expressions: ``KiloW-HR/(M3*K)``, ``kW·h``, ``m^3/h`` -> multiplier to SI, offset, dimension.

Atoms are QUDT unit names or unambiguous symbols (gateway.units.get_unit), joined by ``*`` (or ``·``), ``/``,
``^`` with a whole exponent, and parentheses. A unit with an offset (°C, °F) keeps it only when it stands
alone; inside a product or quotient it counts as absolute (its multiplier only, like K).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway import units
from gateway.rules import dims
from gateway.rules.expr_parse import ExprError

_ATOM = re.compile(r"[^\s*/()^·]+")
_INT = re.compile(r"[+-]?\d+")


@dataclass(frozen=True, slots=True)
class UnitValue:
    """What a unit expression means: SI value = (value + offset) * multiplier."""

    multiplier: float
    offset: float
    dims: dims.Dims
    factors: dict[str, int] = field(default_factory=dict)  # for messages: {"KiloW": 1, "HR": 1, "M3": -1, "K": -1}
    unit: units.Unit | None = None  # set when the expression is one table unit


def _single(u: units.Unit) -> UnitValue:
    return UnitValue(u.multiplier, u.offset, dims.unit_dims(u), dims.factors_of(u), u)


class _UnitParser:
    def __init__(self, text: str, base: int) -> None:
        self.text = text
        self.base = base
        self.i = 0

    def skip(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.i] if self.i < len(self.text) else ""

    def fail(self, message: str) -> ExprError:
        return ExprError(message, self.base + self.i)

    def product(self) -> UnitValue:
        value = self.power()
        while self.peek() in ("*", "/", "·"):
            op = self.text[self.i]
            self.i += 1
            right = self.power()
            sign = -1 if op == "/" else 1
            value = UnitValue(
                value.multiplier * right.multiplier**sign,
                0.0,
                dims.combine(value.dims, right.dims, sign),
                dims.multiply_factors(value.factors, right.factors, sign),
            )
        return value

    def power(self) -> UnitValue:
        value = self.atom()
        if self.peek() == "^":
            self.i += 1
            self.skip()
            m = _INT.match(self.text, self.i)
            if m is None:
                raise self.fail("expected a whole number after ^ in a unit (m^3)")
            self.i = m.end()
            n = int(m.group())
            value = UnitValue(
                value.multiplier**n,
                0.0,
                tuple(e * n for e in value.dims),  # type: ignore[arg-type]
                {k: v * n for k, v in value.factors.items() if v * n},
            )
        return value

    def atom(self) -> UnitValue:
        c = self.peek()
        if c == "(":
            self.i += 1
            value = self.product()
            if self.peek() != ")":
                raise self.fail("expected ')' in the unit")
            self.i += 1
            return value
        m = _ATOM.match(self.text, self.i)
        if m is None:
            raise self.fail("expected a unit name" + (f", found '{c}'" if c else ""))
        self.i = m.end()
        if m.group() == "1":
            return UnitValue(1.0, 0.0, dims.DIMENSIONLESS, {})
        u = units.get_unit(m.group())
        if u is None:
            hint = units.suggest_units(m.group())
            also = f" (did you mean {', '.join(hint)}?)" if hint else ""
            raise ExprError(f"unknown unit '{m.group()}'{also}", self.base + m.start())
        return _single(u)


def parse_unit(text: str, base: int = 0) -> UnitValue:
    """A unit expression; ``base`` is where ``text`` starts in the whole expression (for error positions)."""
    whole = units.get_unit(text.strip())
    if whole is not None:  # a name or symbol that itself contains / or · (m³/h)
        return _single(whole)
    parser = _UnitParser(text, base)
    value = parser.product()
    if parser.peek():
        raise parser.fail(f"unexpected '{parser.peek()}' in the unit")
    return value


def parse_unit_expression(text: str) -> tuple[float, float, str]:
    """(multiplier to SI, offset, QUDT dimension vector) of a unit expression: SI = (value + offset) * multiplier.

    ``parse_unit_expression("K/min") == (1/60, 0.0, "A0E0L0I0M0H1T-1D0")``; raises ExprError (a ValueError)."""
    value = parse_unit(text)
    return value.multiplier, value.offset, dims.format_dimension(value.dims)
