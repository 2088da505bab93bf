"""Faults: the broker killed and restarted mid-run, persistent sessions across a gateway restart, credentials."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from mqtt_helpers import Broker, TestClient, make_harness, mqtt_point, wait_until

from adapters.contract.adapter import AdapterDisconnected, AdapterUnavailable, ConnectionState
from adapters.contract.model import DataType
from adapters.contract.sample import Quality
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway

pytestmark = pytest.mark.integration


async def test_broker_killed_and_restarted_is_recovered_and_resubscribed(broker: Broker) -> None:
    h = make_harness(
        broker.url,
        points=[mqtt_point("m.v", topic="m/v")],
        rules=[{"id": "env", "topic": "plant/{area}/{sensor}/telemetry", "profile": "mqtt-env-sensor"}],
    )
    await h.start()
    pub = TestClient(broker)
    try:
        pub.publish("m/v", "1")
        await h.wait_value("m.v", 1.0)
        pub.close()
        broker.kill()
        await wait_until(lambda: isinstance(h.error, AdapterDisconnected), 5, "AdapterDisconnected")
        assert "connection to mqtt://127.0.0.1" in str(h.error)
        await h.adapter.stop()
        with pytest.raises(AdapterUnavailable) as exc:
            await h.adapter.start()
        assert exc.value.retryable
        broker.start()  # same port; clean sessions: subscriptions must be made again by start()
        await h.start()
        pub = TestClient(broker)
        pub.publish("m/v", "2")
        pub.publish("plant/a/s1/telemetry", json.dumps({"temp": 5, "hum": 1, "co2": 2, "sp": 3, "ts": 1, "status": 1}))
        await h.wait_value("m.v", 2.0)
        await h.wait_value("a-s1.temperature", 5)
    finally:
        pub.close()
        await h.stop()


async def test_silent_broker_is_detected_by_keepalive(broker: Broker) -> None:
    h = make_harness(broker.url, points=[mqtt_point("m.v", topic="m/v")], keepalive=1)
    await h.start()
    try:
        t0 = time.monotonic()
        broker.freeze()  # the TCP connection stays up, but no PINGRESP comes back
        await wait_until(lambda: isinstance(h.error, AdapterDisconnected), 6, "keep-alive timeout")
        assert time.monotonic() - t0 < 5
    finally:
        broker.freeze(False)
        await h.stop()


MAPPING = """\
twin: {name: t, base_iri: "http://t.local/", flush_interval: 50ms}
sources:
  - id: mq
    kind: mqtt
    url: "mqtt://127.0.0.1:PORT"
    on_disconnect: uncertain
    reconnect: {initial: 50ms, max: 300ms}
    rules:
      - {id: env, topic: "plant/{area}/{sensor}/telemetry", profile: mqtt-env-sensor, parent: "{area}"}
assets:
  - {id: site, type: site, label: Site}
  - id: meter
    parent: site
    source: mq
    points:
      - {id: power, unit: KiloW, datatype: double, address: {topic: "meters/m1", json_path: "$.p"}}
"""


async def test_gateway_marks_points_and_recovers_when_the_broker_restarts(broker: Broker) -> None:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("PORT", str(broker.port))}))
    await gw.start(services=False)
    pub = TestClient(broker)
    try:
        twin = gw.twin
        sup = gw.supervisors["mq"]
        await wait_until(lambda: sup.state is ConnectionState.CONNECTED, 5, "connected")
        pub.publish("meters/m1", '{"p": 3.5}')
        pub.publish(
            "plant/hall/s9/telemetry",
            json.dumps({"temp": 20.0, "hum": 50, "co2": 400, "sp": 21, "ts": 1718000000, "status": "ok"}),
        )
        await wait_until(
            lambda: "hall-s9.temperature" in twin.model.points and twin.state("hall-s9.temperature").value == 20.0,
            5,
            "discovered point in the twin",
        )
        assert twin.model.assets["hall-s9"].parent == "hall"
        await wait_until(lambda: twin.state("meter.power").value == 3.5, 5, "meter value")
        pub.close()
        broker.kill()
        # on_disconnect: uncertain -> last values kept, marked Uncertain with the reason (discovered points too)
        await wait_until(lambda: twin.state("hall-s9.temperature").status == "UncertainLastUsableValue", 5, "uncertain")
        st = twin.state("meter.power")
        assert st.quality is Quality.UNCERTAIN and st.value == 3.5 and "BadCommunicationError" in (st.reason or "")
        broker.start()
        await wait_until(lambda: sup.state is ConnectionState.CONNECTED, 10, "reconnected")
        pub = TestClient(broker)
        pub.publish("meters/m1", '{"p": 4.25}')
        await wait_until(lambda: twin.state("meter.power").value == 4.25, 5, "value after recovery")
        assert twin.state("meter.power").quality is Quality.GOOD and sup.reconnects >= 1
        info = sup.info()
        assert info["counters"]["discovered_points"] == 4 and info["details"]["subscriptions"]
    finally:
        pub.close()
        await gw.stop()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_persistent_session_qos1_loses_nothing_across_a_gateway_restart(broker: Broker, protocol: str) -> None:
    cfg = {"client_id": f"tb-persist-{protocol}", "clean_session": False, "qos": 1, "protocol": protocol}
    point = mqtt_point("c.n", DataType.INT32, topic="counter/n")
    first = make_harness(broker.url, points=[point], **cfg)
    await first.start()
    pub = TestClient(broker)
    try:
        pub.publish("counter/n", "0", qos=1)
        await first.wait_value("c.n", 0)
        await first.stop()  # the gateway goes down; the broker keeps the session
        for i in range(1, 101):
            pub.publish("counter/n", str(i), qos=1)
        second = make_harness(broker.url, points=[point], **cfg)  # a new process: new adapter, same client id
        await second.start()
        try:
            await second.wait_value("c.n", 100)
            assert [s.value for s in second.samples] == list(range(1, 101))
        finally:
            await second.stop()
    finally:
        pub.close()


async def test_clean_session_does_not_get_old_messages(broker: Broker) -> None:
    point = mqtt_point("c.n", DataType.INT32, topic="counter/n")
    first = make_harness(broker.url, points=[point], client_id="tb-clean")
    await first.start()
    await first.stop()
    pub = TestClient(broker)
    pub.publish("counter/n", "7", qos=1)
    second = make_harness(broker.url, points=[point], client_id="tb-clean")
    await second.start()
    try:
        pub.publish("counter/n", "8", qos=1)
        await second.wait_value("c.n", 8)
        assert [s.value for s in second.samples] == [8]
    finally:
        pub.close()
        await second.stop()


async def test_username_password_from_env_and_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "s3cr3t-Pa55"
    b = Broker(tmp_path / "auth", users={"gw": secret})
    b.start()
    try:
        text = MAPPING.replace("PORT", str(b.port)).replace(
            "    on_disconnect: uncertain\n", "    username: gw\n    password: ${MQTT_PW}\n"
        )
        model = load_mappings(["m.yaml"], texts={"m.yaml": text}, env={"MQTT_PW": secret})
        cfg = model.sources["mq"]
        assert secret not in repr(cfg) and secret not in cfg.model_dump_json()
        good = make_harness(b.url, username="gw", password=secret)
        await good.start()
        assert secret not in json.dumps(good.adapter.describe())
        await good.stop()
        bad = make_harness(b.url, username="gw", password="wrong")
        with pytest.raises(AdapterUnavailable) as exc:
            await bad.adapter.start()
        assert not exc.value.retryable and exc.value.status == "BadUserAccessDenied"
        assert secret not in caplog.text and "wrong" not in str(exc.value)
    finally:
        b.kill()
