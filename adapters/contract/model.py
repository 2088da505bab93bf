"""The compiled twin model: assets, points and sources after a mapping has been validated.

These are plain frozen dataclasses, built once by the config loader. Everything downstream (the twin graph,
the pipeline, adapters and northbound services) reads them; nothing mutates them.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.contract.config import Address


class PointKind(enum.StrEnum):
    """What a point is for."""

    MEASUREMENT = "measurement"
    SETPOINT = "setpoint"
    COMMAND = "command"
    STATUS = "status"


class AssetLevel(enum.StrEnum):
    """ISA-95-style level of an asset in the hierarchy."""

    SITE = "site"
    AREA = "area"
    LINE = "line"
    EQUIPMENT = "equipment"


XSD = "http://www.w3.org/2001/XMLSchema#"

# name -> (xsd local name, python type, (min, max) for integers)
_DATATYPES: dict[str, tuple[str, type, tuple[int, int] | None]] = {
    "bool": ("boolean", bool, None),
    "int16": ("short", int, (-(2**15), 2**15 - 1)),
    "uint16": ("unsignedShort", int, (0, 2**16 - 1)),
    "int32": ("int", int, (-(2**31), 2**31 - 1)),
    "uint32": ("unsignedInt", int, (0, 2**32 - 1)),
    "int64": ("long", int, (-(2**63), 2**63 - 1)),
    "uint64": ("unsignedLong", int, (0, 2**64 - 1)),
    "float": ("float", float, None),
    "double": ("double", float, None),
    "string": ("string", str, None),
}


class DataType(enum.StrEnum):
    """The datatype of a point's engineering value, as written in mappings."""

    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT = "float"
    DOUBLE = "double"
    STRING = "string"

    @property
    def xsd(self) -> str:
        """The full XSD datatype IRI."""
        return XSD + _DATATYPES[self.value][0]

    @property
    def pytype(self) -> type:
        """The Python type values of this datatype have."""
        return _DATATYPES[self.value][1]

    @property
    def int_range(self) -> tuple[int, int] | None:
        """Inclusive bounds for integer types, else None."""
        return _DATATYPES[self.value][2]

    @property
    def is_numeric(self) -> bool:
        """True for integer and floating point types."""
        return self.pytype in (int, float)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where something was written: file, 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Deadband:
    """Suppress changes smaller than a threshold; a quality change always passes."""

    absolute: float | None = None
    percent: float | None = None  # of the point's range (max - min)
    max_interval: float | None = None  # seconds: let a value through at least this often


@dataclass(frozen=True, slots=True)
class Transform:
    """Value transforms applied by the pipeline (and inverted for writes)."""

    scale: float = 1.0
    offset: float = 0.0
    source_unit: str | None = None
    clamp: bool = False
    deadband: Deadband | None = None

    @property
    def is_identity(self) -> bool:
        """True when the transform changes nothing about values."""
        return self.scale == 1.0 and self.offset == 0.0 and self.source_unit is None and not self.clamp


class TargetKind(enum.StrEnum):
    """What a relation's target names: an entity of the twin by id, or a vocabulary term by IRI."""

    ASSET = "asset"
    POINT = "point"
    LOCATION = "location"
    TERM = "term"  # an IRI outside the twin, e.g. brick:Hot_Water for hasInputSubstance


@dataclass(frozen=True, slots=True)
class Relation:
    """One relationship from an entity (asset, point or location) to another, e.g. boiler1 feeds ahu1.

    The twin materializes both directions: ``predicate`` on the subject and ``inverse`` (when the relation
    has one) on the target. ``name``/``inverse_name`` are the OPC UA reference type names ("Feeds",
    "IsFedBy"). ``hasLocation`` is not a relation here: it is the ``location`` field of assets and points.
    A symmetric relation (brick:connectedTo) has itself as ``inverse``. Each edge is stated once, on the entity
    where the mapping wrote it (docs/mapping-topology.md).
    """

    predicate: str  # full IRI, e.g. https://brickschema.org/schema/Brick#feeds
    target: str  # an asset, point or location id, or an IRI when target_kind is TERM
    target_kind: TargetKind
    name: str  # e.g. "Feeds"
    inverse: str | None = None  # full IRI, e.g. ...#isFedBy
    inverse_name: str | None = None  # e.g. "IsFedBy"
    origin: Origin | None = None


# A static property's value: text, number, flag, date, or several IRIs (documents)
PropertyValue = str | int | float | bool | datetime.date | datetime.datetime | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Property:
    """A static (nameplate) property of an asset, point or location, e.g. manufacturer or rated power.

    With ``unit`` the value is a quantity (a number in that QUDT unit, materialized as a
    ``qudt:QuantityValue``); a tuple value holds document IRIs.
    """

    key: str  # as written in the mapping: "manufacturer", "rated_power", "ex:warrantyEnd"
    predicate: str  # full IRI of the standard term (schema.org, Brick, QUDT, tb: or the integrator's own)
    value: PropertyValue
    label: str  # human name, e.g. "Rated power" (OPC UA browse name and display name)
    unit: str | None = None  # QUDT unit local name, e.g. KiloW
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A place of the location tree (site / building / floor / room / zone), separate from the asset tree."""

    id: str
    classes: tuple[str, ...]  # Brick location class IRIs (brick:Building, brick:Room, ...)
    label: str
    parent: str | None = None
    description: str | None = None
    relations: tuple[Relation, ...] = ()
    properties: tuple[Property, ...] = ()
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class Asset:
    """An asset (site, area, line or equipment) of the twin."""

    id: str
    level: AssetLevel
    classes: tuple[str, ...]  # extra class IRIs (Brick, custom)
    label: str
    parent: str | None = None
    description: str | None = None
    profile: str | None = None
    location: str | None = None  # id of the Location it is in (brick:hasLocation)
    relations: tuple[Relation, ...] = ()
    properties: tuple[Property, ...] = ()
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class Point:
    """A point of the twin: one value with its meaning, unit, datatype and protocol address."""

    id: str
    asset: str
    kind: PointKind
    datatype: DataType
    source: str
    address: Address
    label: str
    classes: tuple[str, ...] = ()
    unit: str | None = None
    description: str | None = None
    writable: bool = False
    min: float | None = None
    max: float | None = None
    transform: Transform = field(default_factory=Transform)
    # its own Location id (brick:hasLocation) as written; None: it is where its asset is (TwinModel.location_of)
    location: str | None = None
    relations: tuple[Relation, ...] = ()
    properties: tuple[Property, ...] = ()
    origin: Origin | None = None

    @property
    def local_id(self) -> str:
        """The point's id within its asset."""
        return self.id[len(self.asset) + 1 :]
