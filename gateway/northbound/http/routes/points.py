"""/points: metadata, live state, filters, and write-back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from adapters.contract.model import Point
from adapters.contract.sample import PointState as LiveState
from gateway.classes import compact, resolve_class
from gateway.northbound.http.deps import Api, OperatorDep, ReaderDep
from gateway.northbound.http.errors import ApiError
from gateway.northbound.http.schemas import PointDetail, PointState, PointSummary, WriteOutcome, WriteRequest

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


def summary(api: Api, p: Point) -> dict[str, Any]:
    return {
        "id": p.id,
        "asset": p.asset,
        "label": p.label,
        "kind": p.kind.value,
        "classes": [compact(c) for c in p.classes],
        "unit": p.unit,
        "datatype": p.datatype.value,
        "writable": p.writable,
        "state": state_model(api.view.state(p.id)),
    }


def _subtree(api: Api, asset: str) -> set[str]:
    model = api.view.model
    if asset not in model.assets:
        raise ApiError(404, f"no asset '{asset}'")
    return {a.id for a in model.subtree(asset)}


@router.get("/points", response_model=list[PointSummary], summary="Points, filtered")
async def list_points(
    api: Api,
    _: ReaderDep,
    asset: Annotated[str | None, Query(description="only points under this asset (whole subtree)")] = None,
    type: Annotated[str | None, Query(description="point kind (measurement...) or class curie (brick:...)")] = None,
    unit: Annotated[str | None, Query(description="QUDT unit name, e.g. DEG_C")] = None,
    quality: Annotated[str | None, Query(pattern="^(good|uncertain|bad)$")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> list[dict[str, Any]]:
    model = api.view.model
    assets = _subtree(api, asset) if asset else None
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
        if type and cls is None and p.kind.value != type:
            continue
        if cls is not None and cls not in p.classes:
            continue
        if unit and p.unit != unit.removeprefix("unit:"):
            continue
        if quality and states[p.id].quality.name.lower() != quality:
            continue
        out.append(summary(api, p))
        if len(out) >= limit:
            break
    return out


@router.get(
    "/points/{point_id}",
    response_model=PointDetail,
    summary="One point with its live state",
    responses={404: {"description": "unknown point"}},
)
async def get_point(point_id: str, api: Api, _: ReaderDep) -> dict[str, Any]:
    p = api.view.model.points.get(point_id)
    if p is None:
        raise ApiError(404, f"no point '{point_id}'")
    source = api.view.model.sources[p.source]
    return {
        **summary(api, p),
        "description": p.description,
        "min": p.min,
        "max": p.max,
        "source": p.source,
        "address": p.address.model_dump(mode="json", by_alias=True),
        "target": p.address.target(source),
        "iri": api.view.ids.point(p.id),
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
