"""Response and request models of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AssetSummary(BaseModel):
    """An asset in a list."""

    id: str
    label: str
    level: str = Field(description="site, area, line or equipment")
    types: list[str] = Field(description="class IRIs as curies (brick:AHU...)")
    parent: str | None


class AssetDetail(AssetSummary):
    """One asset with its children and points."""

    description: str | None
    profile: str | None
    children: list[str]
    points: list[str]
    iri: str


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
    datatype: str
    writable: bool
    state: PointState


class PointDetail(PointSummary):
    """One point with its metadata and address."""

    description: str | None
    min: float | None
    max: float | None
    source: str
    address: dict[str, Any]
    target: str | None
    iri: str


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

    status: str = Field(description="ok when every enabled source is connected, else degraded")
    live: bool
    ready: bool
    sources: dict[str, str]
    points: int


class ErrorBody(BaseModel):
    """Every error response."""

    error: str
