"""/assets: the hierarchy, with each asset's location, relations and nameplate properties."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from adapters.contract.model import Asset, TargetKind
from gateway.classes import compact
from gateway.northbound.http import present
from gateway.northbound.http.deps import Api, ReaderDep
from gateway.northbound.http.schemas import AssetDetail, AssetSummary, ErrorBody

router = APIRouter(tags=["assets"])


def _summary(a: Asset) -> dict[str, Any]:
    return {
        "id": a.id,
        "label": a.label,
        "level": a.level.value,
        "types": [compact(c) for c in a.classes],
        "parent": a.parent,
    }


@router.get(
    "/assets",
    response_model=list[AssetSummary],
    summary="Assets, optionally one level, one subtree or one place",
    responses={404: {"model": ErrorBody, "description": "unknown asset or location in a filter"}},
)
async def list_assets(
    api: Api,
    _: ReaderDep,
    level: Annotated[str | None, Query(pattern="^(site|area|line|equipment)$")] = None,
    under: Annotated[str | None, Query(description="only this asset and its descendants")] = None,
    location: Annotated[
        str | None, Query(description="only assets located in this location or any location under it")
    ] = None,
) -> list[dict[str, Any]]:
    model = api.view.model
    if under is not None:
        present.require("asset", under, model.assets)
    assets = list(model.subtree(under)) if under else list(model.assets.values())
    if location is not None:
        present.require("location", location, model.locations)
        placed = set(api.topology().assets_under(location))
        assets = [a for a in assets if a.id in placed]
    return [_summary(a) for a in assets if level is None or a.level.value == level]


@router.get(
    "/assets/{asset_id}",
    response_model=AssetDetail,
    summary="One asset with children, points, location, relations and properties",
    responses={404: {"model": ErrorBody, "description": "unknown asset"}},
)
async def get_asset(asset_id: str, api: Api, _: ReaderDep) -> dict[str, Any]:
    model = api.view.model
    a = model.assets.get(asset_id)
    if a is None:
        raise present.unknown("asset", asset_id, model.assets)
    topo = api.topology()
    return {
        **_summary(a),
        "description": a.description,
        "profile": a.profile,
        "children": [c.id for c in model.children(a.id)],
        "points": [p.id for p in model.points_of_asset(a.id)],
        "iri": api.view.ids.asset(a.id),
        "location": present.location_ref(topo, a.location),
        "relations": present.relations(topo, api.view.ids, TargetKind.ASSET, a.id, a.relations),
        "properties": present.properties(a.properties),
    }
