"""/locations: the location tree (sites, buildings, floors, rooms, zones) and what is located in each place."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from adapters.contract.model import Location, TargetKind
from gateway.northbound.http import present
from gateway.northbound.http.deps import Api, ReaderDep
from gateway.northbound.http.schemas import ErrorBody, LocationDetail, LocationSummary
from gateway.northbound.http.topology import Topology

router = APIRouter(tags=["locations"])


def _summary(topo: Topology, loc: Location) -> dict[str, Any]:
    return {
        "id": loc.id,
        "label": loc.label,
        "types": [topo.compact(c) for c in loc.classes],
        "parent": loc.parent,
        "depth": len(topo.path(loc.id)) - 1,
        "asset_count": len(topo.assets_under(loc.id)),
        "point_count": len(topo.points_under(loc.id)),
    }


@router.get(
    "/locations",
    response_model=list[LocationSummary],
    summary="The location tree, flat: each location after its parent, with its depth",
    responses={404: {"model": ErrorBody, "description": "unknown location in under="}},
)
async def list_locations(
    api: Api,
    _: ReaderDep,
    under: Annotated[str | None, Query(description="only this location and every location under it")] = None,
) -> list[dict[str, Any]]:
    locations = api.view.model.locations
    topo = api.topology()
    if under is not None:
        present.require("location", under, locations)
    ids = topo.subtree(under) if under is not None else topo.tree()
    return [_summary(topo, locations[lid]) for lid in ids]


@router.get(
    "/locations/{location_id}",
    response_model=LocationDetail,
    summary="One location: path, children, assets and points in it and below, properties, relations",
    responses={404: {"model": ErrorBody, "description": "unknown location"}},
)
async def get_location(location_id: str, api: Api, _: ReaderDep) -> dict[str, Any]:
    model = api.view.model
    loc = model.locations.get(location_id)
    if loc is None:
        raise present.unknown("location", location_id, model.locations)
    topo = api.topology()
    assets = [model.assets[aid] for aid in topo.assets_under(loc.id)]
    points = [model.points[pid] for pid in topo.points_under(loc.id)]
    return {
        **_summary(topo, loc),
        "description": loc.description,
        "iri": api.view.ids.location(loc.id),
        "path": [present.place(model.locations[lid]) for lid in topo.path(loc.id)],
        "children": [present.place(model.locations[c]) for c in topo.children.get(loc.id, [])],
        "assets": [{"id": a.id, "label": a.label, "location": a.location} for a in assets],
        "points": [{"id": p.id, "label": p.label, "location": topo.point_location(p)} for p in points],
        "properties": present.properties(loc.properties),
        "relations": present.relations(topo, api.view.ids, TargetKind.LOCATION, loc.id, loc.relations),
    }
