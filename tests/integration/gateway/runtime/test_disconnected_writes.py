"""A write to a source whose device is gone answers BadNoCommunication, whatever the kind of source.

Each kind runs against its real peer on loopback (a pymodbus server, an asyncua server, a mosquitto broker; the
simulator's outage for sim), the peer is stopped, and the write is tried twice: through the gateway (the
supervisor knows the source is down) and on the adapter itself (what it answers when called regardless).
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.contract.adapter import ConnectionState
from adapters.contract.status import NO_COMMUNICATION
from adapters.sim.adapter import SimAdapter
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.modbus.modbus_helpers import DeviceStore, ModbusTestServer
from tests.integration.adapters.mqtt.mqtt_helpers import Broker
from tests.integration.adapters.opcua.opcua_client_helpers import PlantServer

pytestmark = pytest.mark.integration

RECONNECT = "reconnect: {initial: 5s, max: 5s}"  # no reconnect while the test writes


@dataclass
class Peer:
    """A started device for one kind: its source line, a writable point's address, and how to stop it."""

    source: str
    address: str
    stop: Callable[[Gateway], Awaitable[None]]
    cleanup: Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


async def _sim() -> Peer:
    async def outage(gw: Gateway) -> None:
        adapter = gw.adapter("src")
        assert isinstance(adapter, SimAdapter)
        adapter.simulate_outage(60)

    return Peer(
        f"{{id: src, kind: sim, interval: 50ms, {RECONNECT}}}", "{signal: constant, initial: 50}", outage, _nothing
    )


async def _modbus() -> Peer:
    server = ModbusTestServer(DeviceStore(units={1}), "tcp")
    await server.start()

    async def stop(gw: Gateway) -> None:
        await server.stop()

    source = (
        f'{{id: src, kind: modbus, url: "{server.url}", poll_interval: 50ms, timeout: 300ms, retries: 0, {RECONNECT}}}'
    )
    return Peer(source, "{table: holding, address: 1, encoding: int16}", stop, server.stop)


async def _opcua() -> Peer:
    server = PlantServer()
    await server.start()

    async def stop(gw: Gateway) -> None:
        await server.stop()

    source = (
        f'{{id: src, kind: opcua, url: "{server.url}", security: {{policy: None}}, request_timeout: 1s, {RECONNECT}}}'
    )
    return Peer(source, '{node: "ns=2;s=Boiler.Setpoint"}', stop, server.stop)


async def _mqtt() -> Peer:
    broker = Broker(Path(tempfile.mkdtemp(prefix="tb-mqtt-")))
    broker.start()

    async def stop(gw: Gateway) -> None:
        broker.kill()

    async def cleanup() -> None:
        broker.kill()

    source = f'{{id: src, kind: mqtt, url: "{broker.url}", {RECONNECT}}}'
    return Peer(source, '{topic: "boiler/sp", command_topic: "boiler/sp/set"}', stop, cleanup)


PEERS = {"sim": _sim, "modbus": _modbus, "opcua": _opcua, "mqtt": _mqtt}


def _mapping(peer: Peer) -> str:
    return f"""\
twin: {{name: t, base_iri: "http://t.local/", flush_interval: 50ms}}
sources:
  - {peer.source}
assets:
  - id: boiler
    type: brick:Boiler
    source: src
    points:
      - {{id: sp, type: setpoint, unit: DEG_C, datatype: double, writable: true, address: {peer.address}}}
"""


@pytest.mark.parametrize("kind", sorted(PEERS))
async def test_a_write_to_a_disconnected_source_answers_bad_no_communication(kind: str) -> None:
    peer = await PEERS[kind]()
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": _mapping(peer)}))
    try:
        await gw.start(services=False)
        sup = gw.supervisors["src"]
        await wait_for(lambda: sup.state is ConnectionState.CONNECTED, 10, f"{kind} connected")
        adapter = gw.adapter("src")
        assert adapter is not None
        await peer.stop(gw)
        await wait_for(lambda: sup.state is not ConnectionState.CONNECTED, 10, f"{kind} disconnected")
        result = await gw.write("boiler.sp", 21.0)
        assert (result.status, result.ok) == (NO_COMMUNICATION, False), result
        assert "src" in (result.reason or "")
        direct = await adapter.write(gw.model.points["boiler.sp"], 21.0)
        assert direct.status == NO_COMMUNICATION, direct
    finally:
        await gw.stop()
        await peer.cleanup()
