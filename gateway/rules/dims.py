"""QUDT dimension vectors as exponent tuples, and words for them in error messages.

QUDT writes a unit's dimension as ``A0E0L2I0M1H0T-3D0`` (amount, current, length, luminous intensity, mass,
temperature, time, and a D flag that is 1 for dimensionless units). Here a dimension is the tuple of the
seven exponents; the D flag follows from them (all zero) and is ignored when comparing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from gateway import units

Dims = tuple[float, float, float, float, float, float, float]
BASES = "AELIMHT"
DIMENSIONLESS: Dims = (0, 0, 0, 0, 0, 0, 0)
TEMPERATURE: Dims = (0, 0, 0, 0, 0, 1, 0)
TIME: Dims = (0, 0, 0, 0, 0, 0, 1)
_TERM = re.compile(r"([AELIMHTD])(-?\d+(?:dot\d+)?)")


class DimensionError(ValueError):
    """A dimension vector that is not QUDT's format."""


def parse_dimension(text: str) -> Dims:
    """``A0E0L2I0M1H0T-3D0`` -> ``(0, 0, 2, 0, 1, 0, -3)``."""
    exps: dict[str, float] = dict.fromkeys(BASES, 0)
    pos = 0
    for m in _TERM.finditer(text):
        if m.start() != pos:
            break
        pos = m.end()
        if m.group(1) != "D":
            exps[m.group(1)] = _number(m.group(2))
    if pos != len(text) or not text:
        raise DimensionError(f"not a QUDT dimension vector: {text!r}")
    return (exps["A"], exps["E"], exps["L"], exps["I"], exps["M"], exps["H"], exps["T"])


def _number(text: str) -> float:
    """QUDT writes fractional exponents as ``0dot5``; whole ones stay ints."""
    return float(text.replace("dot", ".")) if "dot" in text else int(text)


def _text(e: float) -> str:
    return str(int(e)) if float(e).is_integer() else f"{e:g}".replace(".", "dot")


def format_dimension(dims: Dims) -> str:
    """``(0, 0, 2, 0, 1, 0, -3)`` -> ``A0E0L2I0M1H0T-3D0`` (D1 when dimensionless, as QUDT writes it)."""
    body = "".join(f"{b}{_text(e)}" for b, e in zip(BASES, dims, strict=True))
    return body + ("D1" if dims == DIMENSIONLESS else "D0")


def unit_dims(unit: units.Unit) -> Dims:
    """A unit's dimension (units without a vector in the table count as dimensionless)."""
    return _parsed(unit.dimension) if unit.dimension else DIMENSIONLESS


@cache
def _parsed(text: str) -> Dims:
    return parse_dimension(text)


def combine(a: Dims, b: Dims, sign: int = 1) -> Dims:
    """The dimension of a product (sign 1) or quotient (sign -1)."""
    return tuple(x + sign * y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def scale_dims(a: Dims, factor: float) -> Dims | None:
    """The dimension of a power; None when an exponent would not be a whole number."""
    out = [e * factor for e in a]
    if any(abs(e - round(e)) > 1e-9 for e in out):
        return None
    return tuple(round(e) for e in out)  # type: ignore[return-value]


@cache
def _coherent() -> dict[Dims, units.Unit]:
    """The SI-coherent unit (multiplier 1, no offset) of each dimension, shortest name first."""
    out: dict[Dims, units.Unit] = {}
    for u in sorted(units.all_units().values(), key=lambda u: (len(u.name), u.name)):
        if u.multiplier == 1.0 and u.offset == 0.0 and u.dimension and u.quantity_kinds:
            out.setdefault(unit_dims(u), u)
    return out


def _words(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", camel).lower()


def quantity_words(dims: Dims) -> str | None:
    """A name for the quantity of a dimension, when a unit of the table has it ("power", "temperature")."""
    if dims == DIMENSIONLESS:
        return "a plain number"
    u = _coherent().get(dims)
    return _words(u.quantity_kinds[0]) if u is not None else None


def unit_words(unit: units.Unit) -> str:
    """The quantity a unit measures, in words ("volume per time" for M3-PER-HR)."""
    if unit.quantity_kinds:
        return _words(unit.quantity_kinds[0])
    return quantity_words(unit_dims(unit)) or format_dimension(unit_dims(unit))


# Unit factors: a unit written as a product of named units with exponents ({"M3": 1, "K": 1, "HR": -1}), for
# messages in the user's own units (M3-K-PER-HR) and for suggesting the constant that fixes a mismatch.
Factors = Mapping[str, int]


def factors_of(unit: units.Unit) -> dict[str, int]:
    """QUDT names split into their parts when each part is itself a unit (KiloW-HR -> KiloW * HR)."""
    num, _, den = unit.name.partition("-PER-")
    parts = [(p, 1) for p in num.split("-")] + ([(p, -1) for p in den.split("-")] if den else [])
    if len(parts) > 1 and all(units.get_unit(p) is not None for p, _ in parts):
        out: dict[str, int] = {}
        for p, e in parts:
            out[p] = out.get(p, 0) + e
        return {k: v for k, v in out.items() if v}
    return {unit.name: 1}


def multiply_factors(a: Factors, b: Factors, sign: int = 1) -> dict[str, int]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + sign * v
    return {k: v for k, v in out.items() if v}


def power_factors(a: Factors, factor: float) -> dict[str, int] | None:
    out = {k: v * factor for k, v in a.items()}
    if any(abs(v - round(v)) > 1e-9 for v in out.values()):
        return None
    return {k: round(v) for k, v in out.items() if round(v)}


def _part(name: str, exp: int) -> str:
    return name if exp == 1 else f"{name}{exp}"


def qudt_name(f: Factors) -> str:
    """Factors as a QUDT-style name: ``M3-K-PER-HR``."""
    num = [_part(k, v) for k, v in f.items() if v > 0]
    den = [_part(k, -v) for k, v in f.items() if v < 0]
    text = "-".join(num) or "1"
    return text + ("-PER-" + "-".join(den) if den else "")


def unit_expression(f: Factors) -> str:
    """Factors as a unit literal this language parses: ``KiloW*HR/(M3*K)``."""

    def term(k: str, v: int) -> str:
        return k if v == 1 else f"{k}^{v}"

    num = [term(k, v) for k, v in f.items() if v > 0]
    den = [term(k, -v) for k, v in f.items() if v < 0]
    text = "*".join(num) or "1"
    if den:
        text += "/" + (den[0] if len(den) == 1 else "(" + "*".join(den) + ")")
    return text
