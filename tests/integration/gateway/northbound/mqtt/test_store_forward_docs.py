"""docs/mqtt-north.md "Brokers and connection", "Store-and-forward" and "Metrics and health": the settings shown
load, the log line of a refused login is the service's own, and /health and /metrics show what the page says
(a real gateway with a sim source, the real UNS channel, a broker that is not there)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest

from gateway.config.loader import load_mappings
from gateway.northbound.mqtt.config import BufferSettings, MqttNorthConfig
from gateway.northbound.mqtt.link import BrokerLink
from gateway.northbound.mqtt.service import MqttNorth
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, free_port

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[5] / "docs" / "mqtt-north.md"
MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms}
sources:
  - {id: sim1, kind: sim, interval: 20ms}
assets:
  - {id: site, type: site, label: Site}
  - id: boiler1
    type: brick:Boiler
    parent: site
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: sine, offset: 60, amplitude: 5, period: 10s}}
"""


def section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    return text[start : text.index("\n## ", start + 1)]


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def test_the_broker_and_buffer_settings_shown_load() -> None:
    (broker_yaml,) = blocks(section("Brokers and connection"), "yaml")
    mapping = (
        MAPPING + "gateway:\n  mqtt:\n    brokers:\n" + "\n".join("      " + ln for ln in broker_yaml.splitlines())
    )
    model = load_mappings(["m.yaml"], texts={"m.yaml": mapping}, env={"MQTT_PASSWORD": "s3cret"})
    (broker,) = model.services["mqtt"].brokers
    assert broker.endpoint() == "mqtts://broker.plant.example:8883" and broker.protocol == "5"
    assert broker.password is not None and broker.password.get_secret_value() == "s3cret"
    assert (broker.reconnect.initial, broker.reconnect.max, broker.keepalive) == (0.5, 5.0, 30.0)
    (buffer_yaml,) = blocks(section("Store-and-forward"), "yaml")
    buffer = BufferSettings.model_validate(yaml.safe_load(buffer_yaml)["buffer"])
    assert (buffer.max_age, buffer.replay_rate) == (72 * 3600, 20_000)


async def test_a_refused_login_logs_the_line_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (line,) = blocks(section("Brokers and connection"), "text")
    b = Broker(tmp_path / "auth", users={"twinbridge": "the-right-one"})
    b.start()
    try:
        settings = MqttNorthConfig.model_validate(
            {
                "brokers": [
                    {"name": "plant", "url": b.url, "protocol": "5", "username": "twinbridge"}
                    | {"password": "a-wrong-one", "uns": {}}
                ]
            }
        ).brokers[0]
        link = BrokerLink(settings, [])
        with caplog.at_level(logging.WARNING, logger="twinbridge.mqtt_north"):
            link.start()
            await wait_for(lambda: bool(caplog.records), 5, "the log line")
            await link.stop()
        shown = line.strip().replace("mqtts://broker.plant.example:8883", b.url)
        assert f"{caplog.records[0].levelname} {caplog.records[0].name}: {caplog.records[0].getMessage()}" == shown
    finally:
        b.kill()


async def test_health_and_metrics_while_the_broker_is_away(tmp_path: Path) -> None:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
    await gw.start(services=False)
    port = free_port()
    config = MqttNorthConfig.model_validate(
        {
            "brokers": [
                {"name": "plant", "url": f"mqtt://127.0.0.1:{port}", "uns": {}, "buffer": {"path": str(tmp_path)}}
            ]
        }
    )
    svc = MqttNorth(config, gw.view)
    await svc.start()
    try:
        fw = svc.forwarders["plant"][0]
        await wait_for(lambda: fw.buffer.count > 5 and svc.links["plant"].last_error is not None, 5, "buffering")
        await asyncio.sleep(0.1)
        health = svc.health()
        (shown,) = blocks(section("Metrics and health"), "json")
        doc: dict[str, Any] = json.loads(shown.replace("1883", str(port)))
        real = {"ok": health.ok, "state": health.state, **health.detail}
        assert isinstance(real["brokers"]["plant"]["buffered"], int) and real["brokers"]["plant"]["buffered"] > 0
        real["brokers"]["plant"]["buffered"] = doc["brokers"]["plant"]["buffered"]
        assert real == doc
        text = generate_latest(gw.view.metrics).decode()
        table = section("Metrics and health").split("```json")[0]
        names = set(re.findall(r"`(twinbridge_mqtt_\w+)\{", table))
        assert len(names) == 12
        for name in names:
            assert re.search(rf"^{name}\{{", text, re.M), name
    finally:
        await svc.stop()
        await gw.stop()
