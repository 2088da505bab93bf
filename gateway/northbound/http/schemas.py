"""Response and request models of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


# -- topology: locations, relations, nameplate properties (docs/api.md "Topology") ----------------------------
class EntityRef(BaseModel):
    """Another entity of the twin, or a vocabulary term, named by a relation."""

    kind: str = Field(description="asset, point, location, or term (a vocabulary IRI such as brick:Natural_Gas)")
    id: str = Field(description="the entity's id; for a term its curie (or IRI)")
    label: str
    iri: str


class RelationLink(BaseModel):
    """A relation this entity declares, e.g. boiler1 feeds ahu1."""

    relation: str = Field(description="as written in mappings: feeds, isFedBy, controls, or a prefixed IRI")
    name: str = Field(description="its reference type name in the OPC UA server, e.g. Feeds")
    iri: str
    target: EntityRef


class IncomingLink(BaseModel):
    """A relation another entity declares towards this one, read from this end (ahu1 isFedBy boiler1)."""

    relation: str | None = Field(description="the inverse relation (isFedBy); null when the relation has none")
    name: str | None = Field(description="the inverse's OPC UA reference type name, e.g. IsFedBy")
    iri: str | None
    inverse_of: str = Field(description="the relation as the other entity declares it, e.g. feeds")
    target: EntityRef = Field(description="the entity that declares it")


class Relations(BaseModel):
    """Outgoing: declared on this entity. Incoming: declared on others towards it, turned around."""

    outgoing: list[RelationLink]
    incoming: list[IncomingLink]


class PlaceRef(BaseModel):
    """A location by id and label."""

    id: str
    label: str


class LocationRef(BaseModel):
    """Where an asset or point is, with the way down from the top of the location tree."""

    id: str
    label: str
    path: list[PlaceRef] = Field(description="from the root (site) down to this location, inclusive")
    inherited: bool = Field(description="true for a point that has no location of its own: its asset's")


class PropertyOut(BaseModel):
    """A static (nameplate) property: manufacturer, serial number, rated power..."""

    key: str = Field(description="as written in the mapping: manufacturer, rated_power, ex:warrantyEnd")
    label: str
    iri: str = Field(description="the property's standard term, e.g. http://schema.org/manufacturer")
    value: bool | int | float | str | list[str] = Field(description="dates as ISO 8601 text; documents as IRIs")
    datatype: str = Field(description="string, integer, double, boolean, date, dateTime or iris")
    unit: str | None = Field(description="QUDT unit name of a quantity, e.g. KiloW")
    unit_symbol: str | None = Field(description="the unit's symbol when the catalog has one, e.g. kW")


class LocationSummary(BaseModel):
    """A location of the tree (flat list: each one after its parent, with depth)."""

    id: str
    label: str
    types: list[str] = Field(description="location classes as curies (brick:Building, brick:Room...)")
    parent: str | None
    depth: int = Field(description="0 for a root (site), 1 for its children...")
    asset_count: int = Field(description="assets located here or in any location below")
    point_count: int = Field(description="points located here or below (own location or their asset's)")


class Placed(BaseModel):
    """An asset or point located in a location or under it."""

    id: str
    label: str
    location: str = Field(description="the location it is directly in")


class LocationDetail(LocationSummary):
    """One location: its place in the tree, what is in it, its properties and relations."""

    description: str | None
    iri: str
    path: list[PlaceRef] = Field(description="from the root down to this location, inclusive")
    children: list[PlaceRef]
    assets: list[Placed] = Field(description="assets located here or below, in tree order")
    points: list[Placed] = Field(description="points located here or below, in tree order")
    properties: list[PropertyOut]
    relations: Relations


# -- assets and points ---------------------------------------------------------------------------------------
class AssetSummary(BaseModel):
    """An asset in a list."""

    id: str
    label: str
    level: str = Field(description="site, area, line or equipment")
    types: list[str] = Field(description="class IRIs as curies (brick:AHU...)")
    parent: str | None


class AssetDetail(AssetSummary):
    """One asset with its children, points, location, relations and properties."""

    description: str | None
    profile: str | None
    children: list[str]
    points: list[str]
    iri: str
    location: LocationRef | None = Field(description="the location it is in (brick:hasLocation); null when none")
    relations: Relations
    properties: list[PropertyOut]


class PointState(BaseModel):
    """The live state of a point."""

    value: bool | int | float | str | None
    quality: str = Field(description="good, uncertain or bad")
    status: str = Field(description="OPC UA status code name, e.g. BadTimeout")
    reason: str | None
    source_time: datetime | None
    gateway_time: datetime | None


class PointSummary(BaseModel):
    """A point in a list, with its live state."""

    id: str
    asset: str
    label: str
    kind: str
    classes: list[str]
    unit: str | None
    unit_symbol: str | None  # QUDT's symbol (°C, kW), for display
    datatype: str
    writable: bool
    source: str
    recorded: bool  # history records its samples (GET /points/{id}/history, /history answer for it)
    state: PointState


class PointDetail(PointSummary):
    """One point with its metadata and address."""

    description: str | None
    min: float | None
    max: float | None
    address: dict[str, Any]
    target: str | None
    iri: str
    location: LocationRef | None = Field(description="its own location, else its asset's (inherited: true)")
    relations: Relations
    properties: list[PropertyOut]


class WriteRequest(BaseModel):
    """A value to write to a point's device."""

    value: bool | int | float | str = Field(description="the engineering value, in the point's unit")


class WriteOutcome(BaseModel):
    """The device's answer to a write."""

    point: str
    status: str
    ok: bool
    reason: str | None


class SourceInfo(BaseModel):
    """A source's connection state and counters."""

    id: str
    kind: str
    label: str
    endpoint: str | None
    state: str
    connected_since: str | None
    last_error: str | None
    last_error_at: str | None
    points: int
    samples_in: int
    bad_samples: int
    suppressed: int
    reconnects: int
    counters: dict[str, float]
    details: dict[str, Any]


class Health(BaseModel):
    """Liveness and readiness."""

    status: str = Field(
        description="ok when every enabled source is connected and every service is well, else degraded"
    )
    live: bool
    ready: bool
    sources: dict[str, str]
    services: dict[str, dict[str, Any]] = Field(
        {}, description="northbound services that report health: ok, state and details (e.g. mqtt buffering)"
    )
    points: int


class ErrorBody(BaseModel):
    """Every error response."""

    error: str


class SessionInfo(BaseModel):
    """Who the caller is to the API, and what the dashboard should offer them."""

    name: str
    role: str
    anonymous: bool
    can_write: bool  # write point values (operator)
    can_operate_alarms: bool  # acknowledge, shelve, comment (operator)
    anonymous_read: bool  # the API answers reads without a token
