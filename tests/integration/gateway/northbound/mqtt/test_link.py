"""The broker link against a real mosquitto: reconnects after a kill, the will, subscriptions, refused logins, and
batches that were not acknowledged coming back when the connection drops.

``RecordingChannel`` is a minimal channel (one JSON topic per point under ``t/``) that the store-and-forward tests
use too; the UNS and Sparkplug channels have their own tests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from adapters.contract.sample import PointState
from gateway.northbound.mqtt.channel import Message, Outbox
from gateway.northbound.mqtt.config import MqttBroker
from gateway.northbound.mqtt.link import Batch, BrokerLink
from tests.conftest import wait_for
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient
from tests.integration.adapters.mqtt.mqtt_tls import make_tls


class RecordingChannel:
    """Publishes each state as JSON on ``t/<point>``; answers ``cmd/<x>`` on ``cmd/<x>/ok``; ready when connected
    and ``gate`` is open."""

    name = "test"

    def __init__(self, points: Sequence[str] = (), *, qos: int = 1, will: Message | None = None) -> None:
        self.points: set[str] = set(points)
        self.counters: dict[str, int] = {"commands": 0}
        self.on_ready_change: Callable[[bool], None] | None = None
        self.qos = qos
        self.gate = True
        self.connected = False
        self.connects = 0
        self.commands: list[tuple[str, bytes]] = []
        self.retained: list[bool] = []  # the retain flag of each command, as the broker delivered it
        self._will = will

    async def start(self) -> None:
        pass

    def add_points(self, ids: Sequence[str]) -> None:
        self.points |= set(ids)

    def will(self) -> Message | None:
        return self._will

    def subscriptions(self) -> list[tuple[str, int]]:
        return [("cmd/+", 1)]

    def on_connected(self, out: Outbox) -> None:
        self.connected = True
        self.connects += 1
        self._changed()

    def on_disconnected(self) -> None:
        self.connected = False
        self._changed()

    def set_gate(self, open_: bool) -> None:
        self.gate = open_
        self._changed()

    def _changed(self) -> None:
        if self.on_ready_change is not None:
            self.on_ready_change(self.ready())

    def ready(self) -> bool:
        return self.connected and self.gate

    def encode(self, states: Sequence[PointState], *, historical: bool) -> list[Message]:
        out = []
        for s in states:
            if s.point in self.points:
                ts = s.source_ts.isoformat() if s.source_ts else None
                body = {"v": s.value, "ts": ts, "status": s.status, "historical": historical}
                out.append(Message(f"t/{s.point}", json.dumps(body).encode(), self.qos))
        return out

    async def on_message(
        self, topic: str, payload: bytes, properties: Any, out: Outbox, *, retained: bool = False
    ) -> None:
        self.counters["commands"] += 1
        self.commands.append((topic, payload))
        self.retained.append(retained)
        out.publish(Message(f"{topic}/ok", payload, 1))


class Recorder:
    def __init__(self) -> None:
        self.acked_batches: list[Batch] = []
        self.lost_batches: list[Batch] = []

    def acked(self, batch: Batch) -> None:
        self.acked_batches.append(batch)

    def lost(self, batches: list[Batch]) -> None:
        self.lost_batches.extend(batches)


def broker_settings(url: str, **kw: Any) -> MqttBroker:
    return MqttBroker.model_validate({"name": "b1", "url": url, "uns": {}, **kw})


@pytest.fixture
async def link(broker: Broker) -> AsyncIterator[tuple[BrokerLink, RecordingChannel]]:
    will = Message("state/b1", b"gone", 1, True)
    ch = RecordingChannel(["a.x"], will=will)
    lk = BrokerLink(broker_settings(broker.url, reconnect={"initial": 0.2, "max": 5.0}), [ch])
    lk.start()
    await wait_for(lambda: lk.connected, 5, "the first connect")
    yield lk, ch
    await lk.stop()


async def test_a_channel_is_told_which_messages_the_broker_kept(broker: Broker, watcher: TestClient) -> None:
    watcher.publish("cmd/kept", b"1", retain=True)  # before the link subscribes: delivered as retained
    ch = RecordingChannel()
    lk = BrokerLink(broker_settings(broker.url), [ch])
    lk.start()
    try:
        await wait_for(lambda: ch.commands == [("cmd/kept", b"1")], 5, "the retained message")
        watcher.publish("cmd/live", b"2")
        await wait_for(lambda: len(ch.commands) == 2, 5, "the live message")
        assert ch.retained == [True, False]
    finally:
        await lk.stop()


def msg(i: int, qos: int = 1) -> Message:
    return Message(f"t/a.x/{i % 10}", json.dumps({"i": i}).encode(), qos)


async def test_reconnects_soon_after_the_broker_listens_again_not_at_the_next_backoff(
    broker: Broker, watcher: TestClient, link: tuple[BrokerLink, RecordingChannel]
) -> None:
    lk, ch = link
    broker.kill()
    await wait_for(lambda: not lk.connected and not ch.connected, 5, "the drop noticed")
    assert lk.state == "disconnected" and "lost" in (lk.last_error or "")
    # attempts at about 0.2, 0.6, 1.4, 3.0, 6.2 and then 11.2 s (the 5 s cap, +-20 %): after 6.5 s the next one is
    # 3.7 s or more away, so a reconnect within 2 s is the port probe's doing, not the schedule's
    await asyncio.sleep(6.5)
    broker.start()
    back = time.monotonic()
    await wait_for(lambda: lk.connected, 5, "the reconnect")
    assert time.monotonic() - back < 2.0
    assert ch.connects == 2 and lk.counters["drops"] == 1
    # subscriptions are made again after the reconnect: a command reaches the channel, its answer comes back
    w = TestClient(broker)
    try:
        w.subscribe("cmd/#")
        w.publish("cmd/open", b"1")
        await wait_for(lambda: ch.commands == [("cmd/open", b"1")], 5, "the command")
        await w.wait_message("cmd/open/ok")
    finally:
        w.close()


async def test_send_batches_are_acknowledged_and_delivered(
    watcher: TestClient, link: tuple[BrokerLink, RecordingChannel]
) -> None:
    lk, _ = link
    watcher.subscribe("t/#")
    rec = Recorder()
    batches = [Batch(rec, []) for _ in range(20)]
    for k, batch in enumerate(batches):
        assert await lk.wait_window(100)
        assert lk.send([msg(k * 100 + i, qos=1 + (i % 2)) for i in range(100)], batch)
    lk.send([msg(-1, qos=0)], qos0 := Batch(rec, []))
    assert rec.acked_batches[-1] is qos0  # nothing to wait for at QoS 0
    await wait_for(lambda: len(rec.acked_batches) == 21, 5, "all acknowledgements")
    assert [b for b in rec.acked_batches if b is not qos0] == batches  # in the order sent
    assert lk.inflight == 0
    await wait_for(lambda: len(watcher.messages()) == 2001, 5, "every message at the watcher")
    seen = [json.loads(m.payload)["i"] for m in watcher.messages()]
    # MQTT orders the messages of one QoS (a QoS 2 message is forwarded once its PUBREL arrives)
    assert [i for i in seen if i >= 0 and i % 2 == 0] == list(range(0, 2000, 2))
    assert [i for i in seen if i > 0 and i % 2 == 1] == list(range(1, 2000, 2))


async def test_batches_not_acknowledged_come_back_when_the_connection_drops(
    broker: Broker, link: tuple[BrokerLink, RecordingChannel]
) -> None:
    lk, _ = link
    rec = Recorder()
    first = Batch(rec, [])
    lk.send([msg(0)], first)
    await wait_for(lambda: rec.acked_batches == [first], 5, "the first acknowledgement")
    broker.freeze()  # the broker takes nothing more: these stay unacknowledged
    stuck = [Batch(rec, []) for _ in range(3)]
    for i, b in enumerate(stuck):
        lk.send([msg(i), msg(i + 1)], b)
    await asyncio.sleep(0.2)
    assert rec.lost_batches == [] and lk.inflight == 6
    assert broker.proc is not None
    broker.proc.kill()  # while frozen (Broker.kill would let it run and acknowledge first)
    broker.proc.wait(5)
    await wait_for(lambda: bool(rec.lost_batches), 5, "the batches handed back")
    assert rec.lost_batches == stuck  # all of them, in the order sent
    assert lk.inflight == 0 and not lk.connected
    assert not lk.send([msg(9)], Batch(rec, []))  # nothing is sent while disconnected


async def test_the_will_is_published_when_the_connection_breaks_and_on_a_clean_stop(
    broker: Broker, watcher: TestClient, link: tuple[BrokerLink, RecordingChannel]
) -> None:
    lk, _ = link
    watcher.subscribe("state/#")
    # break the TCP connection without a DISCONNECT: the broker publishes the will
    lk.publisher._paho._sock.shutdown(socket.SHUT_RDWR)
    msg_ = await watcher.wait_message("state/b1")
    assert msg_.payload == b"gone"
    await wait_for(lambda: lk.connected, 5, "the reconnect")
    watcher.received.clear()
    await lk.stop()  # a clean DISCONNECT does not trigger the will: the link sends it itself
    msg_ = await watcher.wait_message("state/b1")
    assert msg_.payload == b"gone"
    assert lk.state == "stopped"


async def test_a_refused_login_is_logged_once_and_retried_at_the_longest_delay(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    b = Broker(tmp_path / "auth", users={"gw": "right-password"})
    b.start()
    try:
        settings = broker_settings(
            b.url, username="gw", password="wrong-password-123", reconnect={"initial": 0.1, "max": 0.8}
        )
        lk = BrokerLink(settings, [RecordingChannel()])
        attempts = []
        real = lk._connect

        async def counting() -> Any:
            attempts.append(time.monotonic())
            return await real()

        lk._connect = counting  # type: ignore[method-assign]
        with caplog.at_level(logging.DEBUG, logger="twinbridge.mqtt_north"):
            lk.start()
            await asyncio.sleep(2.0)
            await lk.stop()
        assert not lk.connected
        assert 2 <= len(attempts) <= 4  # 0.8 s apart, not 0.1, 0.2, 0.4...
        assert all(b - a >= 0.6 for a, b in itertools.pairwise(attempts))
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        line = warnings[0].getMessage()
        assert "refused the login" in line and "username/password" in line
        assert not warnings[0].exc_info  # one line, no traceback
        assert "wrong-password-123" not in caplog.text
        assert "refused the login" in (lk.last_error or "")
    finally:
        b.kill()


async def test_tls_with_a_client_certificate(tmp_path: Any) -> None:
    """mqtts:// with the broker's CA and a client certificate: batches acknowledged through the TLS socket."""
    tls = make_tls(tmp_path / "pki")
    b = Broker(tmp_path / "tls", tls=tls, require_client_cert=True)
    b.start()
    try:
        settings = broker_settings(
            b.url.replace("127.0.0.1", "localhost"),
            tls={"ca_file": str(tls.ca), "cert_file": str(tls.client_cert), "key_file": str(tls.client_key)},
        )
        lk = BrokerLink(settings, [RecordingChannel()])
        lk.start()
        try:
            await wait_for(lambda: lk.connected, 5, "the TLS connect")
            rec = Recorder()
            batches = [Batch(rec, []) for _ in range(5)]
            for k, batch in enumerate(batches):
                assert await lk.wait_window(200)
                assert lk.send([msg(k * 200 + i) for i in range(200)], batch)
            await wait_for(lambda: rec.acked_batches == batches, 5, "the acknowledgements")
        finally:
            await lk.stop()
    finally:
        b.kill()


def test_packets_split_anywhere_across_reads_are_parsed_whole() -> None:
    """The publisher's reader (pure logic here): acknowledgements of its own messages are taken, any other
    packet goes to paho's handler whole, wherever the socket's reads split them."""
    from gateway.northbound.mqtt.link_publish import Publisher

    class Paho:
        def __init__(self) -> None:
            self._in_packet: dict[str, Any] = {"command": 0}
            self.handled: list[tuple[int, bytes]] = []

        def _packet_handle(self) -> int:
            self.handled.append((self._in_packet["command"], bytes(self._in_packet["packet"])))
            return 0

    rec = Recorder()
    pub = Publisher("b1", 100, v5=True)
    batches = [Batch(rec, [], pending=1) for _ in range(3)]
    pub.inflight.update({1: batches[0], 2: batches[1], 300: batches[2]})
    stream = (
        b"\x40\x02\x00\x01"  # PUBACK 1
        + b"\xd0\x00"  # PINGRESP: paho's
        + b"\x40\x03\x00\x02\x00"  # PUBACK 2 with a reason code (MQTT 5)
        + b"\x30\x82\x01\x00\x03a/b"
        + b"x" * 125  # a PUBLISH of 130 bytes (two-byte length): paho's
        + b"\x40\x02\x00\x07"  # PUBACK of a message id that is not ours: paho's
        + b"\x70\x02\x01\x2c"  # PUBCOMP 300
    )
    paho = Paho()
    for size in (1, 2, 3, 5, 64):
        pub.inflight.update({1: batches[0], 2: batches[1], 300: batches[2]})
        for b in batches:
            b.pending = 1
        rec.acked_batches.clear()
        paho.handled.clear()
        for i in range(0, len(stream), size):
            assert pub._parse(paho, stream[i : i + size]) == 0
        assert rec.acked_batches == batches, size
        assert [c for c, _ in paho.handled] == [0xD0, 0x30, 0x40], size
        assert paho.handled[1][1] == b"\x00\x03a/b" + b"x" * 125
        assert pub._rx == bytearray() and not pub.inflight
