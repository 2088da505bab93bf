"""/points: metadata, live state, location, relations, properties, filters, and write-back."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Annotated, Any

from fastapi import APIRouter, Query

from adapters.contract.model import Point, TargetKind
from adapters.contract.sample import PointState as LiveState
from gateway.classes import compact, resolve_class
from gateway.northbound.history_access import history_reader, is_recorded
from gateway.northbound.http import present
from gateway.northbound.http.deps import Api, OperatorDep, ReaderDep
from gateway.northbound.http.errors import ApiError
from gateway.northbound.http.schemas import (
    ErrorBody,
    PointDetail,
    PointState,
    PointSummary,
    WriteOutcome,
    WriteRequest,
)
from gateway.units import get_unit

router = APIRouter(tags=["points"])

# OPC UA refusal -> HTTP status (documented in docs/api.md)
_HTTP_STATUS = {
    "BadNodeIdUnknown": 404,
    "BadNotWritable": 409,
    "BadTypeMismatch": 422,
    "BadOutOfRange": 422,
    "BadUserAccessDenied": 403,
    "BadTimeout": 504,
}


def state_model(s: LiveState) -> PointState:
    """The API form of a live state."""
    return PointState(
        value=s.value,
        quality=s.quality.name.lower(),
        status=s.status,
        reason=s.reason,
        source_time=s.source_ts,
        gateway_time=s.gateway_ts,
    )


def _symbol(unit: str | None) -> str | None:
    if not unit or unit == "UNITLESS":  # QUDT gives it a CJK "一", which reads as noise next to a count
        return None
    found = get_unit(unit)
    return found.symbol if found is not None else None


def summary(api: Api, p: Point) -> dict[str, Any]:
    return {
        "id": p.id,
        "asset": p.asset,
        "label": p.label,
        "kind": p.kind.value,
        "classes": [compact(c) for c in p.classes],
        "unit": p.unit,
        "unit_symbol": _symbol(p.unit),
        "datatype": p.datatype.value,
        "writable": p.writable,
        "source": p.source,
        "recorded": history_reader(api.view) is not None and is_recorded(api.view, p.id),
        "state": state_model(api.view.state(p.id)),
    }


def _subtree(api: Api, asset: str) -> set[str]:
    model = api.view.model
    present.require("asset", asset, model.assets)
    return {a.id for a in model.subtree(asset)}


def _topology_filter(api: Api, location: str | None, fed_by: str | None) -> AbstractSet[str] | None:
    """The points the location and fed_by filters keep (both: the points in both); None without them."""
    if location is None and fed_by is None:
        return None
    model, topo = api.view.model, api.topology()
    keep: AbstractSet[str] | None = None
    if location is not None:
        present.require("location", location, model.locations)
        keep = set(topo.points_under(location))
    if fed_by is not None:
        present.require("asset", fed_by, model.assets)
        fed = topo.points_fed_by(fed_by)
        keep = fed if keep is None else keep & fed
    return keep


@router.get(
    "/points",
    response_model=list[PointSummary],
    summary="Points, filtered",
    responses={404: {"model": ErrorBody, "description": "unknown asset or location in a filter"}},
)
async def list_points(
    api: Api,
    _: ReaderDep,
    asset: Annotated[str | None, Query(description="only points under this asset (whole subtree)")] = None,
    type: Annotated[str | None, Query(description="point kind (measurement...) or class curie (brick:...)")] = None,
    unit: Annotated[str | None, Query(description="QUDT unit name, e.g. DEG_C")] = None,
    quality: Annotated[str | None, Query(pattern="^(good|uncertain|bad)$")] = None,
    source: Annotated[str | None, Query(description="only points read from this source")] = None,
    location: Annotated[
        str | None, Query(description="only points located in this location or below (own location or their asset's)")
    ] = None,
    fed_by: Annotated[
        str | None, Query(description="only points fed by this asset through brick:feeds, directly or transitively")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> list[dict[str, Any]]:
    model = api.view.model
    assets = _subtree(api, asset) if asset else None
    placed = _topology_filter(api, location, fed_by)
    cls = None
    if type and type not in ("measurement", "setpoint", "command", "status"):
        try:
            cls = resolve_class(type)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    out = []
    states = api.view.states()
    for p in model.points.values():
        if assets is not None and p.asset not in assets:
            continue
        if placed is not None and p.id not in placed:
            continue
        if type and cls is None and p.kind.value != type:
            continue
        if cls is not None and cls not in p.classes:
            continue
        if unit and p.unit != unit.removeprefix("unit:"):
            continue
        if quality and states[p.id].quality.name.lower() != quality:
            continue
        if source and p.source != source:
            continue
        out.append(summary(api, p))
        if len(out) >= limit:
            break
    return out


@router.get(
    "/points/{point_id}",
    response_model=PointDetail,
    summary="One point with its live state",
    responses={404: {"model": ErrorBody, "description": "unknown point"}},
)
async def get_point(point_id: str, api: Api, _: ReaderDep) -> dict[str, Any]:
    model = api.view.model
    p = model.points.get(point_id)
    if p is None:
        raise present.unknown("point", point_id, model.points)
    source = model.sources[p.source]
    topo = api.topology()
    return {
        **summary(api, p),
        "description": p.description,
        "min": p.min,
        "max": p.max,
        "address": p.address.model_dump(mode="json", by_alias=True),
        "target": p.address.target(source),
        "iri": api.view.ids.point(p.id),
        "location": present.location_ref(topo, topo.point_location(p), inherited=p.location is None),
        "relations": present.relations(topo, api.view.ids, TargetKind.POINT, p.id, p.relations),
        "properties": present.properties(p.properties),
    }


@router.put(
    "/points/{point_id}/value",
    response_model=WriteOutcome,
    summary="Write a value to the device",
    responses={404: {}, 409: {}, 422: {}, 502: {}, 504: {}},
)
async def write_point(point_id: str, body: WriteRequest, api: Api, who: OperatorDep) -> dict[str, Any]:
    result = await api.view.write(point_id, body.value, actor=f"http:{who.name}")
    outcome = {"point": point_id, "status": result.status, "ok": result.ok, "reason": result.reason}
    if not result.ok:
        raise ApiError(_HTTP_STATUS.get(result.status, 502), result.reason or result.status, **outcome)
    return outcome
