"""Shared state and FastAPI dependencies (``Annotated`` aliases, as in the FastAPI full-stack template)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, Request
from prometheus_client import CollectorRegistry, Counter, Histogram

from gateway.northbound.http.auth import Principal, TokenAuth
from gateway.northbound.http.config import HttpApiConfig
from gateway.northbound.http.query_worker import QueryWorker

if TYPE_CHECKING:
    from gateway.runtime import Gateway


class ApiMetrics:
    """The API's own Prometheus metrics, on the gateway's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "twinbridge_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.query_seconds = Histogram(
            "twinbridge_sparql_query_seconds",
            "SPARQL query latency",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30),
            registry=registry,
        )
        self.query_errors = Counter(
            "twinbridge_sparql_query_errors", "SPARQL queries that failed", ["reason"], registry=registry
        )
        self.stream_clients = Counter("twinbridge_sse_clients", "SSE clients connected", registry=registry)


@dataclass
class ApiState:
    """Everything the routes need."""

    gateway: Gateway
    config: HttpApiConfig
    auth: TokenAuth
    worker: QueryWorker
    metrics: ApiMetrics


def _state(request: Request) -> ApiState:
    return request.app.state.api  # type: ignore[no-any-return]


Api = Annotated[ApiState, Depends(_state)]
AuthHeader = Annotated[str | None, Header(alias="Authorization", include_in_schema=False)]


def _reader(api: Api, authorization: AuthHeader = None) -> Principal:
    return api.auth.require(authorization, "reader")


def _operator(api: Api, authorization: AuthHeader = None) -> Principal:
    return api.auth.require(authorization, "operator")


ReaderDep = Annotated[Principal, Depends(_reader)]
OperatorDep = Annotated[Principal, Depends(_operator)]
