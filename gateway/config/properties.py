"""Static (nameplate) properties of assets, points and locations: ``properties: {manufacturer: ..., ...}``.

Each standard key maps to a standard term (schema.org where Brick has none, Brick's entity properties for ratings,
rdfs:seeAlso for documents, tb: for the rest) and a kind of value; quantities are a number and a QUDT unit
(``40 kW``, ``40 KiloW`` or ``{value: 40, unit: KiloW}``) whose dimension must be the key's quantity kind's. Any
prefixed IRI (a prefix declared under ``prefixes:``) is a key too, its value kept as written. A profile's
``properties:`` are defaults: the instance's own win, key by key (compared by term, so ``rated_power`` and
``brick:ratedPowerOutput`` are one key). docs/mapping-topology.md lists every key.
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from adapters.contract.model import Property, PropertyValue
from gateway import classes, units
from gateway.config.context import Ctx, origin, unknown_unit
from gateway.config.vocabulary import VocabularyError
from gateway.config.yamlmarks import Marked, Path_

SCHEMA = "http://schema.org/"
_RDFS = classes.PREFIXES["rdfs"]


@dataclass(frozen=True, slots=True)
class PropertyKey:
    """A standard property key: its term, label, kind of value and, for quantities, the expected units."""

    key: str
    predicate: str
    label: str
    kind: str  # text | date | year | documents | quantity | number
    quantity: str | None = None  # QUDT quantity kind, e.g. Power
    units: tuple[str, ...] = ()  # QUDT units of that quantity, offered in messages; the first sets the dimension
    bounds: tuple[float, float] | None = None  # for numbers


def _q(key: str, term: str, label: str, quantity: str, *unit_names: str) -> PropertyKey:
    return PropertyKey(key, classes.BRICK + term, label, "quantity", quantity, unit_names)


_POWER, _VOLTAGE, _CURRENT = ("W", "KiloW", "MegaW"), ("V", "KiloV"), ("A", "MilliA")
STANDARD: dict[str, PropertyKey] = {
    k.key: k
    for k in (
        PropertyKey("manufacturer", SCHEMA + "manufacturer", "Manufacturer", "text"),
        PropertyKey("model", SCHEMA + "model", "Model", "text"),
        PropertyKey("product_code", SCHEMA + "productID", "Product code", "text"),
        PropertyKey("serial_number", SCHEMA + "serialNumber", "Serial number", "text"),
        PropertyKey("firmware", SCHEMA + "softwareVersion", "Firmware version", "text"),
        PropertyKey("hardware_version", classes.TB + "hardwareVersion", "Hardware version", "text"),
        PropertyKey("install_date", classes.TB + "installDate", "Install date", "date"),
        PropertyKey("year_built", classes.BRICK + "yearBuilt", "Year built", "year"),
        PropertyKey("documents", _RDFS + "seeAlso", "Documents", "documents"),
        _q("rated_power", "ratedPowerOutput", "Rated power", "Power", *_POWER),
        _q("rated_power_input", "ratedPowerInput", "Rated power input", "Power", *_POWER),
        _q("rated_voltage", "ratedVoltageInput", "Rated voltage", "Voltage", *_VOLTAGE),
        _q("rated_voltage_output", "ratedVoltageOutput", "Rated voltage output", "Voltage", *_VOLTAGE),
        _q("rated_current", "ratedCurrentInput", "Rated current", "ElectricCurrent", *_CURRENT),
        _q("rated_current_output", "ratedCurrentOutput", "Rated current output", "ElectricCurrent", *_CURRENT),
        _q("cooling_capacity", "coolingCapacity", "Cooling capacity", "Power", "KiloW", "TON_FG", "BTU_IT-PER-HR"),
        _q("area", "area", "Area", "Area", "M2", "FT2"),
        _q("gross_area", "grossArea", "Gross area", "Area", "M2", "FT2"),
        _q("net_area", "netArea", "Net area", "Area", "M2", "FT2"),
        _q("volume", "volume", "Volume", "Volume", "M3", "L"),
        PropertyKey("latitude", classes.BRICK + "latitude", "Latitude", "number", bounds=(-90, 90)),
        PropertyKey("longitude", classes.BRICK + "longitude", "Longitude", "number", bounds=(-180, 180)),
    )
}
_BY_PREDICATE = {k.predicate: k for k in STANDARD.values()}
_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)\s*$")


class _Refused(ValueError):
    """A property value that does not fit its key."""


@dataclass(frozen=True, slots=True)
class PropertyInput:
    """One ``key: value`` as written, and where (an instance and its profile's defaults are in different files)."""

    key: str
    value: Any
    doc: Marked
    path: Path_  # of the key: (..., "properties", key)
    suffix: str = ""


def inputs(raw: Mapping[str, Any], doc: Marked, path: Path_, suffix: str = "") -> list[PropertyInput]:
    """The entries of a ``properties:`` mapping found at ``path``."""
    return [PropertyInput(k, v, doc, (*path, k), suffix) for k, v in raw.items()]


def build_properties(
    ctx: Ctx, own: Iterable[PropertyInput], defaults: Iterable[PropertyInput] = ()
) -> tuple[Property, ...]:
    """The properties of an entity: its own, then the defaults whose term it does not set."""
    built: list[Property] = []
    taken: dict[str, str] = {}
    for group in (list(own), list(defaults)):
        mine: dict[str, str] = {}
        for item in group:
            resolved = _resolve_key(ctx, item)
            if resolved is None:
                continue
            predicate, std = resolved
            if predicate in taken:
                continue  # a default the instance overrides
            if predicate in mine:
                _error(
                    ctx, item, f"'{item.key}' is the same term as '{mine[predicate]}' ({classes.compact(predicate)})"
                )
                continue
            mine[predicate] = item.key
            prop = _build(ctx, item, predicate, std)
            if prop is not None:
                built.append(prop)
        taken.update(mine)
    return tuple(built)


def _error(ctx: Ctx, item: PropertyInput, message: str) -> None:
    ctx.errors.append(item.doc.error(item.path, message + item.suffix))


def _resolve_key(ctx: Ctx, item: PropertyInput) -> tuple[str, PropertyKey | None] | None:
    key = item.key
    if key in STANDARD:
        return STANDARD[key].predicate, STANDARD[key]
    if ":" not in key:
        close = difflib.get_close_matches(key, list(STANDARD), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        _error(ctx, item, f"unknown property '{key}' ({hint}or write a prefixed IRI such as ex:{key}, ex declared "
                          "under prefixes:)")  # fmt: skip
        return None
    try:
        predicate = ctx.vocabulary.expand(key)
    except VocabularyError as exc:
        _error(ctx, item, str(exc))
        return None
    return predicate, _BY_PREDICATE.get(predicate)


def _build(ctx: Ctx, item: PropertyInput, predicate: str, std: PropertyKey | None) -> Property | None:
    try:
        value, unit = _value(item.key, item.value, std)
    except _Refused as exc:
        _error(ctx, item, str(exc))
        return None
    label = std.label if std is not None else _humanize(predicate)
    return Property(item.key, predicate, value, label, unit, origin(item.doc, item.path))


def _value(key: str, raw: Any, std: PropertyKey | None) -> tuple[PropertyValue, str | None]:
    """The value (and QUDT unit) of ``key: raw``; ``_Refused`` says what to write instead."""
    kind = std.kind if std is not None else "any"
    if kind == "quantity" or (kind == "any" and isinstance(raw, dict)):
        return _quantity(key, raw, std)
    if kind == "text":
        if isinstance(raw, str) and not raw.strip():
            raise _Refused(f"{key} is empty: write its text or leave the key out")
        if not isinstance(raw, str):
            shown = f'"{raw}"' if raw is not None else '"..."'
            raise _Refused(f"{key} is text: write it in quotes ({key}: {shown}) so YAML keeps it as written")
        return raw, None
    if kind == "date":
        return _date(key, raw), None
    if kind == "year":
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1000 <= raw <= 9999:
            raise _Refused(f"{key} is a four-digit year such as 1998 (got {raw!r})")
        return raw, None
    if kind == "documents":
        docs = [raw] if isinstance(raw, str) else raw
        if not isinstance(docs, list) or not docs or not all(isinstance(d, str) and _is_url(d) for d in docs):
            raise _Refused(f'{key} is an http(s) URL or a list of them (e.g. ["https://example.com/manual.pdf"])')
        return tuple(docs), None
    if kind == "number":
        lo, hi = std.bounds if std is not None and std.bounds else (float("-inf"), float("inf"))
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not lo <= raw <= hi:
            raise _Refused(f"{key} is a number from {lo:g} to {hi:g} (got {raw!r})")
        return raw, None
    if isinstance(raw, str | int | float | bool | datetime.date):
        return raw, None
    raise _Refused(f"{key}: write text, a number, true/false, a date or {{value: ..., unit: ...}} (got {raw!r})")


def _date(key: str, raw: Any) -> datetime.date:
    if isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime):
        return raw
    if isinstance(raw, str):
        try:
            return datetime.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise _Refused(f"{key} is a date written YYYY-MM-DD, e.g. 2019-05-14 (got {raw!r})")


def _is_url(text: str) -> bool:
    parts = urlparse(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in text)


def _quantity(key: str, raw: Any, std: PropertyKey | None) -> tuple[float, str]:
    example = f"{key}: 40 {std.units[0]}" if std is not None else f"{key}: {{value: 40, unit: KiloW}}"
    number: Any
    if isinstance(raw, dict):
        if set(raw) != {"value", "unit"} or not isinstance(raw["unit"], str):
            raise _Refused(f"{key}: a quantity is written {{value: <number>, unit: <QUDT unit>}} (got keys "
                           f"{', '.join(sorted(map(str, raw)))})")  # fmt: skip
        number, unit_text = raw["value"], raw["unit"]
    elif isinstance(raw, str) and (m := _NUMBER_UNIT.match(raw)):
        number, unit_text = float(m.group(1)), m.group(2)
    else:
        raise _Refused(f"{key} needs a number and a unit, e.g. {example} or {{value: 40, unit: ...}} (got {raw!r})")
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise _Refused(f"{key}: the value of a quantity is a number (got {number!r})")
    u = units.get_unit(unit_text)
    if u is None:
        raise _Refused(unknown_unit(unit_text, " (a QUDT unit name such as KiloW, or a symbol such as kW)"))
    if std is not None and std.units:
        expected = units.get_unit(std.units[0])
        if expected is not None and u.dimension != expected.dimension:
            got = _a(_human(u.quantity_kinds[0]) if u.quantity_kinds else "other")
            wanted = _a(_human(std.quantity or ""))
            raise _Refused(f"{key} is {wanted}; '{unit_text}' is {got} unit: use {_examples(std.units)}")
    return float(number), u.name


def parse_quantity(key: str, raw: Any) -> tuple[float, str]:
    """The number and QUDT unit name of ``40 kW``, ``40 KiloW`` or ``{value: 40, unit: KiloW}``; a
    ``ValueError`` says what to write instead (used for alarm thresholds too)."""
    return _quantity(key, raw, None)


def _examples(names: Iterable[str]) -> str:
    out = []
    for n in names:
        u = units.get_unit(n)
        # the symbol where it names this unit alone (kW), else the QUDT name (TON_FG)
        sym = u.symbol if u is not None and u.symbol and "{" not in u.symbol and units.get_unit(u.symbol) is u else n
        out.append(sym)
    return ", ".join(out) + ", ..."


def _a(words: str) -> str:
    return ("an " if words[:1] in "aeiou" else "a ") + words


def _human(camel: str) -> str:
    """``ElectricCurrent`` -> ``electric current``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", camel).lower()


def _humanize(iri: str) -> str:
    """The label of a property without one: ``ex:warrantyEnd`` -> ``Warranty end``."""
    local = re.split(r"[#/:]", iri)[-1]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local).replace("_", " ").strip()
    return (words[:1].upper() + words[1:].lower()) if words else iri
