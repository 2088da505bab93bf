"""A real gateway as a Sparkplug B edge node on a real mosquitto, seen by an independent host application
(``sparkplug_host``: only the protobuf schema and paho): births with datatypes, aliases, units and ranges from a
Modbus device (pymodbus), DDATA on change, a rebirth on request, a DCMD write reaching the device, and values held
while the primary host is offline, then replayed as historical data after new births.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.modbus.modbus_helpers import DeviceStore, ModbusTestServer
from tests.integration.adapters.mqtt.mqtt_helpers import Broker
from tests.integration.gateway.northbound.mqtt.sparkplug_host import SparkplugHost

pytestmark = pytest.mark.integration

MAPPING = """\
twin: {{base_iri: "http://sp.local/", flush_interval: 50ms}}
gateway:
  mqtt:
    brokers:
      - name: site
        url: "{broker}"
        buffer: {{path: "{buffer}"}}
        sparkplug: {{group: plant, node: gw1, primary_host: scada, commands: true}}
sources:
  - {{id: plc, kind: modbus, url: "{modbus}", poll_interval: 50ms, timeout: 300ms, retries: 0}}
assets:
  - id: boiler
    type: brick:Boiler
    label: Boiler 1
    source: plc
    points:
      - {{id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float, min: 0, max: 120,
         transform: {{scale: 0.1}}, address: {{table: holding, address: 0, encoding: int16}}}}
      - {{id: sp, type: setpoint, class: brick:Water_Temperature_Setpoint, unit: DEG_C, datatype: float,
         writable: true, min: 20, max: 90, transform: {{scale: 0.1}},
         address: {{table: holding, address: 1, encoding: int16}}}}
      - {{id: starts, type: status, datatype: uint16, address: {{table: holding, address: 2}}}}
  - id: pump
    label: Pump
    source: plc
    points:
      - {{id: running, type: command, datatype: bool, writable: true, address: {{table: coil, address: 0}}}}
"""
G, N = "plant", "gw1"


@dataclass
class Plant:
    gw: Gateway
    store: DeviceStore
    host: SparkplugHost
    broker: Broker
    server: ModbusTestServer


@pytest.fixture
async def plant(tmp_path: Path, broker: Broker) -> AsyncIterator[Plant]:
    store = DeviceStore(units={1})
    store.set(1, "holding", 0, 215, 500, 3)  # 21.5 °C, setpoint 50.0 °C, 3 starts
    server = ModbusTestServer(store, "tcp")
    await server.start()
    host = SparkplugHost(broker.port, "scada", G)
    host.start()
    mapping = tmp_path / "plant.yaml"
    mapping.write_text(MAPPING.format(broker=broker.url, modbus=server.url, buffer=tmp_path / "buffer"))
    gw = Gateway.from_files([mapping])
    await gw.start()
    try:
        yield Plant(gw, store, host, broker, server)
    finally:
        await gw.stop()
        host.close()
        await server.stop()


async def test_host_sees_births_data_rebirth_and_writes_a_modbus_setpoint(plant: Plant) -> None:
    host = plant.host
    node = host.node(G, N)
    await host.wait(lambda: set(node.devices) == {"boiler", "pump"}, 10, "DBIRTH of both devices")
    await host.wait(lambda: host.values(G, N, "boiler", "temp")[-1:] == [21.5], 5, "temp 21.5")
    assert node.online and node.bdseq == 0 and node.metrics["Node Control/Rebirth"].alias is None
    assert node.metrics["bdSeq"].datatype == 4 and node.metrics["Node Control/Rebirth"].datatype == 11
    boiler = node.devices["boiler"]
    temp, sp, starts = boiler.metrics["temp"], boiler.metrics["sp"], boiler.metrics["starts"]
    assert (temp.datatype, sp.datatype, starts.datatype, node.devices["pump"].metrics["running"].datatype) == (
        9,  # Float
        9,
        6,  # UInt16
        11,  # Boolean
    )
    assert temp.properties["engUnit"] == (12, "°C") and temp.properties["qudtUnit"] == (12, "DEG_C")
    assert temp.properties["engLow"] == (10, 0.0) and temp.properties["engHigh"] == (10, 120.0)
    assert temp.properties["readOnly"] == (11, True) and sp.properties["readOnly"] == (11, False)
    assert boiler.metrics["Device Info/Label"].value == "Boiler 1"
    aliases = [m.alias for d in node.devices.values() for m in d.metrics.values() if m.alias is not None]
    assert len(aliases) == 4 == len(set(aliases))

    plant.store.set(1, "holding", 0, 230)  # the device changes: DDATA by alias
    await host.wait(lambda: host.values(G, N, "boiler", "temp")[-1:] == [23.0], 5, "temp 23.0 in DDATA")
    births = host.count(G, N, "NBIRTH")
    host.request_rebirth(G, N)
    await host.wait(lambda: host.count(G, N, "NBIRTH") == births + 1, 5, "a new NBIRTH")
    await host.wait(lambda: len(node.devices) == 2 and host.count(G, N, "DBIRTH") == 4, 5, "new DBIRTHs")
    assert host.values(G, N, "boiler", "temp")[-1] == 23.0 and node.bdseq == 0  # same session, same bdSeq

    host.write(G, N, "boiler", "sp", 55.5, by_alias=True)  # a DCMD by alias reaches the Modbus register
    await wait_for(lambda: plant.store.get(1, "holding", 1) == [555], 5, "setpoint written to the device")
    await host.wait(lambda: host.values(G, N, "boiler", "sp")[-1:] == [55.5], 5, "the new setpoint in DDATA")
    host.write(G, N, "pump", "running", True)  # by name, a coil
    await wait_for(lambda: plant.store.get(1, "coil", 0) == [1], 5, "coil written")
    await host.wait(lambda: host.values(G, N, "pump", "running")[-1:] == [True], 5, "running in DDATA")
    host.write(G, N, "boiler", "sp", 95.0)  # above max: the twin refuses, the device keeps 55.5
    host.write(G, N, "boiler", "temp", 1.0)  # read-only
    edge = plant.gw.services["mqtt"].links["site"].channels[0]  # type: ignore[attr-defined]
    await wait_for(lambda: edge.counters["commands_failed"] == 2, 5, "two refused writes")
    assert plant.store.get(1, "holding", 1) == [555] and edge.counters["commands"] == 4
    assert node.problems == [] and node.stale_deaths == []


async def test_values_held_while_the_primary_host_is_offline_come_back_as_history(plant: Plant) -> None:
    host = plant.host
    node = host.node(G, N)
    await host.wait(lambda: host.values(G, N, "boiler", "temp")[-1:] == [21.5], 10, "births with temp 21.5")
    host.set_online(False)
    await host.wait(lambda: node.deaths == [0], 5, "NDEATH with the session's bdSeq")
    seen = len(node.log)
    for raw in (240, 250, 260):  # the device changes while the host is away
        plant.store.set(1, "holding", 0, raw)
        await wait_for(lambda r=raw: plant.gw.twin.state("boiler.temp").value == r / 10, 5, f"temp {raw / 10}")

    def held() -> int:
        health = plant.gw.view.service_health()["mqtt"]
        assert not health.ok  # /health degrades while values are held
        return int(health.detail["brokers"]["site"]["buffered"])

    await wait_for(lambda: held() >= 3, 5, "three values held in the buffer")
    assert node.log[seen:] == []  # nothing published while the primary host is offline

    host.set_online(True)
    await host.wait(
        lambda: host.values(G, N, "boiler", "temp", historical=True)[-3:] == [24.0, 25.0, 26.0], 10, "history"
    )
    kinds = [k for k, _, _ in node.log[seen:]]
    assert kinds[:3] == ["NBIRTH", "DBIRTH", "DBIRTH"]  # births first, then the held values
    assert host.values(G, N, "boiler", "temp", historical=False)[-1] == 26.0  # the births' current value
    replayed = [v for v in node.devices["boiler"].data if v.historical and v.name == "temp"]
    assert [v.timestamp for v in replayed] == sorted(v.timestamp for v in replayed)  # original times, in order
    assert node.problems == [] and node.bdseq == 0
    await wait_for(lambda: plant.gw.view.service_health()["mqtt"].ok, 5, "live again")


async def test_a_device_that_stops_answering_is_bad_quality_then_good_again(plant: Plant) -> None:
    host = plant.host

    def last(name: str) -> tuple[object, dict[str, tuple[int, object]]] | None:
        dev = host.node(G, N).devices.get("boiler")
        data = [v for v in dev.data if v.name == name] if dev else []
        return (data[-1].value, data[-1].properties) if data else None

    await host.wait(lambda: (last("temp") or (None,))[0] == 21.5, 10, "temp 21.5")
    await plant.server.stop()
    # (the DDATA of 21.5 may say Quality 192 already: the DBIRTH can come before the first poll, BAD)
    await host.wait(lambda: (last("temp") or (None, {}))[1].get("Quality") == (3, 0), 10, "BAD (Int32 0) in DDATA")
    _, props = last("temp")  # type: ignore[misc]
    assert props["statusCode"][0] == 12 and str(props["statusCode"][1]).startswith("Bad")
    await plant.server.start()
    await host.wait(lambda: (last("temp") or (None, {}))[1] == {"Quality": (3, 192)}, 15, "GOOD again, said once")
    assert host.node(G, N).problems == []
