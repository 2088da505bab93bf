"""Every kind of bad message is counted per rule, makes only its own points Bad/Uncertain, and stops nothing."""

from __future__ import annotations

import json
import logging

import pytest
from mqtt_helpers import Broker, TestClient, make_harness, mqtt_point, wait_until

from adapters.contract.model import DataType
from adapters.contract.sample import Quality

pytestmark = pytest.mark.integration

RULE = {"id": "env", "topic": "plant/{area}/{sensor}/telemetry", "profile": "mqtt-env-sensor"}
GOOD = {"temp": 21.5, "hum": 40.5, "co2": 600, "sp": 21.0, "ts": 1718000000, "status": "ok"}


async def test_each_bad_message_is_counted_and_isolated(
    broker: Broker, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="test.mqtt")
    plain = mqtt_point("m1.power", topic="meters/m1/power")
    h = make_harness(broker.url, rules=[RULE], points=[plain])
    await h.start()
    try:
        bad_topic, good_topic = "plant/a/s1/telemetry", "plant/a/s2/telemetry"
        client.publish(bad_topic, json.dumps(GOOD))
        client.publish(good_topic, json.dumps(GOOD))
        await h.wait_value("a-s1.temperature", 21.5)
        await h.wait_value("a-s2.temperature", 21.5)

        # invalid JSON: every point of that topic Bad, the other sensor keeps updating
        client.publish(bad_topic, b'{"temp": 21.5,')
        client.publish(good_topic, json.dumps({**GOOD, "temp": 22.0}))
        s = await h.wait_status("a-s1.humidity", "BadDecodingError")
        assert s.quality is Quality.BAD and "invalid JSON" in (s.reason or "")
        await h.wait_value("a-s2.temperature", 22.0)
        assert h.latest["a-s2.temperature"].quality is Quality.GOOD

        # missing path: only the point whose member is missing
        client.publish(bad_topic, json.dumps({k: v for k, v in GOOD.items() if k != "co2"}))
        s = await h.wait_status("a-s1.co2", "BadNoData")
        assert s.reason == "no $.co2 in the message"
        await h.wait_value("a-s1.temperature", 21.5)
        assert h.latest["a-s1.temperature"].quality is Quality.GOOD

        # wrong type: an object where a number belongs
        client.publish(bad_topic, json.dumps({**GOOD, "hum": {"value": 3}}))
        s = await h.wait_status("a-s1.humidity", "BadTypeMismatch")
        assert '{"value": 3}' in (s.reason or "") and "float" in (s.reason or "")

        # unreadable timestamp: value kept, Uncertain, receive time used
        client.publish(bad_topic, json.dumps({**GOOD, "temp": 30.0, "ts": "yesterday"}))
        s = await h.wait_value("a-s1.temperature", 30.0)
        assert s.quality is Quality.UNCERTAIN and "timestamp $.ts unreadable" in (s.reason or "")

        # plain payloads: not UTF-8, then not a number
        client.publish("meters/m1/power", b"\xff\xfe")
        await h.wait_status("m1.power", "BadDecodingError")
        client.publish("meters/m1/power", b"n/a")
        s = await h.wait_status("m1.power", "BadTypeMismatch")
        assert "'n/a'" not in (s.reason or "") and '"n/a"' in (s.reason or "")

        # recovery: a good message makes everything Good again and is logged once
        client.publish(bad_topic, json.dumps(GOOD))
        client.publish("meters/m1/power", b"5")
        await h.wait_value("m1.power", 5.0)
        await h.wait_value("a-s1.temperature", 21.5)
        await h.wait_value("a-s1.co2", 600)
        assert all(h.latest[f"a-s1.{n}"].quality is Quality.GOOD for n in ("temperature", "humidity", "co2"))

        c = h.adapter.counters
        assert c["bad_messages.env"] == 4 and c["bad_messages.points"] == 2
        assert c["bad_invalid_json"] == 1 and c["bad_missing_path"] == 1 and c["bad_wrong_type"] == 2
        assert c["bad_undecodable"] == 1 and c["bad_bad_timestamp"] == 1
        assert h.error is None and h.task is not None and not h.task.done()
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert sum("invalid JSON" in w for w in warnings) == 1
        assert any("readable again" in r.getMessage() for r in caplog.records)
    finally:
        await h.stop()


async def test_repeated_bad_messages_log_once_and_uncertain_mode_keeps_values(
    broker: Broker, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="test.mqtt")
    p = mqtt_point("t1.temp", DataType.FLOAT, topic="t/1", json_path="$.v")
    h = make_harness(broker.url, points=[p], on_bad_message="uncertain")
    await h.start()
    try:
        client.publish("t/1", '{"v": 1.5}')
        await h.wait_value("t1.temp", 1.5)
        for _ in range(20):
            client.publish("t/1", "garbage")
        await wait_until(lambda: h.adapter.counters.get("bad_messages.points", 0) == 20, 5, "20 bad messages")
        s = h.latest["t1.temp"]
        assert s.quality is Quality.UNCERTAIN and s.status == "UncertainLastUsableValue"
        assert s.value is None and (s.reason or "").startswith("BadDecodingError: invalid JSON")
        assert sum("invalid JSON" in r.getMessage() for r in caplog.records) == 1
    finally:
        await h.stop()
