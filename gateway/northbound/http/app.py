"""The FastAPI application over a running gateway."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware

from gateway import __version__
from gateway.northbound.http import errors
from gateway.northbound.http.auth import TokenAuth
from gateway.northbound.http.config import HttpApiConfig
from gateway.northbound.http.deps import ApiMetrics, ApiState
from gateway.northbound.http.query_worker import QueryWorker
from gateway.northbound.http.routes import assets, points, sparql, stream, system

if TYPE_CHECKING:
    from gateway.runtime import Gateway

DESCRIPTION = """The live twin of twinbridge: a standard SPARQL 1.1 endpoint over the whole graph (model, live
values, ontology), REST for the common cases, server-sent events of point changes, and Prometheus metrics.
Authenticate with `Authorization: Bearer <token>`; `/health` is open."""


def create_app(gateway: Gateway, config: HttpApiConfig) -> FastAPI:
    """The application; ``app.state.api.worker`` must be started before serving queries."""
    app = FastAPI(
        title="twinbridge",
        version=__version__,
        description=DESCRIPTION,
        responses={401: {"model": None}, 403: {"model": None}},
    )
    metrics = ApiMetrics(gateway.metrics.registry)
    worker = QueryWorker(gateway.twin, timeout=config.query_timeout, max_bytes=config.max_result_bytes)
    app.state.api = ApiState(gateway, config, TokenAuth(config), worker, metrics)
    errors.install(app)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
        )

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        metrics.requests.labels(request.method, getattr(route, "path", "unmatched"), str(response.status_code)).inc()
        response.headers["X-Response-Time-ms"] = f"{(time.perf_counter() - t0) * 1000:.1f}"
        return response

    for r in (sparql.router, points.router, assets.router, system.router, stream.router):
        app.include_router(r)
    return app
