"""The JSON shapes of the history endpoints (documentation of the answers; the routes build them as dicts)."""

from __future__ import annotations

from pydantic import BaseModel, Field

Value = float | int | bool | str | None


class HistoryRowOut(BaseModel):
    """One recorded sample, or one aggregate interval (``time`` is then the interval's start)."""

    time: str = Field(description="source time (raw) or interval start (aggregates), ISO 8601 UTC")
    value: Value = Field(description="null when the sample had no value or the interval no data")
    status: str = Field(description="OPC UA status name: Good, BadNoData, UncertainDataSubNormal...")
    server_time: str | None = Field(None, description="when the gateway applied the sample (raw only)")


class PointHistory(BaseModel):
    """A page of one point's history."""

    point: str
    unit: str | None
    start: str
    end: str
    order: str = Field(description="asc (oldest first) or desc")
    aggregate: str | None = Field(description="null for raw samples")
    interval: str | None = Field(description="the aggregate interval, e.g. 1m")
    rows: list[HistoryRowOut]
    cursor: str | None = Field(description="pass as cursor= for the next page; null on the last page")
    next: str | None = Field(description="the next page's URL (relative), or null")


class Series(BaseModel):
    """One point's aggregates on the shared time axis."""

    values: list[Value]
    status: list[str]


class AlignedHistory(BaseModel):
    """Several points' aggregates on one time axis."""

    points: list[str]
    start: str
    end: str
    aggregate: str
    interval: str
    time: list[str] = Field(description="interval starts, ISO 8601 UTC")
    series: dict[str, Series]
