"""docs/mqtt-north.md "Example": the topics the page lists are what the UNS channel publishes for its mapping,
the Sparkplug node's devices are what its ``select:`` picks, and the demo's section shown there is the demo's."""

from __future__ import annotations

from pathlib import Path

import yaml
from paho.mqtt.client import topic_matches_sub

from gateway.config.loader import load_mappings
from gateway.northbound.mqtt.sparkplug_edge import SparkplugEdge
from gateway.northbound.mqtt.uns import UnsChannel
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView
from tests.unit.gateway.northbound.mqtt.mqtt_north_helpers import RecordingOutbox, code_blocks, doc_section

ROOT = Path(__file__).resolve().parents[5]
DEMO = ROOT / "examples" / "demo" / "plant.yaml"


async def test_the_example_publishes_the_topics_and_devices_the_page_shows(tmp_path: Path) -> None:
    section = doc_section("Example")
    mapping, demo_fragment = code_blocks(section, "yaml")
    model = load_mappings(["example.yaml"], texts={"example.yaml": mapping}, env={"UNS_PASSWORD": "secret"})
    view = TwinView(Twin(model))
    uns_broker, scada = model.services["mqtt"].brokers

    uns = UnsChannel(uns_broker, uns_broker.uns, view)
    await uns.start()
    out = RecordingOutbox()
    uns.on_connected(out)
    (topics,) = code_blocks(section, "text")
    published = {m.topic for m in out.sent} | set(uns.namespace.point_topics.values())
    assert published == set(topics.split())
    assert all(m.retain for m in out.sent)  # _meta: seen at once by a late subscriber
    command = uns.namespace.point_topics["boiler1.setpoint"] + "/set"
    assert command == "acme/north/north/boilerhouse/boiler1/setpoint/set"
    assert any(topic_matches_sub(flt, command) for flt, _ in uns.subscriptions())  # commands: true

    edge = SparkplugEdge(scada, scada.sparkplug, view, tmp_path)
    await edge.start()
    assert set(edge.catalog.devices) == {"boiler1"}  # select: under boilerhouse leaves the machine out
    assert edge.points == {"boiler1.supply_temp", "boiler1.setpoint"}

    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))["gateway"]["mqtt"]
    assert yaml.safe_load(demo_fragment)["mqtt"] == demo
