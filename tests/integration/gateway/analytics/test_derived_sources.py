"""Derived points follow their inputs through a real Modbus server and a real MQTT broker: values with units
converted, source time of the newest input, quality propagated when the Modbus server stops, and a division
by zero that makes one derived point Bad with a reason while the gateway keeps running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.contract.sample import PointState, Quality
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.modbus.modbus_helpers import DeviceStore, ModbusTestServer
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient

pytestmark = pytest.mark.integration

MAPPING = """\
twin: {{name: derived, base_iri: "http://derived.local/", flush_interval: 50ms}}
sources:
  - {{id: plc, kind: modbus, url: "{modbus}", poll_interval: 50ms, timeout: 300ms, retries: 0,
     reconnect: {{initial: 5s, max: 5s}}}}
  - {{id: mq, kind: mqtt, url: "{mqtt}"}}
assets:
  - id: boiler
    type: brick:Boiler
    points:
      - {{id: flow, source: plc, unit: M3-PER-HR, datatype: float, transform: {{scale: 0.1}},
         address: {{table: holding, address: 0, encoding: int16}}}}
      - {{id: return_temp, source: plc, unit: DEG_C, datatype: float, transform: {{scale: 0.1}},
         address: {{table: holding, address: 1, encoding: int16}}}}
      - {{id: supply_temp, source: mq, unit: DEG_F, datatype: float,
         address: {{topic: "boiler/supply", payload: plain}}}}
      - {{id: thermal_power, unit: KiloW, label: Thermal power,
         expr: "flow * (supply_temp - return_temp) * 1.163 [KiloW-HR/(M3*K)]"}}
      - {{id: valve, source: plc, unit: UNITLESS, datatype: float,
         address: {{table: holding, address: 2, encoding: int16}}}}
      - {{id: flow_per_valve, unit: M3-PER-HR, expr: "flow / valve"}}
      - {{id: supply_c, unit: DEG_C, expr: "supply_temp"}}
"""


@dataclass
class Plant:
    gw: Gateway
    store: DeviceStore
    server: ModbusTestServer
    client: TestClient


@pytest.fixture
async def plant(tmp_path: Path) -> AsyncIterator[Plant]:
    store = DeviceStore(units={1})
    store.set(1, "holding", 0, 125)  # 12.5 m3/h
    store.set(1, "holding", 1, 400)  # 40.0 degC
    store.set(1, "holding", 2, 50)  # valve 50
    server = ModbusTestServer(store, "tcp")
    await server.start()
    broker = Broker(tmp_path / "broker")
    broker.start()
    client = TestClient(broker)
    (tmp_path / "plant.yaml").write_text(MAPPING.format(modbus=server.url, mqtt=broker.url))
    gw = Gateway.from_files([tmp_path / "plant.yaml"])
    await gw.start(services=False)
    await wait_for(lambda: all(h.connected for h in gw.source_health().values()), 20, "sources connected")
    await wait_for(lambda: bool(gw.source_health()["mq"].details.get("subscriptions")), 10, "MQTT subscribed")
    try:
        yield Plant(gw, store, server, client)
    finally:
        await gw.stop()
        client.close()
        broker.kill()
        await server.stop()


def _state(gw: Gateway, local: str) -> PointState:
    return gw.twin.state(f"boiler.{local}")


async def test_a_derived_point_follows_modbus_and_mqtt_inputs(plant: Plant) -> None:
    gw, client = plant.gw, plant.client
    client.publish("boiler/supply", "140")  # 140 degF = 60 degC
    # 12.5 m3/h x (60 - 40) K x 1.163 kWh/(m3 K) = 290.75 kW
    await wait_for(lambda: _state(gw, "thermal_power").value == pytest.approx(290.75), what="thermal power")
    power = _state(gw, "thermal_power")
    assert power.quality is Quality.GOOD and power.status == "Good"
    assert _state(gw, "supply_c").value == pytest.approx(60.0)

    def newest_input_time() -> bool:
        inputs = [_state(gw, p).source_ts for p in ("flow", "return_temp", "supply_temp")]
        return _state(gw, "thermal_power").source_ts == max(t for t in inputs if t is not None)

    await wait_for(newest_input_time, what="source time of the newest input")

    plant.store.set(1, "holding", 0, 250)  # 25.0 m3/h through Modbus
    await wait_for(lambda: _state(gw, "thermal_power").value == pytest.approx(581.5), what="Modbus change")
    client.publish("boiler/supply", "104")  # 40 degC: no difference left
    await wait_for(lambda: _state(gw, "thermal_power").value == pytest.approx(0.0, abs=1e-9), what="MQTT change")
    assert gw.source_health()["analytics"].counters["derived_evaluations"] > 0


async def test_division_by_zero_makes_one_point_bad_and_the_gateway_goes_on(plant: Plant) -> None:
    gw, client = plant.gw, plant.client
    client.publish("boiler/supply", "140")
    await wait_for(lambda: _state(gw, "flow_per_valve").value == pytest.approx(12.5 / 50), what="ratio")
    plant.store.set(1, "holding", 2, 0)  # valve 0: flow / valve divides by zero
    await wait_for(lambda: _state(gw, "flow_per_valve").quality is Quality.BAD, what="ratio Bad")
    bad = _state(gw, "flow_per_valve")
    assert bad.status == "BadOutOfRange"
    assert "division by zero" in (bad.reason or "") and "flow / valve" in (bad.reason or "")
    # the other derived points and the sources carry on
    client.publish("boiler/supply", "212")  # 100 degC
    await wait_for(lambda: _state(gw, "thermal_power").value == pytest.approx(12.5 * 60 * 1.163), what="power")
    assert _state(gw, "thermal_power").quality is Quality.GOOD
    health = gw.source_health()["analytics"]
    assert health.state == "connected" and health.counters["derived_errors"] >= 1
    plant.store.set(1, "holding", 2, 25)  # recovers by itself
    await wait_for(lambda: _state(gw, "flow_per_valve").value == pytest.approx(12.5 / 25), what="ratio back")
    assert _state(gw, "flow_per_valve").quality is Quality.GOOD


async def test_quality_of_the_worst_input_when_the_modbus_server_stops(plant: Plant) -> None:
    gw, client = plant.gw, plant.client
    client.publish("boiler/supply", "140")
    await wait_for(lambda: _state(gw, "thermal_power").quality is Quality.GOOD, what="power Good")
    await plant.server.stop()
    await wait_for(lambda: _state(gw, "thermal_power").quality is Quality.BAD, what="power Bad")
    power, flow = _state(gw, "thermal_power"), _state(gw, "flow")
    assert flow.quality is Quality.BAD
    assert power.status == flow.status  # the worst input's status
    assert "boiler.flow" in (power.reason or "") or "boiler.return_temp" in (power.reason or "")
    assert flow.status in (power.reason or "")
    # an input that only comes through MQTT stays Good
    client.publish("boiler/supply", "150")
    await wait_for(lambda: _state(gw, "supply_c").value == pytest.approx((150 - 32) / 1.8), what="MQTT goes on")
    assert _state(gw, "supply_c").quality is Quality.GOOD
