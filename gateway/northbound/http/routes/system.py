"""/sources, /health and /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.northbound.http.auth import ANONYMOUS
from gateway.northbound.http.deps import Api, ReaderDep
from gateway.northbound.http.schemas import Health, SessionInfo, SourceInfo

router = APIRouter(tags=["system"])


@router.get("/sources", response_model=list[SourceInfo], summary="Connection state and counters of every source")
async def sources(api: Api, _: ReaderDep) -> list[dict[str, Any]]:
    return [h.as_dict() for h in api.view.source_health().values()]


@router.get("/session", response_model=SessionInfo, summary="Who the token is, and what it may do")
async def session(api: Api, who: ReaderDep) -> SessionInfo:
    return SessionInfo(
        name=who.name,
        role=who.role,
        anonymous=who is ANONYMOUS,  # not by name: a token may be called "anonymous"
        can_write=who.allows("operator"),
        can_operate_alarms=who.allows("operator"),
        anonymous_read=api.auth.anonymous_read,
    )


@router.get(
    "/health",
    response_model=Health,
    summary="Liveness and readiness (no token needed)",
    responses={503: {"model": Health}},
)
async def health(api: Api) -> Any:
    states = {sid: h.state for sid, h in api.view.source_health().items()}
    ready = all(st in ("connected", "disabled") for st in states.values())
    services = api.view.service_health()
    well = ready and all(h.ok for h in services.values())
    body = Health(
        status="ok" if well else "degraded",
        live=True,
        ready=ready,
        sources=states,
        services={name: {"ok": h.ok, "state": h.state, **h.detail} for name, h in services.items()},
        points=len(api.view.model.points),
    )
    return JSONResponse(body.model_dump(), status_code=200 if well else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(api: Api, _: ReaderDep) -> Response:
    return Response(generate_latest(api.metrics.registry), media_type=CONTENT_TYPE_LATEST)
