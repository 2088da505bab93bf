"""A gateway with the OPC UA server on an ephemeral port, users per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.config.loader import load_mappings
from gateway.northbound.credentials import hash_password
from gateway.runtime import Gateway
from tests.conftest import wait_for

OP_PW = "operator-pw-1"
VIEW_PW = "viewer-pw-1"
NS_URI = "http://t.local/opcua"

MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms, name: plant}
gateway:
  opcua:
    host: 127.0.0.1
    port: 0
    security: SECURITY
    pki_dir: PKI
    users:
      - {name: op, password_hash: "OP_HASH", role: operator}
      - {name: viewer, password_hash: "VIEW_HASH", role: viewer}
sources:
  - {id: sim1, kind: sim, interval: 50ms, reconnect: {initial: 100ms, max: 300ms}}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - id: boiler1
    type: brick:Boiler
    parent: hall
    label: Boiler 1
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float, min: 0, max: 120,
         label: Water temperature, address: {signal: sine, offset: 60, amplitude: 5, period: 10s}}
      - {id: sp, type: setpoint, unit: DEG_C, datatype: float, writable: true, min: 40, max: 90,
         address: {signal: constant, initial: 70}}
      - {id: count, type: status, unit: UNITLESS, datatype: uint32, address: {signal: counter, rate: 10}}
      - {id: run, type: status, datatype: bool, address: {signal: square, period: 1s}}
"""


def mapping_text(pki: Path, security: str = '["None"]') -> str:
    return (
        MAPPING.replace("SECURITY", security)
        .replace("PKI", str(pki))
        .replace("OP_HASH", hash_password(OP_PW, iterations=1000))
        .replace("VIEW_HASH", hash_password(VIEW_PW, iterations=1000))
    )


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": mapping_text(tmp_path / "pki")}))
    await gw.start()
    await wait_for(lambda: gw.twin.state("boiler1.temp").status == "Good")
    yield gw
    await gw.stop()


@pytest.fixture
def url(gateway: Gateway) -> str:
    return gateway.services["opcua"].endpoints()[0]  # type: ignore[no-any-return]
