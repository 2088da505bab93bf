"""The fast publishing path of a broker link: many PUBLISH packets per socket write, acknowledgements by id.

Awaiting aiomqtt's ``publish`` costs a future and a task switch per message, and paho's own ``publish`` builds a
message object, an info object with a lock and, at QoS 0, a reason code and properties per packet for
``on_publish``: together they cap a Python publisher near 25,000 messages/s. ``Publisher.send`` packs a batch of
PUBLISH packets into one buffer queued on paho's socket writer (so paho still owns the socket, keep-alive and the
order of everything written), and takes PUBACK / PUBREC / PUBCOMP straight from paho's packet reader for the
message ids it issued. QoS 1/2 messages are tracked per ``Batch``: acknowledged when all its messages are; when
the connection drops, the batches not yet acknowledged go back to their owner.

Reading is batched too: paho's ``loop_read`` takes one packet per readable event when its own message tables are
empty, so the socket's reader is replaced by one that reads every acknowledgement waiting. This reaches into
paho's client internals (``_packet_queue``, ``_packet_read``, ``_loop_rc_handle``, ``_handle_pubackcomp``,
``_handle_pubrec``, ``_send_pubrel``, ``_mid_generate``, ``_in_packet``, ``_sock``), all present and unchanged in
paho-mqtt 2.1 and 2.2 (pyproject pins ``<2.3``, so a release that moves them is tried here first); the link's
tests go through them against a real mosquitto.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt
from paho.mqtt.client import MQTTErrorCode
from paho.mqtt.exception import MalformedPacket

from adapters.contract.sample import PointState
from gateway.northbound.mqtt.channel import Message

log = logging.getLogger("twinbridge.mqtt_north")

PUBLISH = 0x30
PUBACK, PUBCOMP = 0x40, 0x70
OK = MQTTErrorCode.MQTT_ERR_SUCCESS
AGAIN = MQTTErrorCode.MQTT_ERR_AGAIN
LOST = MQTTErrorCode.MQTT_ERR_CONN_LOST
PROTOCOL = MQTTErrorCode.MQTT_ERR_PROTOCOL
# Linux: acknowledge the broker's segments at once. Brokers leave Nagle on (mosquitto's set_tcp_nodelay is off
# by default), so a PUBACK segment waits for our ACK, which the kernel delays up to 40 ms when we have nothing to
# send: with a full window that capped QoS 1 near 15,000 messages/s; with it, 50,000.
QUICKACK = getattr(socket, "TCP_QUICKACK", None)
READ_BURST = 16  # reads per readable event at most, so one busy connection does not hold up the loop
RECV_SIZE = 65536
MAX_QUEUED_WRITES = 16  # batches waiting in paho's write queue before a sender waits
TOPIC_CACHE = 500_000  # encoded topics kept (one per point); cleared when a twin grows past it


class BatchOwner(Protocol):
    """Who hears what became of its batches (the forwarder)."""

    def acked(self, batch: Batch) -> None:
        """Every QoS 1/2 message of the batch was acknowledged (at once when it has none)."""

    def lost(self, batches: list[Batch]) -> None:
        """The connection dropped before these batches were acknowledged (in the order they were sent)."""


@dataclass(eq=False, slots=True)
class Batch:
    """Point states sent together, and what their owner needs to know about them."""

    owner: BatchOwner
    states: list[PointState]
    replay: bool = False  # from the buffer (rows first..last), not live
    first: int = 0
    last: int = 0
    pending: int = 0  # QoS 1/2 messages not acknowledged yet


def _in_packet(command: int, length: int, packet: bytearray) -> dict[str, Any]:
    """paho's record of the packet being read, complete."""
    return {
        "command": command,
        "have_remaining": 1 if command else 0,
        "remaining_count": [],
        "remaining_mult": 1,
        "remaining_length": length,
        "packet": packet,
        "to_process": 0,
        "pos": 0,
    }


def _length(n: int) -> bytes:
    """MQTT's variable byte integer."""
    if n < 128:
        return bytes((n,))
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        if n:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


class Publisher:
    """Publishing on the paho client of the current connection, with a window of ``max_inflight``."""

    def __init__(self, name: str, max_inflight: int, v5: bool) -> None:
        self.name = name
        self.max_inflight = max_inflight
        self.v5 = v5
        self.sent = 0
        self.refused = 0  # MQTT 5 acknowledgements with a failure reason (ACL, quota): not retried
        self.inflight: dict[int, Batch | None] = {}  # message id -> its batch (None: a control message)
        self.window = asyncio.Event()
        self._paho: Any = None
        self._client: aiomqtt.Client | None = None
        self._rx = bytearray()  # bytes read and not yet a whole packet
        self._wanted = 1  # slots the waiting sender needs (woken when they are free, not at every acknowledgement)
        self._topics: dict[str, bytes] = {}  # topic -> its length-prefixed UTF-8 bytes

    @property
    def ready(self) -> bool:
        """Attached to a client whose socket is open."""
        paho = self._paho
        return paho is not None and paho._sock is not None

    def attach(self, client: aiomqtt.Client) -> None:
        """Publish on this (connected) client from now on, taking its acknowledgements."""
        paho: Any = client._client
        original_ack = paho._handle_pubackcomp
        original_rec = paho._handle_pubrec
        inflight = self.inflight  # cleared in place on a drop, never replaced

        def on_ack(cmd: str) -> MQTTErrorCode:
            packet = paho._in_packet["packet"]
            mid = packet[0] << 8 | packet[1]
            if mid not in inflight:
                return original_ack(cmd)
            self._acked(mid, packet[2] if len(packet) > 2 else 0)
            return OK

        def on_rec() -> MQTTErrorCode:
            packet = paho._in_packet["packet"]
            mid = packet[0] << 8 | packet[1]
            if mid not in inflight:
                return original_rec()
            if len(packet) > 2 and packet[2] >= 0x80:  # MQTT 5: refused at PUBREC, no PUBREL follows
                self._acked(mid, packet[2])
                return OK
            return paho._send_pubrel(mid)

        paho._handle_pubackcomp = on_ack
        paho._handle_pubrec = on_rec
        self._paho = paho
        self._client = client
        self._rx = bytearray()
        sock = paho._sock
        if sock is not None:
            asyncio.get_running_loop().add_reader(sock.fileno(), self._read)  # replaces aiomqtt's reader
        self.window.set()

    # -- reading ----------------------------------------------------------------------------------------
    def _read(self) -> None:
        """What the socket has, in large reads. paho reads a packet in three calls to recv, and its loop_read
        takes one packet per readable event when its own message tables are empty (ours are not in them): an
        event-loop turn and three system calls per PUBACK. Acknowledgements of our messages are taken here;
        any other packet is handed to paho's handler as if paho had read it."""
        paho, client = self._paho, self._client
        if paho is None or client is None:
            return
        try:
            for _ in range(READ_BURST):
                if paho._sock is None:
                    return
                if paho._in_packet["command"]:  # a packet paho began before the reader was replaced
                    rc = paho._packet_read()
                    if rc == AGAIN:
                        return
                    if rc > 0:
                        paho._loop_rc_handle(rc)
                        return
                    continue
                try:
                    data = paho._sock_recv(RECV_SIZE)
                except BlockingIOError:
                    self._quickack(paho)
                    return
                except OSError:
                    paho._loop_rc_handle(LOST)
                    return
                if not data:
                    paho._loop_rc_handle(LOST)
                    return
                paho._last_bytes_received = time.monotonic()  # paho's keep-alive looks at it (its time_func)
                rc = self._parse(paho, data)
                if rc:
                    paho._loop_rc_handle(rc)
                    return
        except Exception as exc:  # as aiomqtt's reader: a broken socket ends the connection
            if not client._disconnected.done():
                client._disconnected.set_exception(exc)

    def _parse(self, paho: Any, data: bytes) -> int:
        """Handle the complete packets in what was read (the rest waits for the next read); paho's error code."""
        buf = self._rx
        buf += data
        inflight = self.inflight
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            length, mult, i = 0, 1, pos + 1
            while i < n:
                byte = buf[i]
                length += (byte & 127) * mult
                mult *= 128
                i += 1
                if not byte & 128:
                    break
                if i - pos > 4:
                    return PROTOCOL
            else:
                break  # the length itself is not complete yet
            end = i + length
            if end > n:
                break
            kind = buf[pos] & 0xF0
            if kind in (PUBACK, PUBCOMP) and length >= 2 and (mid := buf[i] << 8 | buf[i + 1]) in inflight:
                self._acked(mid, buf[i + 2] if length > 2 else 0)
                pos = end
                continue
            paho._in_packet = _in_packet(buf[pos], length, buf[i:end])
            try:
                rc = paho._packet_handle()
            except MalformedPacket:
                rc = PROTOCOL
            finally:
                paho._in_packet = _in_packet(0, 0, bytearray())
            pos = end
            if rc:
                del buf[:pos]
                return int(rc)
        del buf[:pos]
        return 0

    def _quickack(self, paho: Any) -> None:
        sock = paho._sock
        if QUICKACK is not None and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)

    def detach(self) -> list[Batch]:
        """The connection ended: forget it; the batches not acknowledged, in the order they were sent."""
        self._paho = self._client = None
        self._rx = bytearray()
        inflight = list(self.inflight.values())
        self.inflight.clear()
        self.window.set()
        return list(dict.fromkeys(b for b in inflight if b is not None))

    async def wait_window(self, n: int) -> bool:
        """Wait until ``n`` more QoS 1/2 messages fit under ``max_inflight`` (any number when none is in flight)
        and the socket keeps up; False when the connection ended meanwhile."""
        while self.ready and self.inflight and len(self.inflight) + n > self.max_inflight:
            self._wanted = n
            self.window.clear()
            await self.window.wait()
        # QoS 0 has no acknowledgement to wait for: wait for the socket instead, so a slow broker does not make
        # paho's write queue grow without bound (paho has no callback for "written", hence the short naps)
        while self.ready and len(self._paho._out_packet) > MAX_QUEUED_WRITES:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        return self.ready

    def send(self, messages: Sequence[Message], batch: Batch | None) -> bool:
        """Queue messages for the socket in one write; their QoS 1/2 acknowledgements complete ``batch``.
        False (nothing sent) when not attached to an open connection."""
        paho = self._paho
        if paho is None or paho._sock is None:
            return False
        topics = self._topics
        inflight = self.inflight
        v5 = self.v5
        parts: list[bytes] = []
        add = parts.append
        tracked = 0
        for m in messages:
            t = topics.get(m.topic) or self._topic(m.topic)
            qos = m.qos
            props = (m.properties.pack() if m.properties is not None else b"\x00") if v5 else b""
            payload = m.payload
            if qos:
                mid = paho._mid_generate()
                inflight[mid] = batch
                tracked += 1
                add(bytes((PUBLISH | qos << 1 | m.retain,)))
                add(_length(len(t) + 2 + len(props) + len(payload)))
                add(t)
                add(struct.pack("!H", mid))
            else:
                add(bytes((PUBLISH | m.retain,)))
                add(_length(len(t) + len(props) + len(payload)))
                add(t)
            add(props)
            add(payload)
        if parts:
            # one queued packet marked QoS 1, so paho's writer makes no on_publish call per message
            paho._packet_queue(PUBLISH | 2, b"".join(parts), 0, 1)
        self.sent += len(messages)
        if batch is not None:
            batch.pending += tracked
            if not batch.pending:
                batch.owner.acked(batch)
        return True

    def _topic(self, topic: str) -> bytes:
        if not topic or "+" in topic or "#" in topic:
            raise ValueError(f"cannot publish to the topic '{topic}'")
        raw = topic.encode()
        if len(self._topics) >= TOPIC_CACHE:
            self._topics.clear()
        t = self._topics[topic] = struct.pack("!H", len(raw)) + raw
        return t

    def _acked(self, mid: int, reason: int) -> None:
        batch = self.inflight.pop(mid)
        if reason >= 0x80:
            self.refused += 1
            if self.refused == 1 or self.refused % 10_000 == 0:
                log.warning(
                    "mqtt %s: the broker refused %d message(s) so far (reason 0x%02x; not retried)",
                    self.name,
                    self.refused,
                    reason,
                )
        if batch is not None:
            batch.pending -= 1
            if not batch.pending:
                batch.owner.acked(batch)
        if not self.inflight or len(self.inflight) + self._wanted <= self.max_inflight:
            self.window.set()
