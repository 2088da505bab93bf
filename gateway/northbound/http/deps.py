"""Shared state and FastAPI dependencies (``Annotated`` aliases, as in the FastAPI full-stack template)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric

from gateway.northbound.http.auth import Principal, TokenAuth
from gateway.northbound.http.config import HttpApiConfig
from gateway.northbound.http.query_worker import QueryWorker
from gateway.northbound.http.remote_queries import RemoteQueries
from gateway.northbound.http.topology import Topology, TopologyCache

if TYPE_CHECKING:
    from gateway.twin.view import TwinView


class _Delegate:
    """Exposes another registry's metrics through this one (the gateway's, at the API's /metrics)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()

    def describe(self) -> Iterable[Metric]:
        return []  # no names claimed: the gateway's registry already keeps its own unique


class ApiMetrics:
    """The API's own Prometheus metrics, on a registry of this service (plus the gateway's, for /metrics).

    Its own registry, not the gateway's: a gateway stopped and started again builds a new service, whose
    metrics would otherwise collide with the old ones' names.
    """

    def __init__(self, gateway_registry: CollectorRegistry) -> None:
        registry = self.registry = CollectorRegistry(auto_describe=True)
        registry.register(_Delegate(gateway_registry))
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

    view: TwinView
    config: HttpApiConfig
    auth: TokenAuth
    worker: QueryWorker | RemoteQueries  # the shared store's answers on a central view (twin: remote:)
    metrics: ApiMetrics
    topologies: TopologyCache = field(default_factory=TopologyCache)

    def topology(self) -> Topology:
        """The model's location tree and relation indexes, built once per model state."""
        return self.topologies.get(self.view.model)


def _state(request: Request) -> ApiState:
    return request.app.state.api


Api = Annotated[ApiState, Depends(_state)]
# Declares the bearer scheme in the OpenAPI document (so Swagger UI's "Authorize" sends the token); checking
# stays with TokenAuth, which reads the raw header for its own messages (auto_error=False: never answers itself).
_bearer = HTTPBearer(auto_error=False, description="an API token from the gateway's `http: tokens:` settings")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


def _reader(api: Api, request: Request, _: Bearer) -> Principal:
    return api.auth.require(request.headers.get("authorization"), "reader")


def _operator(api: Api, request: Request, _: Bearer) -> Principal:
    return api.auth.require(request.headers.get("authorization"), "operator")


ReaderDep = Annotated[Principal, Depends(_reader)]
OperatorDep = Annotated[Principal, Depends(_operator)]
