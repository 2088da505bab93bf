"""/assets: the hierarchy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from adapters.contract.model import Asset
from gateway.classes import compact
from gateway.northbound.http.deps import Api, ReaderDep
from gateway.northbound.http.errors import ApiError
from gateway.northbound.http.schemas import AssetDetail, AssetSummary

router = APIRouter(tags=["assets"])


def _summary(a: Asset) -> dict[str, Any]:
    return {
        "id": a.id,
        "label": a.label,
        "level": a.level.value,
        "types": [compact(c) for c in a.classes],
        "parent": a.parent,
    }


@router.get("/assets", response_model=list[AssetSummary], summary="Assets, optionally one level or one subtree")
async def list_assets(
    api: Api,
    _: ReaderDep,
    level: Annotated[str | None, Query(pattern="^(site|area|line|equipment)$")] = None,
    under: Annotated[str | None, Query(description="only this asset and its descendants")] = None,
) -> list[dict[str, Any]]:
    model = api.view.model
    if under is not None and under not in model.assets:
        raise ApiError(404, f"no asset '{under}'")
    assets = list(model.subtree(under)) if under else list(model.assets.values())
    return [_summary(a) for a in assets if level is None or a.level.value == level]


@router.get(
    "/assets/{asset_id}",
    response_model=AssetDetail,
    summary="One asset with children and points",
    responses={404: {"description": "unknown asset"}},
)
async def get_asset(asset_id: str, api: Api, _: ReaderDep) -> dict[str, Any]:
    model = api.view.model
    a = model.assets.get(asset_id)
    if a is None:
        raise ApiError(404, f"no asset '{asset_id}'")
    return {
        **_summary(a),
        "description": a.description,
        "profile": a.profile,
        "children": [c.id for c in model.children(a.id)],
        "points": [p.id for p in model.points_of_asset(a.id)],
        "iri": api.view.ids.asset(a.id),
    }
