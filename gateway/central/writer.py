"""Writes from the central view, routed to the gateway that owns the point, over that gateway's HTTP API.

The store is never written: the owning gateway's own governance (type, range, its roles) and its device decide,
and its answer comes back as the write's result. Where a gateway is reached comes only from the central view's
mapping (``twin: remote: gateways:``), never from the store or a request, so nothing a client or a store holds
can make the central view call another address.
"""

from __future__ import annotations

import json
import logging
import ssl
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from adapters.contract.adapter import WriteResult
from adapters.contract.sample import Value
from adapters.contract.status import NO_COMMUNICATION
from gateway.central.sources import RemoteSource

if TYPE_CHECKING:
    from adapters.contract.model import Point
    from gateway.model import TwinModel
    from gateway.remote_store.settings import GatewayRoute

log = logging.getLogger("twinbridge.central")

# what the edge's HTTP status means when its body names no OPC UA status (docs/api.md's table, read backwards)
_STATUS_OF_HTTP = {
    401: "BadUserAccessDenied",
    403: "BadUserAccessDenied",
    404: "BadNodeIdUnknown",
    409: "BadNotWritable",
    422: "BadTypeMismatch",
    502: "BadCommunicationError",
    503: "BadResourceUnavailable",
    504: "BadTimeout",
}
_MARGIN = 2.0  # seconds beyond the edge's own write timeout, so its BadTimeout comes back rather than ours


def _verify(route: GatewayRoute) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=route.ca_file) if route.ca_file else True


class RouteWriter:
    """The central twin's writer: ``(point, value) -> WriteResult`` from the owning gateway."""

    def __init__(self, model: TwinModel, routes: dict[str, GatewayRoute], timeout: float) -> None:
        self.model = model
        self.routes = routes
        self.timeout = timeout + _MARGIN
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, gateway: str, route: GatewayRoute) -> httpx.AsyncClient:
        client = self._clients.get(gateway)
        if client is None:
            headers = {"Authorization": f"Bearer {route.token.get_secret_value()}"} if route.token else {}
            client = self._clients[gateway] = httpx.AsyncClient(
                base_url=route.url.rstrip("/"),
                headers=headers,
                verify=_verify(route),
                timeout=self.timeout,
                follow_redirects=False,  # a redirect would send the token on to another address
            )
        return client

    async def __call__(self, point: Point, value: Value) -> WriteResult:
        source = self.model.sources.get(point.source)
        if not isinstance(source, RemoteSource):
            return WriteResult("BadNotWritable", f"{point.id} is not a point of a replicating gateway")
        gateway = source.gateway
        route = self.routes.get(gateway)
        if route is None:
            return WriteResult(
                "BadNotWritable", f"no route to gateway {gateway} configured (twin: remote: gateways: {gateway}: url)"
            )
        url = f"/points/{quote(point.id, safe='')}/value"
        try:
            response = await self._client(gateway, route).put(url, json={"value": value})
        except httpx.TimeoutException:
            return WriteResult("BadTimeout", f"gateway {gateway} did not answer the write within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return WriteResult(NO_COMMUNICATION, f"gateway {gateway} at {route.url} is unreachable: {exc}")
        return _result(gateway, response)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _result(gateway: str, response: httpx.Response) -> WriteResult:
    """The edge's answer: its own status and reason when its body has them (any twinbridge gateway's does)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    status = body.get("status") if isinstance(body.get("status"), str) else None
    reason = body.get("reason") or body.get("error")
    if response.status_code < 300:
        return WriteResult(status or "Good", reason if isinstance(reason, str) else None)
    if status is None:
        status = _STATUS_OF_HTTP.get(response.status_code, "BadCommunicationError")
    detail = reason if isinstance(reason, str) else response.reason_phrase
    if "problems" in body and isinstance(body["problems"], list):  # a request the edge could not read
        detail = f"{detail}: {'; '.join(str(p) for p in body['problems'])}"
    log.debug("write refused by gateway %s: HTTP %d %s", gateway, response.status_code, detail)
    return WriteResult(status, f"gateway {gateway}: {detail} (HTTP {response.status_code})")
