"""The ``mqtt`` adapter: one broker connection (aiomqtt/paho), topic rules, JSON/plain/Sparkplug B payloads, writes.

``start()`` connects (MQTT 3.1.1 or 5, optionally TLS), then subscribes to every rule filter and explicit
topic. That happens on every start, so after the supervisor reconnects the subscriptions are back even when
the broker lost its state. ``samples()`` drains the incoming queue through the pure ``Router``; when the broker
goes away it raises ``AdapterDisconnected`` and the supervisor marks the points and reconnects. A persistent
session (``clean_session: false``, stable client id) makes the broker keep QoS 1/2 messages for us while we are
away; they arrive right after the next connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from adapters.contract.adapter import Adapter, AdapterContext, AdapterDisconnected, AdapterUnavailable, WriteResult
from adapters.contract.discovery import Discovered
from adapters.contract.model import Point
from adapters.contract.polling import DropOldestQueue
from adapters.contract.sample import Sample, Value, utcnow
from adapters.contract.status import NO_COMMUNICATION
from adapters.mqtt.config import COMMAND_PLACEHOLDERS, MqttAddress, MqttSourceConfig, SparkplugRule, TopicRule
from adapters.mqtt.discovery import DiscoveryError, SparkplugRuleFactory, TopicRuleFactory
from adapters.mqtt.payload import json_literal, text_of
from adapters.mqtt.routing import Router
from adapters.mqtt.topics import fill
from protocols.mqtt.broker import client_options, tls_context
from protocols.mqtt.session import ConnectFailed, DropTracker, forget_drop, open_connection
from protocols.sparkplug.codec import SparkplugError, code_for, command_payload

if TYPE_CHECKING:
    from adapters.contract.discovery import ProfileCatalog


class MqttAdapter(Adapter):
    """MQTT broker connection feeding points from topics, rules and Sparkplug B nodes."""

    kind = "mqtt"
    profile_placeholders = COMMAND_PLACEHOLDERS  # command payload templates, filled when a value is written
    config_model = MqttSourceConfig
    address_model = MqttAddress
    supports_write = True
    push_based = True

    config: MqttSourceConfig

    def __init__(self, config: MqttSourceConfig, points: Sequence[Point], context: AdapterContext) -> None:
        super().__init__(config, points, context)
        self.counters = {
            "messages": 0,
            "samples": 0,
            "unmatched": 0,
            "discovered_points": 0,
            "rebirth_requests": 0,
            "writes": 0,
            "dropped": 0,
            "subscriptions_refused": 0,
        }
        self.router = Router(config, self.counters, self.log)
        self.router.discover = self._discover
        self.router.add_static(list(points))
        self._static = list(points)
        self._client: aiomqtt.Client | None = None
        self._queue: DropOldestQueue[aiomqtt.Message] | None = None
        self._factories_built = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = False
        self.subscribed: dict[str, int] = {}
        self.client_id = config.make_client_id()  # once per instance: reconnects keep it
        # a drop sooner than the peer's first reconnect delay (plus margin) after connecting is "right after"
        self.drops = DropTracker(self.client_id, short=max(10.0, 3 * config.reconnect.initial))

    # -- config-time checks --------------------------------------------------------------------------
    @classmethod
    def check_source(  # type: ignore[override]
        cls, config: MqttSourceConfig, points: Sequence[Point], *, profiles: ProfileCatalog | None = None
    ) -> list[tuple[str | None, str]]:
        """One payload format per topic, no explicit point inside the Sparkplug namespace as JSON/plain, and
        every profile a rule names exists (so ``twinbridge validate`` catches it, not the first message)."""
        problems: list[tuple[str | None, str]] = []
        if profiles is not None:
            for rule in config.rules:
                for attr in ("profile", "node_profile"):
                    name = getattr(rule, attr, None)
                    if name and profiles.get(name) is None:
                        known = ", ".join(profiles.names()) or "none found"
                        problems.append((None, f"rule {rule.id}: missing profile '{name}' (available: {known})"))
        formats: dict[str, tuple[str, str]] = {}
        for p in points:
            a = p.address
            if not isinstance(a, MqttAddress) or a.payload == "sparkplug":
                continue
            assert a.topic is not None
            if a.topic.startswith("spBv1.0/"):
                problems.append((p.id, f"topic {a.topic} is in the Sparkplug namespace; use payload: sparkplug"))
            seen = formats.setdefault(a.topic, (a.payload or "plain", p.id))
            if seen[0] != a.payload:
                problems.append((p.id, f"topic {a.topic} is read as {a.payload} here but as {seen[0]} by {seen[1]}"))
        for rule in config.rules:
            if isinstance(rule, TopicRule) and rule.template.filter.startswith("spBv1.0/"):
                problems.append((None, f"rule {rule.id}: Sparkplug topics need payload: sparkplug"))
        return problems

    # -- lifecycle -----------------------------------------------------------------------------------
    def _build_factories(self) -> None:
        lib = self.context.profiles
        router = self.router
        try:
            for rule in self.config.rules:
                if isinstance(rule, SparkplugRule):
                    router.sp_rules.append(SparkplugRuleFactory(rule, self.name, lib))
                else:
                    router.topic_rules.append(TopicRuleFactory(rule, self.name, lib))
            self._probe()
        except DiscoveryError as exc:
            router.sp_rules.clear()
            router.topic_rules.clear()
            raise AdapterUnavailable(str(exc), retryable=False, status="BadConfigurationError") from None
        self._factories_built = True

    def _probe(self) -> None:
        """Fail at start-up, not on the first message: each topic rule's fragment, with placeholder bindings,
        built (not added) by the core."""
        discover = self.context.discover
        if discover is None:
            return
        for f in self.router.topic_rules:
            for fragment in f.probes():
                errors = discover(fragment, dry_run=True).errors if fragment else []
                if errors:
                    raise DiscoveryError(f"rule '{f.rule.id}': {errors[0]}")

    def _tls(self) -> ssl.SSLContext | None:
        try:
            return tls_context(self.config, self.context.base_dir)
        except (OSError, ssl.SSLError) as exc:
            # a missing or unreadable file will not fix itself by retrying
            raise AdapterUnavailable(
                f"TLS set-up failed: {exc}", retryable=False, status="BadConfigurationError"
            ) from None

    def _make_client(self) -> aiomqtt.Client:
        adapter = self

        class Queue(DropOldestQueue[aiomqtt.Message]):  # aiomqtt's incoming queue, bounded
            def __init__(self, maxsize: int = 0) -> None:
                super().__init__(maxsize)
                adapter._queue = self

        return aiomqtt.Client(
            **client_options(self.config, self.client_id),
            tls_context=self._tls(),
            max_queued_incoming_messages=self.config.queue_size,
            queue_type=Queue,
        )

    async def start(self) -> None:
        """Connect and subscribe; ``AdapterUnavailable`` when the broker cannot be reached or refuses us."""
        if not self._factories_built:
            self._build_factories()
        client = self._make_client()
        where = self.config.endpoint()
        try:
            await open_connection(client, self.config.connect_timeout, self.drops, where)
        except ConnectFailed as exc:
            raise AdapterUnavailable(
                str(exc), retryable=not exc.login, status="BadUserAccessDenied" if exc.login else None
            ) from None
        self._client = client
        try:
            await self._subscribe(client)
        except (aiomqtt.MqttError, TimeoutError) as exc:
            await self.stop()
            why = self.drops.lost(exc)  # dropped between CONNACK and SUBACK: the same story as a lost connection
            raise AdapterUnavailable(f"subscribing on {where} failed: {why or exc or type(exc).__name__}") from None
        self._running = True

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        subs = self.router.subscriptions(self._static)
        if not subs:
            return
        granted: Sequence[int | ReasonCode] = await client.subscribe(list(subs.items()))
        self.subscribed = {}
        for (flt, qos), g in zip(subs.items(), granted, strict=False):
            code = g if isinstance(g, int) else g.value  # an int on MQTT 3.1.1, a ReasonCode on MQTT 5
            if code >= 0x80:
                self.counters["subscriptions_refused"] += 1
                self.log.error("mqtt %s: the broker refused the subscription to %s (code %d)", self.name, flt, code)
            else:
                self.subscribed[flt] = code
                if code < qos:
                    self.log.info("mqtt %s: %s granted QoS %d instead of %d", self.name, flt, code, qos)

    async def stop(self) -> None:
        """Disconnect; idempotent."""
        self._running = False
        client, self._client = self._client, None
        for t in list(self._tasks):
            t.cancel()
        if client is not None:
            forget_drop(client)  # a drop nobody read yet (stopped between connect and samples()) is not news
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.__aexit__(None, None, None), 3)

    # -- data ----------------------------------------------------------------------------------------
    def _discover(self, fragment: Mapping[str, Any], *, dry_run: bool = False) -> Discovered:
        """Hand a fragment a rule made to the core; serve what it added (the core normally did already)."""
        if self.context.discover is None:
            return Discovered(errors=["no discovery without the core (AdapterContext.discover is None)"])
        found = self.context.discover(fragment, dry_run=dry_run)
        new = [p for p in found.points if p.id not in self.points]
        if new and not dry_run:
            Adapter.add_points(self, new)
        return found

    def add_points(self, points: Sequence[Point]) -> None:
        """Route messages to points added at run time."""
        super().add_points(points)
        self.router.add_points(points)

    async def samples(self) -> AsyncIterator[Sample]:
        """Yield the samples of every message until stopped; ``AdapterDisconnected`` when the broker is gone."""
        client = self._client
        if client is None:
            raise AdapterDisconnected(f"not connected to {self.config.endpoint()}")
        handle = self.router.handle
        router = self.router
        counters = self.counters
        messages = client.messages
        queue = self._queue
        while self._running:
            try:
                # drain what is queued without a task per message; wait (and notice disconnects) when empty
                msg = queue.get_nowait() if queue is not None else await anext(messages)
            except asyncio.QueueEmpty:
                try:
                    msg = await anext(messages)
                except aiomqtt.MqttError as exc:
                    if not self._running:
                        return
                    why = self.drops.lost(exc)
                    raise AdapterDisconnected(f"connection to {self.config.endpoint()} lost: {why or exc}") from None
            payload = msg.payload
            if not isinstance(payload, bytes):
                payload = str(payload).encode() if payload is not None else b""
            out = handle(msg.topic.value, payload, datetime.now(UTC))
            counters["samples"] += len(out)
            for s in out:
                yield s
            if router.outbox:
                self._send_outbox()
            if queue is not None:
                counters["dropped"] = queue.dropped

    def _send_outbox(self) -> None:
        client = self._client
        box, self.router.outbox = self.router.outbox, []
        if client is None:
            return
        for topic, payload, qos in box:
            task = asyncio.create_task(self._publish_quietly(client, topic, payload, qos))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _publish_quietly(self, client: aiomqtt.Client, topic: str, payload: bytes, qos: int) -> None:
        try:
            await client.publish(topic, payload, qos=qos)
        except aiomqtt.MqttError as exc:
            self.log.warning("mqtt %s: publishing to %s failed: %s", self.name, topic, exc)

    # -- writes --------------------------------------------------------------------------------------
    async def write(self, point: Point, value: Value) -> WriteResult:
        """Publish a command: the point's command topic/payload template, or a Sparkplug DCMD/NCMD."""
        client = self._client
        if client is None or not self._running:
            return WriteResult(NO_COMMUNICATION, f"{self.config.endpoint()} is not connected")
        a = point.address
        if not isinstance(a, MqttAddress):
            return WriteResult("BadNodeIdUnknown", f"{point.id} is not an MQTT point")
        try:
            topic, payload, qos, retain = self._command(point, a, value)
        except (SparkplugError, ValueError) as exc:
            return WriteResult("BadTypeMismatch" if "encode" in str(exc) else "BadOutOfRange", str(exc))
        if topic is None:
            return WriteResult("BadNotWritable", f"{point.id} has no command_topic")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as exc:
            return WriteResult("BadCommunicationError", f"publishing to {topic} failed: {exc}")
        self.counters["writes"] += 1
        return WriteResult("Good")

    def _command(self, point: Point, a: MqttAddress, value: Value) -> tuple[str | None, bytes, int, bool]:
        if a.payload == "sparkplug":
            assert a.group and a.node and a.metric
            alias, code = self.router.tracker.alias_of(a.group, a.node, a.device, a.metric)
            code = code or code_for(point.datatype)
            topic = a.sparkplug_topic("DCMD" if a.device else "NCMD")
            return topic, command_payload([(a.metric, alias, code, value)]), 0, False  # Sparkplug: commands at QoS 0
        if a.command_topic is None:
            return None, b"", 0, False
        values = {
            "asset": point.asset,
            "point": point.local_id,
            "point_id": point.id,
            "topic": a.topic or "",
            "timestamp": utcnow().isoformat(),
        }
        topic = fill(a.command_topic, values)
        payload = fill(a.command_payload, {**values, "value": json_literal(value), "text": text_of(value)})
        return topic, payload.encode(), a.command_qos, a.command_retain

    def describe(self) -> dict[str, Any]:
        """Subscriptions, rule routes and Sparkplug nodes (no credentials)."""
        r = self.router
        return {
            "subscriptions": dict(self.subscribed),
            "client_id": self.client_id,
            "protocol": self.config.protocol,
            "persistent_session": not self.config.clean_session,
            "topics": len(r.exact),
            "discovered_assets": len(r.discovered),
            "sparkplug_nodes": {
                f"{g}/{n}": {"online": s.node.online, "seq": s.seq, "devices": sorted(s.devices)}
                for (g, n), s in r.tracker.nodes.items()
            },
        }
