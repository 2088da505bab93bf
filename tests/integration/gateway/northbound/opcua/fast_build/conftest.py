"""The opcua service with its address space created by the fast builder, one gateway per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import NodeManagementService

from gateway.config.loader import load_mappings
from gateway.northbound.credentials import hash_password
from gateway.northbound.opcua.fast_nodes import build_nodes
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
    security: ["None"]
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
"""


def mapping_text(pki: Path) -> str:
    return (
        MAPPING.replace("PKI", str(pki))
        .replace("OP_HASH", hash_password(OP_PW, iterations=1000))
        .replace("VIEW_HASH", hash_password(VIEW_PW, iterations=1000))
    )


ADMIN = User(role=UserRole.Admin)


def _fast_add_nodes(
    self: NodeManagementService, items: list[ua.AddNodesItem], user: User = ADMIN
) -> Sequence[ua.AddNodesResult]:
    """The service's batches (nodes of the twin's namespace) go through the fast builder."""
    if items and all(i.RequestedNewNodeId.NamespaceIndex >= 2 for i in items) and user.role == UserRole.Admin:
        return build_nodes(self._aspace, items)
    return ORIGINAL_ADD_NODES(self, items, user)


ORIGINAL_ADD_NODES = NodeManagementService.add_nodes


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    pki = tmp_path_factory.mktemp("pki")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(NodeManagementService, "add_nodes", _fast_add_nodes)
        gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": mapping_text(pki)}))
        await gw.start()
        try:
            await wait_for(lambda: gw.twin.state("boiler1.temp").status == "Good")
            yield gw
        finally:
            await gw.stop()


@pytest.fixture
def url(gateway: Gateway) -> str:
    return gateway.services["opcua"].endpoints()[0]  # type: ignore[no-any-return]
