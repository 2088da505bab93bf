"""/stream: server-sent events of point changes, filtered; a slow client gets the newest state per point."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from gateway.northbound.http.deps import Api, ReaderDep
from gateway.northbound.http.errors import ApiError

router = APIRouter(tags=["stream"])


@router.get(
    "/stream", summary="Server-sent events of point changes", responses={200: {"content": {"text/event-stream": {}}}}
)
async def stream(
    request: Request,
    api: Api,
    _: ReaderDep,
    asset: Annotated[str | None, Query(description="only points under this asset")] = None,
    type: Annotated[str | None, Query(description="point kind: measurement, setpoint, command, status")] = None,
    points: Annotated[str | None, Query(description="comma-separated point ids")] = None,
) -> StreamingResponse:
    model = api.view.model
    chosen = set(model.points)
    if asset:
        if asset not in model.assets:
            raise ApiError(404, f"no asset '{asset}'")
        under = {a.id for a in model.subtree(asset)}
        chosen = {p for p in chosen if model.points[p].asset in under}
    if type:
        chosen = {p for p in chosen if model.points[p].kind.value == type}
    if points:
        wanted = {p.strip() for p in points.split(",") if p.strip()}
        unknown = wanted - set(model.points)
        if unknown:
            raise ApiError(404, f"unknown point(s): {', '.join(sorted(unknown))}")
        chosen &= wanted
    filtered = bool(asset or type or points)
    sub = api.view.subscribe(chosen if filtered else None, maxsize=api.config.stream_queue)
    api.metrics.stream_clients.inc()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while not await request.is_disconnected():
                batch = await sub.get(timeout=15)
                if not batch:
                    yield b": keep-alive\n\n"
                    continue
                for s in batch:
                    data = {
                        "point": s.point,
                        "value": s.value,
                        "quality": s.quality.name.lower(),
                        "status": s.status,
                        "reason": s.reason,
                        "source_time": s.source_ts.isoformat() if s.source_ts else None,
                        "gateway_time": s.gateway_ts.isoformat() if s.gateway_ts else None,
                    }
                    yield f"event: change\ndata: {json.dumps(data)}\n\n".encode()
                if sub.dropped:
                    yield f"event: dropped\ndata: {sub.dropped}\n\n".encode()
        except asyncio.CancelledError:
            pass
        finally:
            sub.close()

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
