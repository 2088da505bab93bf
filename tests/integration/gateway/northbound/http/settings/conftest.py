"""Gateways with the HTTP API on ephemeral ports, each built from a small sim mapping and an ``http:`` section.

The tests here cover what the REST/SPARQL tests one folder up do not: the settings (anonymous reads, CORS,
result-size cap, a time limit shorter than a replica's load), refusals that protect the host (federated SERVICE
queries), error bodies, and stream filters. A factory fixture builds one gateway per distinct configuration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for

READER = "api-reader-token-0123456789"
OPERATOR = "api-operator-token-0123456789"

MAPPING = """\
twin: {base_iri: "http://api.test/", flush_interval: 50ms}
gateway:
  http:
    port: 0
    tokens:
      - {name: viewer, role: reader, token: "${READER}"}
      - {name: ops, role: operator, token: "${OPERATOR}"}
HTTP_EXTRA
sources:
  - {id: sim1, kind: sim, interval: 50ms}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - id: ahu1
    type: brick:AHU
    parent: hall
    label: AHU 1
    source: sim1
    points:
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: sine, offset: 20, amplitude: 2, period: 5s}}
      - {id: fan, type: setpoint, class: brick:Fan_Speed_Command, unit: PERCENT, datatype: float, writable: true,
         min: 0, max: 100, address: {signal: constant, initial: 50}}
  - id: boiler1
    type: brick:Boiler
    parent: site
    label: Boiler 1
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: sine, offset: 70, amplitude: 1, period: 3s}}
      - {id: sp, type: setpoint, class: brick:Water_Temperature_Setpoint, unit: DEG_C, datatype: float,
         writable: true, min: 20, max: 90, address: {signal: constant, initial: 65}}
"""

Serve = Callable[..., Awaitable[tuple[Gateway, str]]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``await serve("    anonymous_read: true")``: a started gateway and its base URL; stopped after the test."""
    started: list[Gateway] = []

    async def _serve(http_extra: str = "") -> tuple[Gateway, str]:
        text = MAPPING.replace("HTTP_EXTRA\n", http_extra.rstrip("\n") + "\n" if http_extra else "")
        env = {"READER": READER, "OPERATOR": OPERATOR}
        gw = Gateway(load_mappings(["api.yaml"], texts={"api.yaml": text}, env=env))
        await gw.start()
        started.append(gw)
        await wait_for(lambda: gw.twin.state("boiler1.sp").value == 65, what="sim values in the twin")
        return gw, f"http://127.0.0.1:{gw.services['http'].port}"  # type: ignore[attr-defined]

    yield _serve
    for gw in started:
        await gw.stop()


def client(base_url: str, token: str | None = READER, **kw: object) -> httpx.AsyncClient:
    """An HTTP client with a bearer token (or none)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=20, **kw)  # type: ignore[arg-type]
