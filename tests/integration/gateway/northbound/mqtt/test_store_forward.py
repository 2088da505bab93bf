"""Store-and-forward with a real gateway (a sim source of counters at a few hundred values/s) and a real mosquitto
that the tests kill (-9) and restart: nothing lost, order per point kept, original timestamps, /health degraded
while buffering, a gateway restarted during the outage keeps its buffer, a full buffer drops the oldest and counts.

What the twin published is recorded through a subscription of its own (the truth); a paho session records what
reached the broker. Values are compared per point after the first one the service published (its start-up
snapshot), duplicates (at-least-once) counted once. While the broker restarts, the channel is held not ready
until the watcher is back and subscribed (a killed mosquitto forgets a session it had not saved yet), so the
replay is started by the channel becoming ready rather than by the reconnect itself (test_link covers that).
A broker killed -9 also loses what it had acknowledged and not yet passed on: values missing at the watcher are
accepted only if the broker had acknowledged them before the kill (and are few).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from prometheus_client import generate_latest

from adapters.contract.sample import PointState
from gateway.config.loader import load_mappings
from gateway.northbound.mqtt.buffer import StateBuffer
from gateway.northbound.mqtt.config import MqttNorthConfig
from gateway.northbound.mqtt.forwarder import Forwarder
from gateway.northbound.mqtt.link import Batch
from gateway.northbound.mqtt.service import MqttNorth
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, wait_port
from tests.integration.gateway.northbound.mqtt.test_link import RecordingChannel

pytestmark = pytest.mark.integration

Key = tuple[Any, str, str]
POINTS = ["line1.c1", "line1.c2", "line1.c3", "line1.c4"]
MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms}
gateway:
  http: {port: 0, query_timeout: 2s}
sources:
  - {id: sim1, kind: sim, interval: 10ms}
assets:
  - {id: site, type: site, label: Site}
  - id: line1
    type: brick:Equipment
    parent: site
    source: sim1
    points:
      - {id: c1, datatype: float, unit: UNITLESS, address: {signal: counter, rate: 10}}
      - {id: c2, datatype: float, unit: UNITLESS, address: {signal: counter, rate: 20}}
      - {id: c3, datatype: float, unit: UNITLESS, address: {signal: counter, rate: 30}}
      - {id: c4, datatype: float, unit: UNITLESS, address: {signal: counter, rate: 40}}
"""


class Watcher:
    """A paho session on ``t/#`` that reconnects by itself and subscribes again each time."""

    def __init__(self, broker: Broker, client_id: str) -> None:
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.reconnect_delay_set(0.1, 0.3)
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client.on_connect = lambda client, *a: client.subscribe("t/#", 1)
        self.client.on_disconnect = lambda *a: self.subscribed.clear()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()
        assert self.subscribed.wait(5), "no SUBACK"

    def _on_message(self, client: Any, userdata: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic[2:], json.loads(msg.payload)))

    def by_point(self) -> dict[str, list[Key]]:
        """(value, source time, status) per point, in arrival order, each once."""
        out: dict[str, list[Key]] = {}
        seen: set[tuple[str, Any, str, str]] = set()
        with self._lock:
            for point, body in self.messages:
                k = (body["v"], body["ts"], body["status"])
                if (point, *k) not in seen:
                    seen.add((point, *k))
                    out.setdefault(point, []).append(k)
        return out

    def historical(self) -> int:
        with self._lock:
            return sum(1 for _, body in self.messages if body["historical"])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Acks:
    """What the broker acknowledged, recorded from the forwarder (to tell the broker's losses at a kill -9 from
    the gateway's)."""

    def __init__(self, fw: Forwarder) -> None:
        self.keys: set[Key] = set()
        real = fw.acked

        def record(batch: Batch) -> None:
            self.keys.update(key(s) for s in batch.states)
            real(batch)

        fw.acked = record  # type: ignore[method-assign]


async def kill_and_take_acks(broker: Broker, fw: Forwarder, acks: Acks) -> set[Key]:
    """Kill the broker and return what it had acknowledged: acknowledgements already on their way when it died
    are read until the link notices the drop, so the set is taken only then."""
    broker.kill()
    await wait_for(lambda: not fw.link.connected, 5, "the link saw the broker go")
    return set(acks.keys)


def key(s: PointState) -> Key:
    assert isinstance(s.source_ts, datetime)
    return (s.value, s.source_ts.isoformat(), s.status)


def check(truth: list[PointState], got: list[Key], acked_before_kill: set[Key]) -> str | None:
    """None when ``got`` holds every value of the truth after its first (the service's start-up snapshot), in
    order, except a few the broker had acknowledged before it was killed; else what is wrong."""
    first = datetime.fromisoformat(got[0][1])
    expected = [key(s) for s in truth if s.source_ts is not None and s.source_ts > first]
    arrived = set(got)
    missing = [k for k in expected if k not in arrived]
    if any(k not in acked_before_kill for k in missing) or len(missing) > 20:
        return f"lost {len(missing)}: {[(k, k in acked_before_kill) for k in missing[:5]]}"
    want = [k for k in expected if k in arrived]
    if got[1:] == want:
        return None
    at = next((i for i, (g, e) in enumerate(zip(got[1:], want, strict=False)) if g != e), min(len(got) - 1, len(want)))
    return f"order or extra values at {at}: {got[at - 1 : at + 4]} vs {want[at - 2 : at + 3]}"


def truth_by_point(states: list[PointState]) -> dict[str, list[PointState]]:
    out: dict[str, list[PointState]] = {}
    for s in states:
        out.setdefault(s.point, []).append(s)
    return out


def north(gw: Gateway, url: str, folder: Path, *, gate: bool = True, **broker: Any) -> MqttNorth:
    config = MqttNorthConfig.model_validate(
        {
            "brokers": [
                {
                    "name": "b1",
                    "url": url,
                    "uns": {},
                    "buffer": {"path": str(folder), **broker.pop("buffer", {})},
                    "reconnect": {"initial": 0.2, "max": 2.0},
                    **broker,
                }
            ]
        }
    )

    def channels(*_: Any) -> list[Any]:
        ch = RecordingChannel(POINTS)
        ch.gate = gate
        return [ch]

    return MqttNorth(config, gw.view, channel_factory=channels)


def channel(svc: MqttNorth) -> RecordingChannel:
    ch = svc.forwarders["b1"][0].channel
    assert isinstance(ch, RecordingChannel)
    return ch


async def restart_then_open(broker: Broker, svc: MqttNorth, watcher: Watcher) -> None:
    """Restart the broker with the channel held back until the watcher is subscribed again, then open it."""
    ch = channel(svc)
    ch.set_gate(False)
    broker.start()
    await wait_for(lambda: watcher.subscribed.is_set() and svc.links["b1"].connected, 10, "both reconnected")
    health = svc.health()
    assert not health.ok and health.state == "buffering"  # connected, but the channel is not ready
    ch.set_gate(True)


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
    await gw.start()
    yield gw
    await gw.stop()


async def stop_source(gw: Gateway) -> None:
    await gw.supervisors["sim1"].stop()


async def test_a_broker_outage_under_load_loses_nothing_and_degrades_health(
    broker: Broker, gateway: Gateway, tmp_path: Path
) -> None:
    truth = gateway.view.subscribe(POINTS, maxsize=1_000_000, overflow="drop_oldest")
    svc = north(gateway, broker.url, tmp_path / "buffer")
    await svc.start()
    fw = svc.forwarders["b1"][0]
    acks = Acks(fw)
    watcher = Watcher(broker, "watcher-1")
    base = f"http://127.0.0.1:{gateway.services['http'].port}"  # type: ignore[attr-defined]
    try:
        await wait_for(lambda: svc.health().ok and len(watcher.messages) > 50, 5, "values flowing")
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            r = await http.get("/health")
            assert r.status_code == 200 and r.json()["services"]["mqtt"]["ok"] is True
            acked_before_kill = await kill_and_take_acks(broker, fw, acks)
            await wait_for(lambda: fw.buffer.count > 100, 5, "values buffered")
            r = await http.get("/health")
            assert r.status_code == 503
            mqtt = r.json()["services"]["mqtt"]
            assert mqtt["ok"] is False and mqtt["state"] == "disconnected"
            assert mqtt["brokers"]["b1"]["state"] == "disconnected"
            assert mqtt["brokers"]["b1"]["channels"] == {"test": "buffering"}
            assert mqtt["brokers"]["b1"]["buffered"] > 100
            await asyncio.sleep(1.5)  # a few seconds of outage in all (the 60 s one is the bench's)
            await restart_then_open(broker, svc, watcher)
            await wait_for(lambda: svc.health().ok, 10, "replayed and live again")
            r = await http.get("/health")
            assert r.status_code == 200 and r.json()["services"]["mqtt"]["state"] == "publishing"
        await asyncio.sleep(0.3)
        await stop_source(gateway)
        states = truth_by_point(truth.get_nowait())
        assert truth.dropped == 0
        await wait_for(
            lambda: all(key(states[p][-1]) in watcher.by_point().get(p, []) for p in POINTS), 10, "the last values"
        )
        got = watcher.by_point()
        for p in POINTS:
            assert not (why := check(states[p], got[p], acked_before_kill)), f"{p}: {why}"
        counters = fw.counters
        assert counters["buffered"] > 300 and counters["replayed"] == counters["buffered"]
        assert counters["published"] > 0 and fw.dropped() == {"buffer_full": 0, "too_old": 0, "queue": 0, "encode": 0}
        assert watcher.historical() >= counters["replayed"] - 8  # (the snapshot's few went before the watcher)
        assert fw.buffer.count == 0
        text = generate_latest(gateway.view.metrics).decode()
        assert f'twinbridge_mqtt_replayed_total{{broker="b1",channel="test"}} {float(counters["replayed"])}' in text
        assert 'twinbridge_mqtt_connected{broker="b1"} 1.0' in text
    finally:
        watcher.close()
        await svc.stop()
        truth.close()


async def test_a_gateway_restarted_during_the_outage_keeps_its_buffer(broker: Broker, tmp_path: Path) -> None:
    buffer = tmp_path / "buffer"
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
    await gw.start(services=False)
    truth = gw.view.subscribe(POINTS, maxsize=1_000_000, overflow="drop_oldest")
    svc = north(gw, broker.url, buffer)
    await svc.start()
    fw1 = svc.forwarders["b1"][0]
    acks = Acks(fw1)
    watcher = Watcher(broker, "watcher-2")
    try:
        await wait_for(lambda: svc.health().ok and len(watcher.messages) > 20, 5, "values flowing")
        acked_before_kill = await kill_and_take_acks(broker, fw1, acks)
        await wait_for(lambda: fw1.counters["buffered"] > 200, 5, "values buffered")
        await svc.stop()  # the gateway goes down during the outage
        await gw.stop()
        left = fw1.counters["buffered"] - fw1.counters["replayed"]
        # the truth up to the last value buffered (the twin applied a tick or two more while the service stopped,
        # after it had stopped listening)
        saved = StateBuffer(buffer / "test.sqlite", max_bytes=10**9, max_age=10**9)
        last = {s.point: s.source_ts for _, s in saved.read(0, 10**6)}
        saved.close()
        states = {
            p: [s for s in seq if s.source_ts is not None and s.source_ts <= last[p]]
            for p, seq in truth_by_point(truth.get_nowait()).items()
        }

        gw2 = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
        await gw2.start(services=False)
        svc2 = north(gw2, broker.url, buffer)
        await svc2.start()
        try:
            fw = svc2.forwarders["b1"][0]
            kept = fw.buffer.count
            assert kept == left > 150
            assert svc2.health().detail["brokers"]["b1"]["buffered"] == kept
            await restart_then_open(broker, svc2, watcher)
            await wait_for(
                lambda: fw.counters["replayed"] >= kept and fw.state == "live", 10, "the old buffer replayed"
            )
            await stop_source(gw2)
            await wait_for(
                lambda: all(key(states[p][-1]) in watcher.by_point().get(p, []) for p in POINTS),
                10,
                "the first gateway's last values",
            )
            got = watcher.by_point()
            for p in POINTS:
                before = got[p][: got[p].index(key(states[p][-1])) + 1]  # what the first gateway published
                assert not (why := check(states[p], before, acked_before_kill)), f"{p}: {why}"
            assert watcher.historical() >= kept
        finally:
            await svc2.stop()
            await gw2.stop()
    finally:
        watcher.close()
        truth.close()


async def test_a_full_buffer_drops_the_oldest_and_counts_them(gateway: Gateway, tmp_path: Path) -> None:
    broker = Broker(tmp_path / "later")  # its port stays closed until it starts
    svc = north(gateway, broker.url, tmp_path / "buffer", buffer={"max_bytes": 10_000})
    truth = gateway.view.subscribe(POINTS, maxsize=1_000_000, overflow="drop_oldest")
    await svc.start()
    fw = svc.forwarders["b1"][0]
    try:
        await wait_for(lambda: fw.buffer.dropped_full > 200, 5, "the buffer overflowing")
        assert fw.buffer.bytes <= 10_000
        health = svc.health()
        assert not health.ok and health.state == "disconnected"
        text = generate_latest(gateway.view.metrics).decode()
        assert 'twinbridge_mqtt_dropped_total{broker="b1",channel="test",reason="buffer_full"}' in text
        await stop_source(gateway)
        await asyncio.sleep(0.2)
        buffered = [s for _, s in fw.buffer.read(0, 100_000)]
        states = truth_by_point(truth.get_nowait())
        for p, seq in truth_by_point(buffered).items():
            assert [key(s) for s in seq] == [key(s) for s in states[p][-len(seq) :]]  # the newest, in order
        assert fw.counters["buffered"] == fw.buffer.dropped_full + fw.buffer.count
        broker.start()
        try:
            wait_port(broker.port)
            await wait_for(lambda: fw.state == "live" and fw.buffer.count == 0, 10, "the rest replayed")
            assert fw.counters["replayed"] == len(buffered)
        finally:
            broker.kill()
    finally:
        await svc.stop()
        truth.close()


async def test_points_a_channel_takes_at_run_time_are_followed(
    broker: Broker, gateway: Gateway, tmp_path: Path
) -> None:
    """A channel publishing more points (as its selection picks points added at run time): their current values
    first, then every change."""
    config = MqttNorthConfig.model_validate(
        {"brokers": [{"name": "b1", "url": broker.url, "uns": {}, "buffer": {"path": str(tmp_path / "b")}}]}
    )
    ch = RecordingChannel(POINTS[:2])
    svc = MqttNorth(config, gateway.view, channel_factory=lambda *_: [ch])
    watcher = Watcher(broker, "watcher-3")
    await svc.start()
    try:
        await wait_for(lambda: svc.health().ok and len(watcher.messages) > 20, 5, "values flowing")
        assert set(watcher.by_point()) == set(POINTS[:2])
        truth = gateway.view.subscribe(POINTS[2:], maxsize=100_000, overflow="drop_oldest")
        ch.add_points(POINTS[2:])
        current = {p: key(gateway.view.state(p)) for p in POINTS[2:]}
        await wait_for(lambda: all(len(watcher.by_point().get(p, [])) > 10 for p in POINTS[2:]), 5, "new points")
        await stop_source(gateway)
        states = truth_by_point(truth.get_nowait())
        await wait_for(lambda: all(key(states[p][-1]) in watcher.by_point()[p] for p in POINTS[2:]), 5, "all")
        got = watcher.by_point()
        for p in POINTS[2:]:
            assert got[p][0] in [current[p], *(key(s) for s in states[p][:3])]  # its value when taken, first
            assert not (why := check(states[p], got[p], set())), f"{p}: {why}"
        truth.close()
    finally:
        watcher.close()
        await svc.stop()
