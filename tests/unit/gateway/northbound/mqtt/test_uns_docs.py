"""docs/mqtt-north.md shows what the UNS really publishes: its mapping's topics, a value (good and bad), the _meta
of an asset and the answers to commands are made here from the same mapping and compared with the page."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from adapters.contract.adapter import WriteResult
from adapters.contract.model import Point
from adapters.contract.sample import PointState, Quality
from gateway.config.loader import load_mappings
from gateway.northbound.mqtt.uns import UnsChannel
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView
from tests.unit.gateway.northbound.mqtt.mqtt_north_helpers import RecordingOutbox, code_blocks, doc_section


async def _channel() -> UnsChannel:
    (mapping,) = code_blocks(doc_section("Unified Namespace"), "yaml")
    model = load_mappings(["uns.yaml"], texts={"uns.yaml": mapping})
    twin = Twin(model)

    async def device(point: Point, raw: Any) -> WriteResult:
        return WriteResult()

    twin.set_writer(device)
    broker = model.services["mqtt"].brokers[0]
    channel = UnsChannel(broker, broker.uns, TwinView(twin))
    await channel.start()
    return channel


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_the_topics_values_and_metadata_on_the_page() -> None:
    channel = await _channel()
    section = doc_section("Unified Namespace")
    (topics,) = code_blocks(section, "text")
    out = RecordingOutbox()
    channel.on_connected(out)
    shown = set(topics.split())
    assert shown == {m.topic for m in out.sent} | set(channel.namespace.point_topics.values())
    good, bad, meta = (json.loads(b) for b in code_blocks(section, "json"))
    for doc in (good, bad):
        state = PointState(
            "boiler1.supply_temp",
            doc["value"],
            _time(doc["source_time"]),
            _time(doc["server_time"]),
            Quality[doc["quality"].upper()],
            doc["status"],
            doc.get("reason"),
        )
        (message,) = channel.encode([state], historical=False)
        assert message.topic == "acme/site1/boilerhouse/boiler1/supply_temp"
        assert json.loads(message.payload) == doc
    assert [json.loads(m.payload) for m in out.sent if m.topic == meta["topic"] + "/_meta"] == [meta]


async def test_the_command_answers_on_the_page() -> None:
    channel = await _channel()
    section = doc_section("Commands")
    (commands,) = code_blocks(section, "text")
    first = re.search(r"-t (\S+) -m '(.*)'", commands)
    assert first is not None
    ok, refused = (json.loads(b) for b in code_blocks(section, "json"))
    out = RecordingOutbox()
    await channel.on_message(first.group(1), first.group(2).encode(), None, out)
    refusal = json.dumps({"value": refused["value"], "id": refused["id"]}).encode()
    await channel.on_message(first.group(1), refusal, None, out)
    await channel.commands.drain()
    assert [json.loads(m.payload) for m in out.sent] == [ok, refused]
    assert {m.topic for m in out.sent} == {first.group(1) + "/result"}
