"""A running gateway with the HTTP API on an ephemeral port, and clients per role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for

READER = "reader-token-0123456789"
OPERATOR = "operator-token-0123456789"
ADMIN = "admin-token-0123456789"

MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms}
gateway:
  http:
    port: 0
    query_timeout: 2s
    tokens:
      - {name: dashboards, role: reader, token: "${READER}"}
      - {name: ops, role: operator, token: "${OPERATOR}"}
      - {name: root, role: admin, token_sha256: "ADMIN_SHA"}
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
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float, label: Supply air,
         address: {signal: sine, offset: 20, amplitude: 2, period: 30s}}
      - {id: fan, type: setpoint, class: brick:Fan_Speed_Command, unit: PERCENT, datatype: float, writable: true,
         min: 0, max: 100, address: {signal: constant, initial: 50}}
      - {id: run, type: status, class: brick:Run_Status, datatype: bool, address: {signal: square, period: 2s}}
  - id: boiler1
    type: brick:Boiler
    parent: site
    label: Boiler 1
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 71.5}}
"""


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    from gateway.northbound.credentials import sha256_hex

    text = MAPPING.replace("ADMIN_SHA", sha256_hex(ADMIN))
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}, env={"READER": READER, "OPERATOR": OPERATOR}))
    await gw.start()
    await wait_for(lambda: gw.twin.state("boiler1.temp").value == 71.5)
    yield gw
    await gw.stop()


@pytest.fixture
def base_url(gateway: Gateway) -> str:
    return f"http://127.0.0.1:{gateway.services['http'].port}"  # type: ignore[attr-defined]


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {READER}"}, timeout=20) as c:
        yield c


@pytest.fixture
async def operator(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {OPERATOR}"}, timeout=20) as c:
        yield c
