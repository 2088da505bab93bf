"""Topic rules, JSON paths, plain payloads and write-back against a real mosquitto process."""

from __future__ import annotations

import json

import pytest
from mqtt_helpers import Broker, TestClient, make_harness, mqtt_point

from adapters.contract.model import AssetLevel, DataType
from adapters.contract.sample import Quality

pytestmark = pytest.mark.integration

RULE = {"id": "env", "topic": "plant/{area}/{sensor}/telemetry", "profile": "mqtt-env-sensor", "parent": "{area}"}


def reading(temp: float, **extra: object) -> bytes:
    return json.dumps(
        {"temp": temp, "hum": 40.5, "co2": 600, "sp": 21.0, "ts": 1718000000123, "status": "ok", **extra}
    ).encode()


async def test_rule_template_creates_assets_and_points(broker: Broker, client: TestClient) -> None:
    h = make_harness(broker.url, rules=[RULE])
    await h.start()
    try:
        assert h.adapter.subscribed == {"plant/+/+/telemetry": 1}
        client.publish("plant/hall1/s1/telemetry", reading(21.5))
        client.publish("plant/hall2/s7/telemetry", reading(19.0))
        await h.wait_value("hall1-s1.temperature", 21.5)
        await h.wait_value("hall2-s7.temperature", 19.0)
        # one discover call per new topic: the parent area, the sensor asset and the profile's four points
        assert len(h.discovered) == 2
        assets, points = h.discovered[0]
        assert [(a.id, a.level, a.parent) for a in assets] == [
            ("hall1", AssetLevel.AREA, None),
            ("hall1-s1", AssetLevel.EQUIPMENT, "hall1"),
        ]
        assert sorted(p.id for p in points) == [f"hall1-s1.{n}" for n in ("co2", "humidity", "setpoint", "temperature")]
        temp = next(p for p in points if p.local_id == "temperature")
        assert temp.unit == "DEG_C" and temp.datatype is DataType.FLOAT and temp.source == "mq"
        assert temp.address.topic == "plant/hall1/s1/telemetry" and temp.address.json_path == "$.temp"
        s = h.latest["hall1-s1.temperature"]
        assert s.quality is Quality.GOOD and s.source_ts.year == 2024  # the payload's timestamp (epoch ms)
        # later messages on a known topic update without discovering again
        client.publish("plant/hall1/s1/telemetry", reading(22.25, status="bad"))
        s = await h.wait_value("hall1-s1.temperature", 22.25)
        assert s.status == "Bad" and "reported quality 'bad'" in (s.reason or "")
        assert len(h.discovered) == 2
        assert h.adapter.counters["discovered_points"] == 8
    finally:
        await h.stop()


async def test_json_paths_feed_several_points_from_one_message(broker: Broker, client: TestClient) -> None:
    topic = "site/line1/plc/state"
    pts = [
        mqtt_point("line1.speed", topic=topic, json_path="$.drives[0].speed"),
        mqtt_point("line1.last", DataType.INT32, topic=topic, json_path="$.counts[-1]"),
        mqtt_point("line1.air", topic=topic, json_path="$['air quality'].pm25", timestamp_path="$.time"),
        mqtt_point("line1.on", DataType.BOOL, topic=topic, json_path="$.on"),
        mqtt_point("line1.name", DataType.STRING, topic=topic, json_path="$.name"),
    ]
    h = make_harness(broker.url, points=pts)
    await h.start()
    try:
        doc = {
            "drives": [{"speed": 1450.5}],
            "counts": [1, 2, 3],
            "air quality": {"pm25": 7},
            "time": "2024-05-01T12:00:00+02:00",
            "on": "true",
            "name": "Line 1",
        }
        client.publish(topic, json.dumps(doc))
        await h.wait_value("line1.name", "Line 1")
        assert h.value("line1.speed") == 1450.5
        assert h.value("line1.last") == 3
        assert h.value("line1.on") is True
        air = h.latest["line1.air"]
        assert air.value == 7 and air.source_ts.isoformat() == "2024-05-01T10:00:00+00:00"
        assert h.discovered == []
    finally:
        await h.stop()


async def test_plain_payloads_and_point_level_binding(broker: Broker, client: TestClient) -> None:
    rule = {
        "id": "plain",
        "topic": "plant/{area}/{sensor}/{measurement}",
        "payload": "plain",
        "profile": "test-plain-sensor",
        "point": "{measurement}",
    }
    static = mqtt_point("meter.power", topic="meters/m1/power", qos=2)
    h = make_harness(broker.url, rules=[rule], points=[static])
    await h.start()
    try:
        client.publish("plant/a1/s2/temperature", "21.5")
        client.publish("plant/a1/s2/running", "on")
        client.publish("plant/a1/s2/mode", "auto")
        client.publish("plant/a1/s2/unknown_thing", "1")  # names no point of the profile: ignored, counted
        client.publish("meters/m1/power", b" 12.75\n")
        await h.wait_value("a1-s2.mode", "auto")
        await h.wait_value("meter.power", 12.75)
        assert h.value("a1-s2.temperature") == 21.5
        assert h.value("a1-s2.running") is True
        ids = [p.id for _, pts in h.discovered for p in pts]
        assert ids == ["a1-s2.temperature", "a1-s2.running", "a1-s2.mode"]
        assert h.adapter.counters["ignored.plain"] == 1
        assert h.adapter.subscribed == {"plant/+/+/+": 1, "meters/m1/power": 2}  # QoS per subscription, granted
    finally:
        await h.stop()


async def test_write_back_publishes_the_command(broker: Broker, client: TestClient) -> None:
    h = make_harness(broker.url, rules=[RULE])
    await h.start()
    try:
        client.subscribe("plant/#")
        client.subscribe("valves/#")
        client.publish("plant/hall1/s1/telemetry", reading(21.5))
        await h.wait_value("hall1-s1.setpoint", 21.0)
        sp = h.adapter.points["hall1-s1.setpoint"]
        assert sp.writable
        result = await h.adapter.write(sp, 23.5)
        assert result.ok, result
        msg = await client.wait_message("plant/hall1/s1/telemetry/set")
        assert json.loads(msg.payload) == {"sp": 23.5}
        assert msg.qos == 1 and not msg.retain
        # a plain command template on an explicit point
        valve = mqtt_point(
            "v1.open",
            DataType.BOOL,
            topic="valves/v1/state",
            writable=True,
            command_topic="valves/{asset}/{point}/cmd",
            command_payload="{text}",
            command_retain=True,
        )
        h.adapter.add_points([valve])
        assert (await h.adapter.write(valve, True)).ok
        cmd = await client.wait_message("valves/v1/open/cmd")
        assert cmd.payload == b"true"
        late = TestClient(broker)  # a retained command reaches a device that subscribes later
        try:
            late.subscribe("valves/v1/open/cmd")
            kept = await late.wait_message("valves/v1/open/cmd")
            assert kept.payload == b"true" and kept.retain
        finally:
            late.close()
        assert h.adapter.counters["writes"] == 2
    finally:
        await h.stop()
    assert (await h.adapter.write(sp, 1.0)).status == "BadNoCommunication"
