"""QUDT units: lookup by name, typo suggestions, exact conversions and RDF for the twin's ontology graph.

The table (ontology/units.tsv) is derived from the QUDT vocabulary by scripts/derive_units.py and shipped with
the package, so a user's machine needs no QUDT files. It is read once, at first use.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

from adapters.contract.rdf import QK, QUDT, UNIT

DIM_NS = "http://qudt.org/vocab/dimensionvector/"
_TABLE = Path(__file__).resolve().parent.parent / "ontology" / "units.tsv"


class UnitError(ValueError):
    """Units that cannot be converted into each other, or an unknown unit."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One QUDT unit."""

    name: str
    symbol: str | None
    label: str
    quantity_kinds: tuple[str, ...]
    multiplier: float
    offset: float
    unece: str | None
    dimension: str | None

    @property
    def iri(self) -> str:
        """The unit's QUDT IRI."""
        return UNIT + self.name


# Informal abbreviations integrators write that are no QUDT symbol; used only for suggestions, never resolved
# silently (a mapping names its unit exactly).
_INFORMAL = {"rpm": "REV-PER-MIN", "lpm": "L-PER-MIN", "gpm": "GAL_US-PER-MIN", "cfm": "FT3-PER-MIN"}
_SQUASH = str.maketrans({"·": "", " ": "", "*": "", "_": "", "-": "", "^": "", "³": "3", "²": "2", "µ": "u", "μ": "u"})


def _squash(text: str) -> str:
    """A spelling-insensitive key: ``kW·h``, ``KWH`` and ``kwh`` all become ``kwh``."""
    return text.lower().translate(_SQUASH)


@dataclass(frozen=True)
class _Index:
    by_name: dict[str, Unit]
    by_lower: dict[str, str]
    by_symbol: dict[str, str]
    # spelling-insensitive keys of names, symbols and labels -> names, for suggestions only
    fuzzy: dict[str, tuple[str, ...]]


@cache
def _index() -> _Index:
    by_name: dict[str, Unit] = {}
    symbols: dict[str, set[str]] = {}
    for line in _TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        name, symbol, label, qks, mul, off, unece, dim = (line.split("\t") + [""] * 8)[:8]
        u = Unit(
            name,
            symbol or None,
            label or name,
            tuple(q for q in qks.split(",") if q),
            float(mul) if mul else 1.0,
            float(off) if off else 0.0,
            unece or None,
            dim or None,
        )
        by_name[name] = u
        if symbol:
            symbols.setdefault(symbol, set()).add(name)
    lower: dict[str, str] = {}
    for n in by_name:
        lower.setdefault(n.lower(), n)
    # A symbol is an alias only when exactly one unit has it ("kW" yes, "m" (metre/minute...) no).
    by_symbol = {s: next(iter(ns)) for s, ns in symbols.items() if len(ns) == 1}
    fuzzy: dict[str, set[str]] = {}
    for u in by_name.values():
        for key in (u.name, u.symbol, u.label):
            if key:
                fuzzy.setdefault(_squash(key), set()).add(u.name)
    # shortest names first: the plain unit before exotic ones sharing a key (PA before PetaA for "pa")
    ranked = {k: tuple(sorted(ns, key=lambda n: (len(n), n))) for k, ns in fuzzy.items()}
    return _Index(by_name, lower, by_symbol, ranked)


def all_units() -> Mapping[str, Unit]:
    """Every known unit by QUDT name."""
    return _index().by_name


def get_unit(name: str) -> Unit | None:
    """A unit by QUDT name (``DEG_C``), curie (``unit:DEG_C``), IRI, or unambiguous symbol (``°C``, ``kW``)."""
    idx = _index()
    key = name.strip()
    if key.startswith(UNIT):
        key = key[len(UNIT) :]
    elif key.startswith("unit:"):
        key = key[5:]
    u = idx.by_name.get(key)
    if u is not None:
        return u
    alias = idx.by_symbol.get(key)
    return idx.by_name[alias] if alias else None


def suggest_units(text: str, n: int = 3) -> list[str]:
    """Close QUDT unit names for a mistyped one ("DEGC" -> DEG_C, "kw" -> KiloW, "kWh" -> KiloW-HR)."""
    idx = _index()
    key = text.strip().removeprefix("unit:")
    out: list[str] = []

    def add(names: Iterable[str]) -> None:
        out.extend(nm for nm in names if nm not in out)

    if key in idx.by_symbol:  # an exact, unambiguous symbol first
        add([idx.by_symbol[key]])
    if key.lower() in idx.by_lower:
        add([idx.by_lower[key.lower()]])
    if key.lower() in _INFORMAL:
        add([_INFORMAL[key.lower()]])
    add(idx.fuzzy.get(_squash(key), ()))  # same name, symbol or label, spelt differently
    if len(out) < n:
        close = difflib.get_close_matches(key.lower(), list(idx.by_lower), n=n, cutoff=0.75)
        add(idx.by_lower[m] for m in close)
    return out[:n]


def _require(name: str) -> Unit:
    u = get_unit(name)
    if u is None:
        raise UnitError(f"unknown unit '{name}'")
    return u


def converter(from_unit: str, to_unit: str) -> Callable[[float], float]:
    """A function converting values from one unit into another of the same dimension."""
    a, b = _require(from_unit), _require(to_unit)
    if a.name == b.name:
        return lambda v: v
    if a.dimension != b.dimension:
        qa = a.quantity_kinds[0] if a.quantity_kinds else a.dimension
        qb = b.quantity_kinds[0] if b.quantity_kinds else b.dimension
        raise UnitError(f"cannot convert {a.name} ({qa}) to {b.name} ({qb}): different dimensions")
    # Combine both conversions exactly (QUDT's decimal strings as fractions), then round results to 15
    # significant digits so 212 °F is 100 °C, not 100.00000000000006.
    ma, oa, mb, ob = (Fraction(repr(x)) for x in (a.multiplier, a.offset, b.multiplier, b.offset))
    k = ma / mb
    c = oa * k - ob
    fk, fc = float(k), float(c)
    if c == 0:
        return lambda v: float(f"{v * fk:.15g}") + 0.0  # + 0.0: no "-0.0" in the twin

    def shift(v: float) -> float:
        scaled = v * fk
        big = max(abs(scaled), abs(fc))
        # Round relative to the larger term: below that the sum is floating-point noise (32 °F -> 0 °C).
        digits = 14 - math.floor(math.log10(big)) if big > 0 and math.isfinite(big) else 0
        return (round(scaled + fc, digits) if digits else scaled + fc) + 0.0

    return shift


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def units_ntriples(names: Iterable[str]) -> str:
    """N-Triples describing units (type, label, symbol, quantity kinds, conversion, UNECE code, dimension).

    Unknown names are left out (the SHACL check then reports the point's unit as unknown)."""
    lines: list[str] = []
    xsd_double = "<http://www.w3.org/2001/XMLSchema#double>"
    for name in sorted(set(names)):
        u = get_unit(name)
        if u is None:
            continue
        s = f"<{u.iri}>"
        lines.append(f"{s} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{QUDT}Unit> .")
        lines.append(f"{s} <http://www.w3.org/2000/01/rdf-schema#label> {_lit(u.label)}@en .")
        if u.symbol:
            lines.append(f"{s} <{QUDT}symbol> {_lit(u.symbol)} .")
        for qk in u.quantity_kinds[:3]:
            lines.append(f"{s} <{QUDT}hasQuantityKind> <{QK}{qk}> .")
        lines.append(f'{s} <{QUDT}conversionMultiplier> "{u.multiplier!r}"^^{xsd_double} .')
        lines.append(f'{s} <{QUDT}conversionOffset> "{u.offset!r}"^^{xsd_double} .')
        if u.unece:
            lines.append(f"{s} <{QUDT}uneceCommonCode> {_lit(u.unece)} .")
        if u.dimension:  # lets SPARQL find convertible units: same dimension vector
            lines.append(f"{s} <{QUDT}hasDimensionVector> <{DIM_NS}{u.dimension}> .")
    return "\n".join(lines) + ("\n" if lines else "")


@cache
def _by_unece() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for u in all_units().values():
        if u.unece:
            index.setdefault(u.unece, []).append(u.name)
    return {code: tuple(names) for code, names in index.items()}


class Catalog:
    """This table as the adapters' ``UnitCatalog`` (adapters/contract/units.py): adapters never import it."""

    def unece(self, name: str) -> str | None:
        """The UNECE code of a unit; None when the unit is unknown or has none."""
        u = get_unit(name)
        return u.unece if u is not None else None

    def by_unece(self, code: str) -> list[str]:
        """The QUDT names of the units with a UNECE code."""
        return list(_by_unece().get(code, ()))

    def converter(self, src: str, dst: str) -> Callable[[float], float]:
        """See :func:`converter` (``UnitError`` is a ValueError)."""
        return converter(src, dst)


CATALOG = Catalog()
