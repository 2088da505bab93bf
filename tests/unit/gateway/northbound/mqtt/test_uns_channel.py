"""The UNS channel on a real twin with a recording outbox (pure logic: the broker side is the integration tests'):
topics and payloads, metadata per connection and on run-time additions, collisions at run time, commands."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from adapters.contract.adapter import WriteResult
from adapters.contract.model import Asset, AssetLevel, Point
from adapters.contract.sample import PointState, Quality
from gateway.config.loader import load_mappings
from gateway.northbound.mqtt.config import MqttNorthConfig
from gateway.northbound.mqtt.uns import UnsChannel
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView
from tests.conftest import make_point, wait_for
from tests.unit.gateway.northbound.mqtt.mqtt_north_helpers import RecordingOutbox

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MAPPING = """\
twin: {base_iri: "http://t.local/"}
gateway:
  mqtt:
    brokers:
      - name: plant
        url: mqtt://127.0.0.1:1
        uns: UNS
sources:
  - {id: sim1, kind: sim}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - id: ahu1
    type: brick:AHU
    parent: hall
    label: AHU 1
    source: sim1
    points:
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float}
      - {id: fan, type: setpoint, class: brick:Fan_Speed_Command, unit: PERCENT, datatype: float, writable: true,
         min: 0, max: 100}
  - id: boiler1
    type: brick:Boiler
    parent: site
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float}
"""


@dataclass
class Plant:
    twin: Twin
    channel: UnsChannel
    out: RecordingOutbox
    writes: list[tuple[str, Any]]


async def _plant(uns: str = "{qos: 0, retain: false, commands: true}", *, role: str | None = None) -> Plant:
    model = load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("UNS", uns)})
    cfg: MqttNorthConfig = model.services["mqtt"]
    twin = Twin(model)
    writes: list[tuple[str, Any]] = []

    async def writer(point: Point, raw: Any) -> WriteResult:
        writes.append((point.id, raw))
        return WriteResult()

    twin.set_writer(writer)
    broker = cfg.brokers[0]
    assert broker.uns is not None
    settings = broker.uns if role is None else broker.uns.model_copy(update={"command_role": role})
    channel = UnsChannel(broker, settings, TwinView(twin))
    await channel.start()
    return Plant(twin, channel, RecordingOutbox(), writes)


@pytest.fixture
async def plant() -> AsyncIterator[Plant]:
    p = await _plant()
    yield p
    p.channel.close()


def _state(pid: str, value: Any) -> PointState:
    return PointState(pid, value, T0, T0, Quality.GOOD, "Good", None)


async def test_values_become_one_message_per_point_with_the_settings_qos_and_retain(plant: Plant) -> None:
    ch = plant.channel
    assert ch.points == {"ahu1.sat", "ahu1.fan", "boiler1.temp"}
    states = [_state("ahu1.sat", 20.5), _state("nope.x", 1.0), _state("boiler1.temp", 70.0)]
    messages = ch.encode(states, historical=False)
    assert [(m.topic, m.qos, m.retain) for m in messages] == [
        ("twinbridge/site/hall/ahu1/sat", 0, False),
        ("twinbridge/site/boiler1/temp", 0, False),
    ]
    assert json.loads(messages[0].payload)["value"] == 20.5
    replayed = ch.encode([_state("ahu1.sat", 20.5)], historical=True)
    assert replayed == messages[:1]  # a replayed value looks exactly like a live one


async def test_defaults_retain_at_qos_1() -> None:
    p = await _plant("{}")
    (m,) = p.channel.encode([_state("ahu1.sat", 1.0)], historical=False)
    assert (m.qos, m.retain) == (1, True)
    assert p.channel.subscriptions() == []  # no commands unless asked


async def test_each_connection_publishes_the_metadata_of_every_asset_retained(plant: Plant) -> None:
    ch, out = plant.channel, plant.out
    flips: list[bool] = []
    ch.on_ready_change = flips.append
    assert not ch.ready()
    ch.on_connected(out)
    assert ch.ready() and flips == [True]
    metas = {m.topic: m for m in out.sent}
    assert set(metas) == {
        "twinbridge/site/_meta",
        "twinbridge/site/hall/_meta",
        "twinbridge/site/hall/ahu1/_meta",
        "twinbridge/site/boiler1/_meta",
    }
    assert all(m.retain and m.qos == 1 for m in metas.values())
    ahu = json.loads(metas["twinbridge/site/hall/ahu1/_meta"].payload)
    assert (ahu["iri"], ahu["label"], ahu["classes"], ahu["path"]) == (
        "http://t.local/asset/ahu1",
        "AHU 1",
        ["brick:AHU"],
        ["site", "hall"],
    )
    assert [(p["id"], p["topic"], p.get("command_topic")) for p in ahu["points"]] == [
        ("ahu1.sat", "twinbridge/site/hall/ahu1/sat", None),
        ("ahu1.fan", "twinbridge/site/hall/ahu1/fan", "twinbridge/site/hall/ahu1/fan/set"),
    ]
    ch.on_disconnected()
    assert not ch.ready() and flips == [True, False]
    out.sent.clear()
    ch.on_connected(out)  # once per connection
    assert len(out.sent) == 4 and ch.counters["meta_published"] == 8


async def test_points_added_at_run_time_get_topics_and_metadata_and_a_collision_is_left_out(
    plant: Plant, caplog: pytest.LogCaptureFixture
) -> None:
    ch, out = plant.channel, plant.out
    ch.on_connected(out)
    out.sent.clear()
    caplog.set_level(logging.WARNING, "twinbridge.mqtt.north")
    tank = Asset("tank1", AssetLevel.EQUIPMENT, (), "Tank 1", parent="site")
    plant.twin.add([tank], [make_point("tank1.level", unit="M")])
    await wait_for(lambda: "tank1.level" in ch.points, what="the new point picked")
    assert [m.topic for m in out.sent] == ["twinbridge/site/_meta", "twinbridge/site/tank1/_meta"]
    assert ch.encode([_state("tank1.level", 2.0)], historical=False)[0].topic == "twinbridge/site/tank1/level"
    # a discovered point whose topic is taken (its id sanitized onto another's): logged once, counted, not published
    plant.twin.add([], [make_point("tank1.a+b")])
    await wait_for(lambda: "tank1.a+b" in ch.points, what="the first one published")
    plant.twin.add([], [make_point("tank1.a#b")])
    await wait_for(lambda: ch.counters["topic_collisions"] == 1, what="the collision counted")
    ch.add_points(["tank1.a#b"])  # asked again: still left out, not logged twice
    assert ch.counters["topic_collisions"] == 1 and "tank1.a#b" not in ch.points
    assert ch.encode([_state("tank1.a#b", 3.0)], historical=False) == []
    warnings = [r.getMessage() for r in caplog.records if "would both publish" in r.getMessage()]
    assert warnings == [
        "UNS on plant: point 'tank1.a+b' and point 'tank1.a#b' would both publish on 'twinbridge/site/tank1/a_b'; "
        "the second is not published (change the topic template)"
    ]


async def test_command_filters_cover_every_depth_below_the_prefix(plant: Plant) -> None:
    filters = [f for f, _ in plant.channel.subscriptions()]
    assert filters[0] == "twinbridge/+/set" and filters[-1] == "twinbridge/+/+/+/+/+/+/+/+/set"
    assert all(q == 1 for _, q in plant.channel.subscriptions())


async def _command(plant: Plant, topic: str, payload: bytes, properties: Any = None, **kw: Any) -> dict[str, Any]:
    before = len(plant.out.sent)
    await plant.channel.on_message(topic, payload, properties, plant.out, **kw)
    await plant.channel.commands.drain()
    assert len(plant.out.sent) == before + 1, plant.out.sent[before:]
    return json.loads(plant.out.sent[-1].payload)


FAN = "twinbridge/site/hall/ahu1/fan/set"


async def test_a_command_is_written_through_the_twin_and_answered(plant: Plant) -> None:
    answer = await _command(plant, FAN, b'{"value": 55.5, "id": "req-1"}')
    assert plant.writes == [("ahu1.fan", 55.5)]
    assert answer == {"point": "ahu1.fan", "ok": True, "status": "Good", "reason": None, "id": "req-1", "value": 55.5}
    assert plant.out.sent[-1].topic == FAN + "/result" and not plant.out.sent[-1].retain
    assert (await _command(plant, FAN, b"42"))["ok"]  # a bare JSON value
    assert (await _command(plant, FAN, b" 43 "))["ok"]
    assert plant.writes[1:] == [("ahu1.fan", 42), ("ahu1.fan", 43)]
    assert plant.channel.counters["commands_ok"] == 3


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "the payload is empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"val": 3, "id": 7}', "unknown key(s) val"),
        (b'{"id": "x"}', "no value"),
        (b"[1, 2]", "a list is not a value"),
        (b'{"value": {"a": 1}}', "the value must be a number, true/false or text"),
        (b'{"value": 1, "id": [1]}', "id must be a string or a number"),
    ],
)
async def test_a_malformed_command_is_answered_with_the_reason_counted_and_never_applied(
    plant: Plant, payload: bytes, reason: str
) -> None:
    answer = await _command(plant, FAN, payload)
    assert (answer["ok"], answer["status"]) == (False, "BadDecodingError") and reason in answer["reason"]
    assert plant.writes == [] and plant.channel.counters["commands_malformed"] == 1
    if payload == b'{"val": 3, "id": 7}':
        assert answer["id"] == 7  # the correlation id is returned whenever it could be read


async def test_refusals_from_the_twin_and_for_retained_commands(plant: Plant) -> None:
    high = await _command(plant, FAN, b'{"value": 150}')
    assert (high["status"], high["reason"]) == ("BadOutOfRange", "150 is above the maximum 100 of ahu1.fan")
    text = await _command(plant, FAN, b"fast")  # plain text: the twin says whether it fits the datatype
    assert (text["status"], text["value"]) == ("BadTypeMismatch", "fast")
    ro = await _command(plant, "twinbridge/site/boiler1/temp/set", b"1")
    assert (ro["point"], ro["status"]) == ("boiler1.temp", "BadNotWritable")
    retained = await _command(plant, FAN, b"50", retained=True)
    assert retained["status"] == "BadDecodingError" and "retained" in retained["reason"]
    unknown = await _command(plant, "twinbridge/site/nowhere/set", b"1")
    assert (unknown["point"], unknown["status"]) == (None, "BadNodeIdUnknown")
    assert plant.writes == []
    assert plant.channel.counters["commands_refused"] == 4


async def test_an_echo_of_a_value_topic_or_a_foreign_topic_is_ignored(plant: Plant) -> None:
    plant.channel.namespace.owners["twinbridge/site/x/set"] = "point 'x.set'"  # a point whose id is "set"
    await plant.channel.on_message("twinbridge/site/x/set", b"1", None, plant.out)
    await plant.channel.on_message("elsewhere/a/set", b"1", None, plant.out)
    await plant.channel.on_message("twinbridge/site/hall/ahu1/fan", b"1", None, plant.out)
    assert plant.out.sent == []


async def test_a_reader_role_refuses_every_command() -> None:
    p = await _plant("{commands: true}", role="reader")  # validation refuses it too (test_checks)
    answer = await _command(p, FAN, b"10")
    assert (answer["ok"], answer["status"]) == (False, "BadUserAccessDenied") and p.writes == []


async def test_mqtt5_response_topic_and_correlation_data(plant: Plant) -> None:
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "clients/hmi7/replies"
    props.CorrelationData = b"\x00\x01corr"
    answer = await _command(plant, FAN, b'{"value": 12}', props)
    sent = plant.out.sent[-1]
    assert sent.topic == "clients/hmi7/replies" and sent.properties.CorrelationData == b"\x00\x01corr"
    assert answer["ok"] and answer["id"] is None
