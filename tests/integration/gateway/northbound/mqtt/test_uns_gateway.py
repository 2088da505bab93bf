"""The UNS of a real gateway on a real mosquitto: points from a Modbus device (pymodbus), an OPC UA server
(asyncua) and an MQTT topic (fed through the same broker) as JSON on their asset paths, retained with each asset's
_meta so a subscriber that comes later sees the plant at once; commands written to the Modbus device and
answered, refused with their reason when out of range or malformed; MQTT 5 response topic and correlation data.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as paho
import pytest
import pytest_asyncio
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.modbus.modbus_helpers import DeviceStore, ModbusTestServer
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient
from tests.integration.adapters.opcua.opcua_client_helpers import PlantServer

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

MAPPING = """\
twin: {{base_iri: "http://t.local/", flush_interval: 50ms}}
gateway:
  mqtt:
    brokers:
      - {{name: plant, url: "{broker}", protocol: "{protocol}", uns: {{commands: true}}}}
sources:
  - {{id: plc, kind: modbus, url: "{modbus}", poll_interval: 50ms, timeout: 300ms, retries: 0}}
  - {{id: ua, kind: opcua, url: "{opcua}", security: {{policy: None}}}}
  - {{id: field, kind: mqtt, url: "{broker}"}}
assets:
  - {{id: site, type: site, label: Site}}
  - {{id: hall, type: area, parent: site, label: Boiler hall}}
  - id: boiler
    type: brick:Boiler
    parent: hall
    label: Boiler 1
    points:
      - {{id: temp, source: plc, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         transform: {{scale: 0.1}}, address: {{table: holding, address: 0, encoding: int16}}}}
      - {{id: sp, source: plc, type: setpoint, class: brick:Water_Temperature_Setpoint, unit: DEG_C, datatype: float,
         writable: true, min: 20, max: 90, transform: {{scale: 0.1}},
         address: {{table: holding, address: 1, encoding: int16}}}}
      - {{id: pressure, source: ua, class: brick:Water_Pressure_Sensor, unit: BAR, datatype: float,
         address: {{node: "ns=2;s=Boiler.Pressure"}}}}
      - {{id: supply, source: field, class: brick:Supply_Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {{topic: "field/boiler/supply", payload: plain}}}}
"""
BOILER = "twinbridge/site/hall/boiler"
POINTS = {"temp": 21.5, "sp": 50.0, "pressure": 1.5, "supply": 65.5}


@dataclass
class Plant:
    gw: Gateway
    store: DeviceStore
    broker: Broker
    watcher: TestClient  # subscribed to the whole UNS before the gateway started

    def client(self) -> TestClient:
        """A new subscriber (closed with the plant)."""
        c = TestClient(self.broker)
        self.clients.append(c)
        return c

    clients: list[TestClient] = field(default_factory=list)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Plant]:
    """One plant for the module (starting devices and a gateway takes seconds): tests read the state they need
    first. The link speaks MQTT 5 (response topics); 3.1.1 clients command it like any other."""
    tmp = tmp_path_factory.mktemp("uns")
    broker = Broker(tmp / "broker")
    broker.start()
    store = DeviceStore(units={1})
    store.set(1, "holding", 0, 215, 500)
    modbus = ModbusTestServer(store, "tcp")
    opcua = PlantServer()
    await modbus.start()
    await opcua.start()
    text = MAPPING.format(broker=broker.url, modbus=modbus.url, opcua=opcua.url, protocol="5")
    (tmp / "plant.yaml").write_text(text)
    watcher = TestClient(broker)
    watcher.subscribe("twinbridge/#")
    gw = Gateway.from_files([tmp / "plant.yaml"])
    await gw.start()
    plant = Plant(gw, store, broker, watcher)
    try:
        await wait_for(lambda: bool(gw.source_health()["field"].details.get("subscriptions")), 10, "field subscribed")
        watcher.publish("field/boiler/supply", "65.5")
        await wait_for(lambda: all(_last(watcher, p) is not None for p in POINTS), 15, "every point in the UNS")
        yield plant
    finally:
        await gw.stop()
        for c in [watcher, *plant.clients]:
            c.close()
        await opcua.stop()
        await modbus.stop()
        broker.kill()


def _last(client: TestClient, point: str) -> dict[str, Any] | None:
    """The newest good value a client has seen of a point of the boiler."""
    docs = [json.loads(m.payload) for m in client.messages(f"{BOILER}/{point}")]
    good = [d for d in docs if d["quality"] == "good"]
    return good[-1] if good else None


def _near_now(text: str) -> bool:
    assert text.endswith("Z")
    t = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return abs(datetime.now(UTC) - t) < timedelta(seconds=30)


async def test_a_late_subscriber_sees_every_source_with_meaning_at_once(plant: Plant) -> None:
    late = plant.client()
    late.subscribe("twinbridge/#")
    await wait_for(lambda: all(_last(late, p) is not None for p in POINTS), 5, "the retained values")
    for point, value in POINTS.items():
        doc = _last(late, point)
        assert doc is not None and doc["value"] == value, (point, doc)
        assert (doc["status"], doc["status_code"]) == ("Good", 0) and "reason" not in doc
        assert _near_now(doc["source_time"]) and _near_now(doc["server_time"])
        assert late.messages(f"{BOILER}/{point}")[0].retain
    pressure = _last(late, "pressure")
    assert pressure is not None
    assert pressure["unit"] == {"name": "BAR", "iri": "http://qudt.org/vocab/unit/BAR", "symbol": "bar"}
    await wait_for(lambda: bool(late.messages(f"{BOILER}/_meta")), 5, "the boiler's metadata")
    meta = json.loads(late.messages(f"{BOILER}/_meta")[-1].payload)
    assert (meta["iri"], meta["label"], meta["classes"], meta["level"], meta["path"]) == (
        "http://t.local/asset/boiler",
        "Boiler 1",
        ["brick:Boiler"],
        "equipment",
        ["site", "hall"],
    )
    by_id = {p["id"]: p for p in meta["points"]}
    assert by_id["boiler.supply"]["classes"] == ["brick:Supply_Water_Temperature_Sensor"]
    assert by_id["boiler.sp"]["command_topic"] == f"{BOILER}/sp/set" and by_id["boiler.sp"]["max"] == 90
    assert by_id["boiler.pressure"]["topic"] == f"{BOILER}/pressure"
    hall = json.loads(late.messages("twinbridge/site/hall/_meta")[-1].payload)
    assert (hall["label"], hall["level"], hall["points"]) == ("Boiler hall", "area", [])


async def test_a_register_change_is_published_live(plant: Plant) -> None:
    plant.store.set(1, "holding", 0, (-123) & 0xFFFF)
    await wait_for(lambda: (_last(plant.watcher, "temp") or {}).get("value") == -12.3, 5, "the new value")


async def _command(plant: Plant, point: str, payload: str) -> dict[str, Any]:
    """Publish a command (MQTT 3.1.1, no response topic) and wait for its answer on ``<topic>/set/result``."""
    client = plant.client()
    client.subscribe(f"{BOILER}/{point}/set/result")
    client.publish(f"{BOILER}/{point}/set", payload)
    await wait_for(lambda: bool(client.messages(f"{BOILER}/{point}/set/result")), 5, "the answer")
    return json.loads(client.messages(f"{BOILER}/{point}/set/result")[0].payload)


async def test_a_command_reaches_the_modbus_device_and_its_outcome_comes_back(plant: Plant) -> None:
    answer = await _command(plant, "sp", '{"value": 55.5, "id": "c-1"}')
    assert answer == {"point": "boiler.sp", "ok": True, "status": "Good", "reason": None, "id": "c-1", "value": 55.5}
    assert plant.store.get(1, "holding", 1) == [555]  # the inverse transform, in the device
    await wait_for(lambda: (_last(plant.watcher, "sp") or {}).get("value") == 55.5, 5, "the new setpoint published")
    assert (await _command(plant, "sp", "60"))["ok"] and plant.store.get(1, "holding", 1) == [600]


async def test_out_of_range_and_malformed_commands_are_answered_with_their_reason_and_not_applied(
    plant: Plant,
) -> None:
    counters = plant.gw.services["mqtt"].links["plant"].channels[0].counters  # type: ignore[attr-defined]
    before = (plant.store.get(1, "holding", 1), counters["commands_malformed"], counters["commands_refused"])
    high = await _command(plant, "sp", '{"value": 95, "id": 7}')
    assert (high["ok"], high["status"], high["id"]) == (False, "BadOutOfRange", 7)
    assert high["reason"] == "95 is above the maximum 90 of boiler.sp"
    bad = await _command(plant, "sp", '{"val": 30}')
    assert (bad["ok"], bad["status"]) == (False, "BadDecodingError") and "unknown key(s) val" in bad["reason"]
    assert (await _command(plant, "temp", "30"))["status"] == "BadNotWritable"
    after = (plant.store.get(1, "holding", 1), counters["commands_malformed"], counters["commands_refused"])
    assert after == (before[0], before[1] + 1, before[2] + 2)  # nothing reached the device


async def test_mqtt5_answers_on_the_response_topic_with_the_correlation_data(plant: Plant) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    got: list[paho.MQTTMessage] = []
    client.on_message = lambda c, u, m: got.append(m)
    client.connect("127.0.0.1", plant.broker.port)
    client.loop_start()
    try:
        await wait_for(client.is_connected, 5, "the v5 client connected")
        client.subscribe("hmi7/replies", qos=1)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = "hmi7/replies"
        props.CorrelationData = b"\x01req-42"
        client.publish(f"{BOILER}/sp/set", "44", qos=1, properties=props).wait_for_publish(5)
        await wait_for(lambda: bool(got), 5, "the answer on the response topic")
        assert getattr(got[0].properties, "CorrelationData", None) == b"\x01req-42"
        assert json.loads(got[0].payload)["ok"] and plant.store.get(1, "holding", 1) == [440]
    finally:
        client.loop_stop()
        client.disconnect()
