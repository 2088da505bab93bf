"""Pydantic models of what integrators write in mapping files.

Every model forbids unknown keys, so a typo is an error that names its line. Adapters subclass
``SourceConfig`` and ``Address`` for their own settings: adding a protocol never touches this module.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from adapters.contract.config import StrictModel
from adapters.contract.model import DataType, PointKind
from adapters.contract.types import Duration, Id


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# relation name (feeds, brick:feeds, ex:maintainedBy) -> its target ids (or terms); one may be written bare
Relations = dict[str, Annotated[list[str], BeforeValidator(_listed)]]


class DeadbandSpec(StrictModel):
    """Deadband as written in a mapping."""

    absolute: float | None = Field(None, ge=0)
    percent: float | None = Field(None, ge=0, le=100)
    max_interval: Duration | None = None


class TransformSpec(StrictModel):
    """Value transforms of a point."""

    scale: float = 1.0
    offset: float = 0.0
    source_unit: str | None = Field(None, description="the device's unit; values are converted to the point's unit")
    clamp: bool = Field(False, description="clamp values into [min, max]")
    deadband: float | DeadbandSpec | None = None

    @field_validator("scale")
    @classmethod
    def _nonzero_scale(cls, v: float) -> float:
        if v == 0:
            raise ValueError("scale cannot be 0 (writes could not be inverted)")
        return v


class PointSpec(StrictModel):
    """A point as written in a mapping (inside an asset, in a profile, or top level with ``asset``)."""

    id: Id
    asset: Id | None = None
    type: PointKind = PointKind.MEASUREMENT
    class_: str | list[str] | None = Field(None, alias="class")
    label: str | None = None
    description: str | None = None
    unit: str | None = None
    datatype: DataType = DataType.DOUBLE
    writable: bool = False
    source: Id | None = None
    address: dict[str, Any] | None = None
    min: float | None = None
    max: float | None = None
    transform: TransformSpec | None = None
    history: dict[str, Any] | None = Field(None, description="what to record of the point's past (docs/history.md)")
    location: Id | None = Field(None, description="id of the location the point is in (else its asset's)")
    relations: Relations = Field({}, description="relation name -> target id(s) (docs/mapping-topology.md)")
    properties: dict[str, Any] = Field({}, description="static properties: key -> value (docs/mapping-topology.md)")
    expr: str | None = Field(None, description="a derived point: its expression (docs/analytics.md)")
    aggregate: Any = Field(None, description="a derived point over a selection (docs/analytics.md)")
    alarms: Any = Field(None, description="alarm rules on this point (docs/analytics.md)")
    anomaly: Any = Field(None, description="an anomaly detector on this point (true or settings)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class AssetSpec(StrictModel):
    """An asset as written in a mapping."""

    id: Id
    type: str | list[str] | None = None
    label: str | None = None
    description: str | None = None
    parent: Id | None = None
    source: Id | None = Field(None, description="default source of this asset's points (inherited by children)")
    points: list[dict[str, Any]] = []
    profile: str | None = None
    address: dict[str, Any] | None = Field(None, description="profile instances: keys merged into every address")
    address_offset: int = 0
    vars: dict[str, str | int | float] = Field({}, description="profile instances: values for {name} in the profile")
    history: dict[str, Any] | None = Field(None, description="what to record of its points' past (docs/history.md)")
    location: Id | None = Field(None, description="id of the location the asset is in (brick:hasLocation)")
    relations: Relations = Field({}, description="relation name -> target id(s) (docs/mapping-topology.md)")
    properties: dict[str, Any] = Field({}, description="static properties: key -> value (docs/mapping-topology.md)")


class LocationSpec(StrictModel):
    """A place of the location tree (site, building, floor, room, zone, ...) as written under ``locations:``."""

    id: Id
    type: str | list[str] = Field(description="site|building|floor|room|zone|space|outside|region, Brick classes")
    label: str | None = None
    description: str | None = None
    parent: Id | None = Field(None, description="id of the location this one is part of")
    relations: Relations = Field({}, description="relation name -> target id(s) (docs/mapping-topology.md)")
    properties: dict[str, Any] = Field({}, description="static properties: key -> value (docs/mapping-topology.md)")


class RelationTypeSpec(StrictModel):
    """A relation of the integrator's own vocabulary, declared under ``relation_types:``."""

    id: str = Field(description="prefixed IRI (a prefix declared under prefixes:) or full IRI")
    inverse: str | None = Field(None, description="the relation the other way round, e.g. ex:maintains")
    label: str | None = Field(None, description="human name, also the OPC UA reference type name")
    inverse_label: str | None = Field(None, description="human name of the inverse (OPC UA InverseName)")
    description: str | None = None


class ProfileFile(StrictModel):
    """A device profile: a point list written once, instantiated per asset."""

    profile: Id
    label: str | None = None
    description: str | None = None
    type: str | list[str] | None = None
    source_kind: str | None = Field(None, description="the kind of source the addresses are written for")
    address: dict[str, Any] | None = None
    history: dict[str, Any] | None = Field(None, description="what to record of its points' past (docs/history.md)")
    location: str | None = Field(None, description="template of the instance's location id, e.g. '{area}'")
    properties: dict[str, Any] = Field({}, description="default static properties; the instance's win key by key")
    points: list[dict[str, Any]]


class MappingFile(StrictModel):
    """The top level of a mapping file."""

    twin: dict[str, Any] | None = None
    gateway: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = []
    prefixes: dict[str, str] = Field({}, description="prefix -> namespace IRI of the integrator's own terms")
    relation_types: list[dict[str, Any]] = Field([], description="the integrator's own relations")
    locations: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    analytics: dict[str, Any] | None = Field(None, description="analytics settings (docs/analytics.md)")
    alarms: list[Any] = Field([], description="class alarm rules: select: + one rule (docs/analytics.md)")
    anomaly: list[Any] = Field([], description="class anomaly detectors: select: + detector settings")
