"""The demo publishes its twin on its own broker. As a Unified Namespace: a subscriber that joins after start-up,
with the filter the banner prints, sees at once (retained) a value topic for a point of every protocol — the
Modbus boiler, the OPC UA machine and a room sensor the MQTT rule discovered at run time — under the asset path,
with unit, quality and times, and each asset's ``_meta`` with its class, label and IRI; then live values that
match the twin's. As a Sparkplug B edge node: a host that starts late (the tests' independent host) asks for a
rebirth and gets the node and a device per asset with typed, unit-carrying metrics, then DDATA by alias."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import paho.mqtt.client as paho
import pytest

from gateway.demo_plant.runner import Demo
from tests.conftest import wait_for
from tests.integration.gateway.northbound.mqtt.sparkplug_host import SparkplugHost

pytestmark = pytest.mark.asyncio(loop_scope="module")

BOILER = "boiler1.supply_temp"
TOPICS = {  # point -> its UNS topic under the prefix: <site>/<area>/<equipment>/<point>
    BOILER: "site/boilerhouse/boiler1/supply_temp",  # Modbus
    "machine1.spindle_speed": "site/workshop/machine1/spindle_speed",  # OPC UA
    "hall-s1.temperature": "site/hall/hall-s1/temperature",  # MQTT, discovered at run time
}


class Watcher:
    """A paho subscriber keeping every message by topic: (payload, retained) in arrival order."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        self.messages: dict[str, list[tuple[bytes, bool]]] = {}
        self._lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_a: c.subscribe(topic_filter, qos=1)
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.setdefault(msg.topic, []).append((bytes(msg.payload), bool(msg.retain)))

    def of(self, topic: str) -> list[tuple[bytes, bool]]:
        with self._lock:
            return list(self.messages.get(topic, []))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def banner_watch(plant: Demo) -> Iterator[tuple[str, Watcher]]:
    """The banner's ``mosquitto_sub`` line, followed by a paho client (the prefix, and the watcher)."""
    line = re.search(r"mosquitto_sub -h (\S+) -p (\d+) -t '([^']+)' -v", plant.banner())
    assert line is not None, plant.banner()
    host, port, topic_filter = line.group(1), int(line.group(2)), line.group(3)
    assert (host, port) == (plant.mqtt.host, plant.mqtt.port) and topic_filter.endswith("/#")
    w = Watcher(host, port, topic_filter)
    yield topic_filter.removesuffix("/#"), w
    w.close()


def _payload(w: Watcher, topic: str, *, retained: bool) -> dict[str, Any] | None:
    got = [json.loads(p) for p, r in w.of(topic) if r == retained]
    return got[-1] if got else None


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_the_demo_publishes_its_twin_as_a_uns_on_its_broker(
    plant: Demo, banner_watch: tuple[str, Watcher]
) -> None:
    prefix, w = banner_watch
    assert prefix == "twinbridge/demo"
    twin = plant.gateway.twin  # type: ignore[union-attr]
    topics = {pid: f"{prefix}/{t}" for pid, t in TOPICS.items()}
    meta = f"{prefix}/site/boilerhouse/boiler1/_meta"
    # a subscriber joining late sees the plant at once: retained values of every protocol and the metadata
    await wait_for(
        lambda: all(_payload(w, t, retained=True) for t in [*topics.values(), meta]), 10, "retained UNS topics"
    )
    for pid, topic in topics.items():
        doc = _payload(w, topic, retained=True)
        assert doc is not None and isinstance(doc["value"], float), (topic, doc)
        assert (doc["quality"], doc["status"], doc["status_code"]) == ("good", "Good", 0), (topic, doc)
        assert _seconds(doc["server_time"]) >= _seconds(doc["source_time"]) - 5, doc
        assert doc["unit"]["name"] == twin.model.points[pid].unit, (topic, doc)
    assert _payload(w, topics[BOILER], retained=True)["unit"] == {  # type: ignore[index]
        "name": "DEG_C",
        "iri": "http://qudt.org/vocab/unit/DEG_C",
        "symbol": "°C",
    }

    boiler = _payload(w, meta, retained=True)
    assert boiler is not None
    assert boiler["iri"] == "http://demo.twinbridge.local/asset/boiler1" and boiler["label"] == "Boiler 1"
    assert "brick:Boiler" in boiler["classes"]
    point = next(p for p in boiler["points"] if p["id"] == BOILER)
    assert point["topic"] == topics[BOILER] and "brick:Supply_Water_Temperature_Sensor" in point["classes"]
    assert point["unit"]["symbol"] == "°C" and (point["min"], point["max"]) == (0, 110)
    assert not any(t.endswith("/set") for t in w.messages), "the demo takes no MQTT commands"

    # then live values (not retained), equal to the twin's: the PLC is polled every 500 ms
    def live_matches_twin() -> bool:
        doc = _payload(w, topics[BOILER], retained=False)
        state = twin.state(BOILER)
        return (
            doc is not None
            and doc["value"] == state.value
            and state.source_ts is not None
            and abs(_seconds(doc["source_time"]) - state.source_ts.timestamp()) < 1e-3
        )

    await wait_for(live_matches_twin, 10, "a live boiler value equal to the twin's")
    room = topics["hall-s1.temperature"]
    await wait_for(lambda: _payload(w, room, retained=False) is not None, 5, "a live room sensor value")
    hall = _payload(w, room, retained=False) or {}
    assert hall["unit"]["name"] == "DEG_C" and hall["quality"] == "good"


async def test_the_demo_is_a_sparkplug_edge_node_a_late_host_can_rebirth(plant: Demo) -> None:
    [(url, group, node)] = plant.sparkplug_nodes()
    assert (group, node) == ("twinbridge", "demo") and f"edge node {group}/{node} on {url}" in plant.banner()
    host = SparkplugHost(plant.mqtt.port, host_id="demo-test")
    host.start()
    try:
        host.request_rebirth(group, node)  # births are not retained: a host that comes late asks for them
        seen = host.node(group, node)
        await host.wait(lambda: seen.online and {"boiler1", "machine1", "hall-s1"} <= set(seen.devices), 10, "births")
        before = len(seen.problems)  # DDATA it got before asking, while the node was unknown to it
        boiler = seen.devices["boiler1"].metrics["supply_temp"]
        assert boiler.datatype == 9 and boiler.alias is not None  # Float, with an alias for DDATA
        assert boiler.properties["engUnit"][1] == "°C" and boiler.properties["engHigh"][1] == 110
        assert seen.devices["machine1"].metrics["spindle_speed"].datatype == 10  # Double, from OPC UA
        await host.wait(lambda: len(host.values(group, node, "boiler1", "supply_temp")) >= 2, 5, "DDATA by alias")
        assert seen.problems[before:] == []  # since the births: no seq gap, no unknown alias
    finally:
        host.close()
