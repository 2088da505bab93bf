"""One broker connection of the northbound MQTT service: connect, reconnect, subscribe, dispatch, publish.

``BrokerLink`` keeps one aiomqtt/paho connection up (``protocols.mqtt.session.connect``, like the MQTT source):
the will comes from the channels (Sparkplug NDEATH), subscriptions are made again after each connect, and
incoming messages go to the channel whose filter matches. Between attempts it waits a capped, jittered,
doubling delay; while the broker's port refuses connections it probes it every 0.2 s, so a broker that is back
is used within a fraction of a second whatever the delay had grown to. A refused login (or unreadable TLS files)
waits the longest delay at once, and a problem is logged once (one line) until it changes.

Publishing goes through ``link_publish.Publisher`` (batched packets, acknowledgements by message id, batches of
unacknowledged messages handed back to their owner when the connection drops).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.client import topic_matches_sub

from gateway.northbound.mqtt.channel import Channel, Message
from gateway.northbound.mqtt.config import MqttBroker
from gateway.northbound.mqtt.link_publish import Batch, BatchOwner, Publisher
from protocols.mqtt.broker import client_options, tls_context
from protocols.mqtt.session import ConnectFailed, DropTracker, forget_drop, open_connection

log = logging.getLogger("twinbridge.mqtt_north")

PROBE_INTERVAL = 0.2  # how often a refusing port is probed while waiting to reconnect
STOP_GRACE = 2.0  # how long a stop waits for acknowledgements before disconnecting


class BrokerLink:
    """The connection to one broker, shared by its channels (UNS, Sparkplug) and their forwarders."""

    def __init__(self, broker: MqttBroker, channels: Sequence[Channel], base_dir: str | Path = ".") -> None:
        self.broker = broker
        self.channels = list(channels)
        self.base_dir = base_dir
        self.client_id = broker.make_client_id()
        self.state = "connecting"
        self.last_error: str | None = None
        self.connected_since: float | None = None
        self.counters = {"connects": 0, "drops": 0, "control_dropped": 0, "incoming": 0}
        self.drops = DropTracker(self.client_id, short=max(10.0, 3 * broker.reconnect.initial))
        self.publisher = Publisher(broker.name, broker.max_inflight, broker.protocol == "5")
        self._listeners: list[Callable[[], None]] = []
        self._client: aiomqtt.Client | None = None
        self._routes: list[tuple[str, Channel]] = []
        self._will: Message | None = None
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._said: str | None = None  # the last problem logged (the same one again goes to debug)
        self._capped = False  # the last attempt was refused for good reason (login, TLS files): wait the longest

    # -- what forwarders and channels use ------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.broker.name

    @property
    def connected(self) -> bool:
        """Whether publishing is possible now."""
        client = self._client
        return client is not None and not client._disconnected.done() and self.publisher.ready

    @property
    def inflight(self) -> int:
        """QoS 1/2 messages sent and not acknowledged."""
        return len(self.publisher.inflight)

    def add_listener(self, cb: Callable[[], None]) -> None:
        """Call ``cb()`` whenever the link connects or drops."""
        self._listeners.append(cb)

    async def wait_window(self, n: int) -> bool:
        """Wait until ``n`` more QoS 1/2 messages may be sent; False when the link dropped meanwhile."""
        return self.connected and await self.publisher.wait_window(n) and self.connected

    def send(self, messages: Sequence[Message], batch: Batch | None) -> bool:
        """Publish messages (one socket write); their acknowledgements complete ``batch``. False when not
        connected (nothing sent)."""
        return self.connected and self.publisher.send(messages, batch)

    def publish(self, message: Message) -> None:
        """Outbox: a control message (metadata, births, command answers) on the live connection."""
        if not self.send([message], None):
            self.counters["control_dropped"] += 1

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (and keep connecting)."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"mqtt-north-{self.name}")

    async def stop(self) -> None:
        """Publish the will as a clean goodbye (Sparkplug NDEATH), wait briefly for acknowledgements, disconnect;
        what is still unacknowledged goes back to its owners. Idempotent."""
        self._stopping = True
        client = self._client
        if client is not None and self.connected:
            if self._will is not None:
                self.publish(self._will)
            deadline = time.monotonic() + STOP_GRACE
            window = self.publisher.window
            while self.publisher.inflight and self.connected and time.monotonic() < deadline:
                window.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(window.wait(), deadline - time.monotonic())
            forget_drop(client)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.__aexit__(None, None, None), 3)
            self._gone(client)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for t in list(self._handlers):
            t.cancel()
        self.state = "stopped"

    async def _run(self) -> None:
        delays = self._delays()
        while not self._stopping:
            client = await self._connect()
            if client is None:
                await self._pause(next(delays))
                continue
            delays = self._delays()
            try:
                await self._session(client)
            except (aiomqtt.MqttError, TimeoutError) as exc:
                if not self._stopping:
                    self._drop(client, exc)
            if not self._stopping:
                await self._pause(next(delays))

    def _delays(self) -> Iterator[float]:
        rc = self.broker.reconnect
        return rc.delays()

    async def _connect(self) -> aiomqtt.Client | None:
        """One attempt; the client when connected, else None (the reason logged once)."""
        where = self.broker.endpoint()
        try:
            ctx = tls_context(self.broker, self.base_dir)
        except (OSError, ssl.SSLError) as exc:
            self._fail(f"TLS set-up failed: {exc}", cap=True)
            return None
        wills = [w for w in (ch.will() for ch in self.channels) if w is not None]
        self._will = w = wills[0] if wills else None
        will = None if w is None else aiomqtt.Will(w.topic, w.payload, w.qos, w.retain, w.properties)
        options = client_options(self.broker, self.client_id)
        client = aiomqtt.Client(
            **options,
            tls_context=ctx,
            will=will,
            max_inflight_messages=0,  # the publisher keeps the window; paho's own rescans its table per ack
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],  # a lone command answer goes at once
        )
        client._client.disable_logger()  # paho's per-packet debug lines cost more than the packets
        try:
            await open_connection(client, self.broker.connect_timeout, self.drops, where)
        except ConnectFailed as exc:
            if exc.login:
                why = f"{where} refused the login: {exc.detail} (check username/password or client certificate)"
                self._fail(why, cap=True)
            else:
                self._fail(str(exc))
            return None
        return client

    def _fail(self, why: str, *, cap: bool = False) -> None:
        self.state = "disconnected"  # "connecting" only until the first attempt is over
        self.last_error = why
        self._capped = cap
        if why != self._said:
            log.warning("mqtt %s: %s%s", self.name, why, " (retrying at the longest delay)" if cap else "")
            self._said = why
        else:
            log.debug("mqtt %s: %s", self.name, why)

    async def _pause(self, delay: float) -> None:
        """Wait before the next attempt: the longest delay after a refused login, else ``delay``, cut short when
        the broker's port starts accepting connections again after refusing them."""
        if self._capped:
            delay = max(delay, self.broker.reconnect.max)
            self._capped = False
        deadline = time.monotonic() + delay
        refused = False
        while (left := deadline - time.monotonic()) > 0:
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.broker.host, self.broker.port), min(left, 1.0)
                )
            except ConnectionRefusedError:
                refused = True
                await asyncio.sleep(min(PROBE_INTERVAL, max(0.0, deadline - time.monotonic())))
                continue
            except (OSError, TimeoutError):
                break
            writer.close()
            if refused:
                return  # it listens again: connect now
            break
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))

    async def _session(self, client: aiomqtt.Client) -> None:
        """Subscribe, tell the channels, then read incoming messages until the connection drops."""
        self.publisher.attach(client)
        self._client = client
        # the end of the connection is handled as paho reports it (before anything can be sent or stored in
        # between), and otherwise as soon as aiomqtt's disconnect future is done
        paho: Any = client._client
        inner = paho.on_disconnect

        def on_disconnect(*args: Any) -> None:
            inner(*args)
            self._gone(client)

        paho.on_disconnect = on_disconnect
        client._disconnected.add_done_callback(lambda _: self._gone(client))
        subs: dict[str, int] = {}
        self._routes = []
        for ch in self.channels:
            for flt, qos in ch.subscriptions():
                subs[flt] = max(qos, subs.get(flt, 0))
                self._routes.append((flt, ch))
        if subs:
            await asyncio.wait_for(client.subscribe(list(subs.items())), self.broker.connect_timeout)
        self.state = "connected"
        self.connected_since = time.time()
        self.counters["connects"] += 1
        self._said = None
        log.info("mqtt %s: connected to %s as %s", self.name, self.broker.endpoint(), self.client_id)
        for ch in self.channels:
            try:
                ch.on_connected(self)
            except Exception:
                log.exception("mqtt %s: the %s channel failed on connect", self.name, ch.name)
        self._notify()
        async for msg in client.messages:
            self._dispatch(msg)

    def _dispatch(self, msg: aiomqtt.Message) -> None:
        self.counters["incoming"] += 1
        topic = msg.topic.value
        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload or "").encode()
        seen: set[int] = set()
        for flt, ch in self._routes:
            if id(ch) in seen or not topic_matches_sub(flt, topic):
                continue
            seen.add(id(ch))
            # one task per message: a command waiting on a slow device does not hold up the others, and
            # handlers that do not await run in arrival order
            task = asyncio.create_task(self._handle(ch, topic, payload, msg.properties, msg.retain))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _handle(self, ch: Channel, topic: str, payload: bytes, properties: Any, retained: bool) -> None:
        try:
            await ch.on_message(topic, payload, properties, self, retained=retained)
        except Exception:
            log.exception("mqtt %s: the %s channel failed on a message on %s", self.name, ch.name, topic)

    def _drop(self, client: aiomqtt.Client, exc: BaseException) -> None:
        why = self.drops.lost(exc)
        self._gone(client)
        self.last_error = f"connection to {self.broker.endpoint()} lost: {why or exc or type(exc).__name__}"
        log.warning("mqtt %s: %s", self.name, self.last_error)

    def _gone(self, client: aiomqtt.Client) -> None:
        """The connection ended: hand unacknowledged batches back, tell channels and listeners (once)."""
        if self._client is not client:
            return
        forget_drop(client)
        self._client = None
        self.connected_since = None
        if not self._stopping:
            self.state = "disconnected"
        self.counters["drops"] += 1
        owners: dict[int, tuple[BatchOwner, list[Batch]]] = {}
        for b in self.publisher.detach():
            owners.setdefault(id(b.owner), (b.owner, []))[1].append(b)
        for owner, lost in owners.values():
            owner.lost(lost)
        for ch in self.channels:
            try:
                ch.on_disconnected()
            except Exception:
                log.exception("mqtt %s: the %s channel failed on disconnect", self.name, ch.name)
        self._notify()

    def _notify(self) -> None:
        for cb in self._listeners:
            cb()


__all__ = ["Batch", "BatchOwner", "BrokerLink"]
