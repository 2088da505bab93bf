"""The Sparkplug edge node as a channel, on a real twin with a recording outbox (no broker): session numbers,
births, primary host STATE, rebirth, DCMD writes and historical replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.contract.adapter import WriteResult
from adapters.contract.model import Asset, AssetLevel, DataType, Point
from adapters.contract.sample import PointState, Quality, Sample
from gateway.northbound.mqtt.channel import Message
from gateway.northbound.mqtt.config import MqttBroker
from gateway.northbound.mqtt.sparkplug_births import alias_of
from gateway.northbound.mqtt.sparkplug_edge import SparkplugEdge
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView
from protocols.sparkplug import codec
from tests.conftest import make_model, make_point
from tests.unit.gateway.northbound.mqtt.mqtt_north_helpers import RecordingOutbox

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NS = "spBv1.0/plant"


class Outbox(RecordingOutbox):
    """Records what the channel publishes, and names each message by its Sparkplug type (and device)."""

    def kinds(self) -> list[str]:
        return [
            m.topic.split("/")[2] + ("/" + m.topic.split("/")[4] if m.topic.count("/") == 4 else "") for m in self.sent
        ]


def _twin() -> Twin:
    return Twin(
        make_model(
            [
                make_point("boiler.temp", min=0, max=120),
                make_point("boiler.setpoint", writable=True, min=20, max=90),
                make_point("pump.on", datatype=DataType.BOOL, unit=None, writable=True),
            ]
        )
    )


def _edge(twin: Twin, tmp_path: Path, **sp: Any) -> SparkplugEdge:
    broker = MqttBroker.model_validate(
        {"name": "site", "url": "mqtt://127.0.0.1:1883", "sparkplug": {"group": "plant", "node": "gw1", **sp}}
    )
    assert broker.sparkplug is not None
    return SparkplugEdge(broker, broker.sparkplug, TwinView(twin), tmp_path)


def _seqs(messages: list[Message]) -> list[int]:
    return [codec.decode(m.payload).seq for m in messages]


def _bdseq(message: Message) -> int:
    return next(m.long_value for m in codec.decode(message.payload).metrics if m.name == "bdSeq")


async def test_births_after_connect_with_the_wills_bdseq_then_data_with_wrapping_seq(tmp_path: Path) -> None:
    twin = _twin()
    twin.apply(Sample("boiler.temp", 65.0, T0))
    edge = _edge(twin, tmp_path)
    await edge.start()
    assert edge.points == {"boiler.temp", "boiler.setpoint", "pump.on"}
    assert (NS + "/NCMD/gw1", 1) in edge.subscriptions() and (NS + "/DCMD/gw1/+", 1) in edge.subscriptions()
    will = edge.will()
    assert (will.topic, will.qos, will.retain, _bdseq(will)) == (NS + "/NDEATH/gw1", 1, False, 0)
    flips: list[bool] = []
    edge.on_ready_change = flips.append
    assert not edge.ready()
    out = Outbox()
    edge.on_connected(out)
    assert edge.ready() and flips == [True]
    assert out.kinds() == ["NBIRTH", "DBIRTH/boiler", "DBIRTH/pump"]
    assert _seqs(out.sent) == [0, 1, 2] and all(m.qos == 0 and not m.retain for m in out.sent)
    assert _bdseq(out.sent[0]) == 0  # the will's
    temp = next(m for m in codec.decode(out.sent[1].payload).metrics if m.name == "temp")
    assert temp.double_value == 65.0 and temp.alias == alias_of("boiler.temp")

    states = [PointState("boiler.temp", float(v), T0, T0, Quality.GOOD, "Good", None) for v in range(300)]
    states.append(PointState("pump.on", True, T0, T0, Quality.GOOD, "Good", None))
    states.append(PointState("elsewhere.x", 1.0, T0, T0, Quality.GOOD, "Good", None))  # not published: skipped
    data = edge.encode(states, historical=False)
    assert [m.topic for m in data] == [NS + "/DDATA/gw1/boiler"] * 1 + [NS + "/DDATA/gw1/pump"]
    assert len(codec.decode(data[0].payload).metrics) == 300  # one device's changes in one DDATA
    assert _seqs(data) == [3, 4]
    more = [edge.encode([states[0]], historical=False)[0] for _ in range(252)]
    assert _seqs(more)[-2:] == [255, 0]  # wraps within the session
    assert edge.counters["ddata"] == 254


async def test_bdseq_goes_on_after_a_restart_and_aliases_stay(tmp_path: Path) -> None:
    edge = _edge(_twin(), tmp_path)
    await edge.start()
    assert [_bdseq(edge.will()) for _ in range(3)] == [0, 1, 2]  # one per CONNECT
    aliases = {p: m.alias for p, (_, m) in edge.catalog.by_point.items()}
    restarted = _edge(_twin(), tmp_path)
    await restarted.start()
    assert _bdseq(restarted.will()) == 3
    assert {p: m.alias for p, (_, m) in restarted.catalog.by_point.items()} == aliases
    out = Outbox()
    restarted.on_connected(out)
    assert _bdseq(out.sent[0]) == 3


async def test_primary_host_gates_births_holds_values_and_replays_them_as_history(tmp_path: Path) -> None:
    twin = _twin()
    edge = _edge(twin, tmp_path, primary_host="scada")
    await edge.start()
    assert ("spBv1.0/STATE/scada", 1) in edge.subscriptions() and ("STATE/scada", 1) in edge.subscriptions()
    flips: list[bool] = []
    edge.on_ready_change = flips.append
    edge.will()
    out = Outbox()
    edge.on_connected(out)
    assert out.sent == [] and not edge.ready()  # connected, but the host has not said it is online
    await edge.on_message("spBv1.0/STATE/scada", json.dumps({"online": True, "timestamp": 100}).encode(), None, out)
    assert out.kinds()[0] == "NBIRTH" and edge.ready() and flips == [True]
    out.take()
    await edge.on_message("spBv1.0/STATE/scada", b'{"online": false, "timestamp": 50}', None, out)
    assert edge.ready() and out.sent == []  # an older session's will: ignored
    await edge.on_message("spBv1.0/STATE/scada", b'{"online": false, "timestamp": 100}', None, out)
    assert not edge.ready() and flips == [True, False]
    assert out.kinds() == ["NDEATH"] and _bdseq(out.sent[0]) == 0 and edge.counters["host_offline"] == 1
    out.take()
    await edge.on_message("spBv1.0/STATE/scada", b"not json", None, out)
    assert edge.counters["state_malformed"] == 1 and not edge.ready()

    twin.apply(Sample("boiler.temp", 80.0, T0))  # while the host is away (the forwarder holds the changes)
    await edge.on_message("spBv1.0/STATE/scada", b'{"online": true, "timestamp": 200}', None, out)
    assert out.kinds() == ["NBIRTH", "DBIRTH/boiler", "DBIRTH/pump"] and _seqs(out.sent) == [0, 1, 2]
    assert _bdseq(out.sent[0]) == 0  # same connection, same will
    born_temp = next(m for m in codec.decode(out.sent[1].payload).metrics if m.name == "temp")
    assert born_temp.double_value == 80.0  # births carry the current value
    assert edge.ready() and flips == [True, False, True]
    held = [PointState("boiler.temp", 79.0 + i, T0.replace(minute=i), T0, Quality.GOOD, "Good", None) for i in range(2)]
    replay = codec.decode(edge.encode(held, historical=True)[0].payload)
    assert replay.seq == 3 and [m.is_historical for m in replay.metrics] == [True, True]
    assert [m.timestamp for m in replay.metrics] == [int(T0.replace(minute=i).timestamp() * 1000) for i in range(2)]

    edge.on_disconnected()
    assert not edge.ready() and flips[-1] is False
    out2 = Outbox()
    edge.will()
    edge.on_connected(out2)
    assert out2.sent == []  # waits for the retained STATE again
    await edge.on_message("STATE/scada", b"ONLINE", None, out2)  # a Sparkplug 2.2 host
    assert out2.kinds()[0] == "NBIRTH" and _bdseq(out2.sent[0]) == 1


async def test_rebirth_on_ncmd_starts_a_new_sequence(tmp_path: Path) -> None:
    edge = _edge(_twin(), tmp_path)
    await edge.start()
    edge.will()
    out = Outbox()
    edge.on_connected(out)
    edge.encode([PointState("pump.on", True, T0, T0, Quality.GOOD, "Good", None)], historical=False)
    out.take()
    topic, payload = codec.rebirth_request("plant", "gw1")
    await edge.on_message(topic, payload, None, out)
    assert out.kinds() == ["NBIRTH", "DBIRTH/boiler", "DBIRTH/pump"] and _seqs(out.sent) == [0, 1, 2]
    assert edge.counters["rebirth_requests"] == 1 and edge.counters["births"] == 2
    out.take()
    false_request = codec.command_payload([("Node Control/Rebirth", None, 11, False)])
    await edge.on_message(NS + "/NCMD/gw1", false_request, None, out)
    await edge.on_message("spBv1.0/plant/NCMD/othernode", payload, None, out)  # not ours
    assert out.sent == [] and edge.counters["rebirth_requests"] == 1


async def test_dcmd_writes_through_the_twin_by_name_or_alias(tmp_path: Path) -> None:
    twin = _twin()
    written: list[tuple[str, Any]] = []

    async def writer(point: Point, raw: Any) -> WriteResult:
        written.append((point.id, raw))
        return WriteResult()

    twin.set_writer(writer)
    edge = _edge(twin, tmp_path, commands=True)
    await edge.start()
    out = Outbox()
    edge.on_connected(out)
    by_name = codec.command_payload([("setpoint", None, 10, 55.0)])
    await edge.on_message(NS + "/DCMD/gw1/boiler", by_name, None, out)
    by_alias = codec.command_payload([("", alias_of("pump.on"), 11, True)])
    await edge.on_message(NS + "/DCMD/gw1/pump", by_alias, None, out)
    assert written == [("boiler.setpoint", 55.0), ("pump.on", True)]
    out_of_range = codec.command_payload([("setpoint", None, 10, 500.0)])
    await edge.on_message(NS + "/DCMD/gw1/boiler", out_of_range, None, out)  # the twin refuses it
    await edge.on_message(NS + "/DCMD/gw1/boiler", codec.command_payload([("temp", None, 10, 1.0)]), None, out)
    assert len(written) == 2  # read-only temp refused by the twin too
    await edge.on_message(NS + "/DCMD/gw1/boiler", codec.command_payload([("nope", None, 10, 1.0)]), None, out)
    await edge.on_message(NS + "/DCMD/gw1/ghost", by_name, None, out)
    await edge.on_message(NS + "/DCMD/gw1/boiler", b"\xff\x00garbage", None, out)
    c = edge.counters
    assert (c["commands"], c["commands_failed"], c["commands_malformed"]) == (4, 2, 3)
    assert out.sent[-1].topic.endswith("DBIRTH/gw1/pump")  # no answer is published: the outcome shows in DDATA


async def test_dcmd_refused_when_commands_are_off(tmp_path: Path) -> None:
    twin = _twin()

    async def writer(point: Point, raw: Any) -> WriteResult:
        raise AssertionError("no write expected")

    twin.set_writer(writer)
    edge = _edge(twin, tmp_path)  # commands: false (the default)
    await edge.start()
    await edge.on_message(
        NS + "/DCMD/gw1/boiler", codec.command_payload([("setpoint", None, 10, 55.0)]), None, Outbox()
    )
    assert edge.counters["commands_refused"] == 1 and edge.counters["commands"] == 0


async def test_retained_commands_are_ignored(tmp_path: Path) -> None:
    twin = _twin()

    async def writer(point: Point, raw: Any) -> WriteResult:
        raise AssertionError("a retained command must not be written")

    twin.set_writer(writer)
    edge = _edge(twin, tmp_path, commands=True)
    await edge.start()
    out = Outbox()
    edge.on_connected(out)
    out.take()
    dcmd = codec.command_payload([("setpoint", None, 10, 55.0)])
    await edge.on_message(NS + "/DCMD/gw1/boiler", dcmd, None, out, retained=True)
    await edge.on_message(*codec.rebirth_request("plant", "gw1"), None, out, retained=True)
    assert out.sent == [] and edge.counters["commands_retained"] == 2 and edge.counters["commands"] == 0


async def test_points_added_at_run_time_are_born_on_their_device(tmp_path: Path) -> None:
    twin = _twin()
    edge = _edge(twin, tmp_path)
    await edge.start()
    out = Outbox()
    edge.on_connected(out)
    out.take()
    twin.add([Asset("valve", AssetLevel.EQUIPMENT, (), "Valve")], [make_point("valve.pos"), make_point("boiler.flow")])
    await _settle(lambda: len(out.sent) == 2)
    assert sorted(out.kinds()) == ["DBIRTH/boiler", "DBIRTH/valve"]
    boiler = next(m for m in out.sent if m.topic.endswith("boiler"))
    assert {m.name for m in codec.decode(boiler.payload).metrics} >= {"temp", "setpoint", "flow"}
    assert {"valve.pos", "boiler.flow"} <= edge.points
    edge.close()


async def _settle(cond: Any) -> None:
    from tests.conftest import wait_for

    await wait_for(cond, 5.0, "the selection watcher")
