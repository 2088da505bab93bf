"""Faults through the whole gateway: an OPC UA server stopped and restarted mid-run is recovered.

The real ``Gateway`` runs the adapter under its supervisor; the server is stopped (points go Bad with the
reason), stays down while the supervisor retries (connection refused), and is restarted on the same port:
session, subscriptions and monitored items are rebuilt and the twin is Good again, with no gateway restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from asyncua import ua
from opcua_client_helpers import PlantServer

from adapters.contract.adapter import ConnectionState
from adapters.contract.sample import PointState, Quality
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway

pytestmark = [pytest.mark.integration]

MAPPING = """\
twin: {{base_iri: "http://test.local/", name: t}}
sources:
  - id: ua
    kind: opcua
    url: "{url}"
    security: {{policy: None}}
    namespaces: {{plant: "urn:twinbridge:test:plant"}}
    publishing_interval: 50ms
    sampling_interval: 0
    keepalive_interval: 500ms
    request_timeout: 1s
    reconnect: {{initial: 200ms, max: 1s, jitter: 0}}
assets:
  - id: boiler
    type: equipment
    source: ua
    points:
      - id: temp
        unit: DEG_C
        address: {{browse_path: "/Objects/plant:Plant/plant:Boiler/plant:Temp"}}
      - id: count
        unit: UNITLESS
        datatype: int32
        address: {{node: "nsu=urn:twinbridge:test:plant;s=Boiler.Count", mode: poll, poll_interval: 100ms}}
      - {{id: sp, type: setpoint, unit: DEG_C, writable: true, address: {{node: "ns=2;s=Boiler.Setpoint"}}}}
      - {{id: ghost, unit: DEG_C, address: {{node: "ns=2;s=Boiler.DoesNotExist"}}}}
"""


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_server_restart_is_recovered_without_restarting_the_gateway() -> None:
    srv = PlantServer()
    await srv.start()
    model = load_mappings(["plant.yaml"], texts={"plant.yaml": MAPPING.format(url=srv.url)}, env={})
    gw = Gateway(model)
    await gw.start(services=False)
    try:
        sup = gw.supervisors["ua"]
        state: Callable[[str], PointState] = gw.twin.state
        await until(lambda: state("boiler.temp").quality is Quality.GOOD and state("boiler.count").value == 7)
        ghost = state("boiler.ghost")
        assert (ghost.quality, ghost.status) == (Quality.BAD, "BadNodeIdUnknown")
        await srv.set("Temp", 55.0, ua.VariantType.Double)
        await until(lambda: state("boiler.temp").value == 55.0)
        assert (await gw.write("boiler.sp", 61.5)).ok
        assert await srv.get("Setpoint") == 61.5

        # the server goes away: points Bad with the reason, writes refused
        await srv.stop()
        await until(lambda: state("boiler.temp").quality is Quality.BAD, timeout=5)
        temp = state("boiler.temp")
        assert temp.status in ("BadCommunicationError", "BadNotConnected", "BadTimeout") and srv.url in temp.reason
        assert state("boiler.count").quality is Quality.BAD
        res = await gw.write("boiler.sp", 62.0)
        assert res.status == "BadNoCommunication"
        await until(lambda: sup.reconnects >= 2, timeout=5)  # retried (and refused) while down
        assert sup.state is not ConnectionState.CONNECTED and "cannot reach" in (sup.last_error or "")

        # back on the same port: a fresh server (empty session table), values must flow again
        await srv.start()
        await srv.set("Temp", 56.5, ua.VariantType.Double)
        await until(
            lambda: state("boiler.temp").value == 56.5 and state("boiler.temp").quality is Quality.GOOD, timeout=10
        )
        await until(lambda: state("boiler.count").quality is Quality.GOOD)
        assert state("boiler.ghost").status == "BadNodeIdUnknown"
        await srv.set("Temp", 57.0, ua.VariantType.Double)  # subscriptions really rebuilt, not a one-off read
        await until(lambda: state("boiler.temp").value == 57.0)
        assert (await gw.write("boiler.sp", 63.0)).ok
        assert await srv.get("Setpoint") == 63.0
        info = sup.info()
        assert info["state"] == "connected" and info["details"]["subscriptions"][0]["items"] == 2
        assert "password" not in str(info).lower()
    finally:
        await gw.stop()
        await srv.stop()
