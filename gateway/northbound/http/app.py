"""The FastAPI application over the twin's view."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import __version__
from gateway.northbound.dashboard import serve as dashboard
from gateway.northbound.http import docs_ui, errors
from gateway.northbound.http.auth import TokenAuth
from gateway.northbound.http.config import HttpApiConfig
from gateway.northbound.http.deps import ApiMetrics, ApiState
from gateway.northbound.http.limits import BodyLimit
from gateway.northbound.http.query_worker import QueryWorker
from gateway.northbound.http.remote_queries import RemoteQueries
from gateway.northbound.http.routes import alarms, assets, locations, points, sparql, stream, system
from gateway.northbound.http.routes.history import router as history_router

if TYPE_CHECKING:
    from gateway.twin.view import TwinView

DESCRIPTION = """The live twin of twinbridge: a standard SPARQL 1.1 endpoint over the whole graph (model, live
values, ontology), REST for the common cases, server-sent events of point changes, and Prometheus metrics.
Authenticate with `Authorization: Bearer <token>`; `/health` is open."""


class RequestMetrics:
    """Counts requests by method, route and status, and adds X-Response-Time-ms.

    A plain ASGI middleware rather than ``@app.middleware("http")``: that one reads the request in a task of
    its own, so an error raised while receiving the body (the body limit's 413) would surface as a 500.
    """

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Response-Time-ms", f"{(time.perf_counter() - t0) * 1000:.1f}")
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()


def create_app(view: TwinView, config: HttpApiConfig) -> FastAPI:
    """The application; ``app.state.api.worker`` must be started before serving queries."""
    app = FastAPI(
        title="twinbridge",
        version=__version__,
        description=DESCRIPTION,
        responses={401: {"model": None}, 403: {"model": None}},
        docs_url=None,  # served by docs_ui from local assets, not a CDN
        redoc_url=None,
    )
    metrics = ApiMetrics(view.metrics)
    # a central view (twin: remote:) answers SPARQL from the shared store; a gateway from its own replica
    worker: QueryWorker | RemoteQueries = (
        RemoteQueries(view, timeout=config.query_timeout, max_bytes=config.max_result_bytes)
        if view.remote is not None
        else QueryWorker(view, timeout=config.query_timeout, max_bytes=config.max_result_bytes)
    )
    app.state.api = ApiState(view, config, TokenAuth(config), worker, metrics)
    view.add_model_listener(app.state.api.topologies.invalidate)  # assets added at run time: new indexes
    errors.install(app)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "Content-Type", "Accept"],
        )

    app.add_middleware(RequestMetrics, metrics=metrics)
    # Outermost: a body over the limit is refused before any other layer reads it.
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    for r in (sparql.router, points.router, assets.router, locations.router, system.router, stream.router):
        app.include_router(r)
    app.include_router(history_router)  # /points/{id}/history, /history (docs/history.md)
    app.include_router(alarms.router)  # /alarms (docs/analytics.md)
    docs_ui.install(app)
    dashboard.install(app, page=config.dashboard)  # the page at / (docs/dashboard.md)
    return app
