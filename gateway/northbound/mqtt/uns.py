"""The twin as a Unified Namespace: one JSON topic per point under its asset path, ``_meta`` per asset, commands.

A Channel (channel.py): the link owns the connection and the forwarder decides between publishing and the
buffer; this turns states into messages (``encode``, the hot path), publishes each asset's metadata (retained)
once per connection and when points are added, and writes the commands it receives through the twin.

Command subscriptions are filters one per depth below the namespace's fixed head (``twinbridge/+/+/set``,
``twinbridge/+/+/+/set``...; depths 1 to 8, deeper when a point needs it), not one per point: a reconnect
subscribes a handful of filters whatever the size of the twin, points added at run time are reachable at once,
and a command to a point that is not writable is answered (refused) instead of going nowhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from adapters.contract.sample import PointState
from gateway.northbound.mqtt.channel import Message, Outbox
from gateway.northbound.mqtt.commands import Commands
from gateway.northbound.mqtt.selection import watch_selection
from gateway.northbound.mqtt.uns_payload import PointPayload, meta_json
from gateway.northbound.mqtt.uns_topics import SET, Collision, Namespace, TopicTemplate, check_prefix

if TYPE_CHECKING:
    from gateway.analytics.selectors import Selections
    from gateway.northbound.mqtt.config import MqttBroker, UnsSettings
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.mqtt.north")

COMMAND_DEPTHS = range(1, 9)  # levels below the head that command filters cover from the start


class UnsChannel:
    """One broker's Unified Namespace."""

    # after every reconnect the forwarder publishes each current value once more, behind any backlog: a broker
    # restarted without persistence has lost the retained values a new subscriber relies on
    republish_on_connect = True

    name = "uns"

    def __init__(self, broker: MqttBroker, settings: UnsSettings, view: TwinView) -> None:
        self.broker = broker
        self.settings = settings
        self.view = view
        self.points: set[str] = set()
        self.counters: dict[str, int] = {"topic_collisions": 0, "meta_published": 0}
        self.on_ready_change: Callable[[bool], None] | None = None
        self.namespace = Namespace(
            TopicTemplate.parse(settings.topic),
            check_prefix(settings.prefix),
            view.model,
            meta=settings.meta,
            commands=settings.commands,
        )
        self.commands = Commands(view, broker=broker.name, role=settings.command_role, counters=self.counters)
        self._payloads: dict[str, PointPayload] = {}
        self._by_asset: dict[str, list[str]] = {}  # asset id -> its published points, in mapping order
        self._command_topics: dict[str, str] = {}  # <point topic>/set -> point id
        self._head = self.namespace.head()
        self._depths: set[int] = set(COMMAND_DEPTHS)  # command filters of the current (or next) connection
        self._left_out: set[str] = set()  # points whose topic collided (logged once)
        self._out: Outbox | None = None
        self._connected = False
        self._watch: Selections | None = None

    # -- Channel: lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Resolve the selection, build every topic and payload encoder; follow points added at run time."""
        picked, self._watch = await watch_selection(self.view, self.settings.select, self.add_points)
        self.add_points(picked)
        log.info(
            "UNS on %s: %d points under %s (%s)%s",
            self.broker.name,
            len(self.points),
            self._head or "the broker's root",
            self.settings.topic,
            ", commands on <point topic>/set" if self.settings.commands else "",
        )

    def close(self) -> None:
        """Stop following run-time additions and cancel commands in flight."""
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self.commands.close()

    def add_points(self, ids: Iterable[str]) -> None:
        """Points the selection picks (at start, or added at run time): their topics, then their assets'
        metadata when connected. Idempotent; a point whose topic collides is left out (logged once, counted)."""
        model = self.view.model
        wanted = set(ids)
        touched: set[str] = set()
        for pid in [p for p in model.points if p in wanted]:  # mapping order: the first of two on a topic wins
            if pid in self._payloads or pid in self._left_out:
                continue
            point = model.points[pid]
            placed, collisions = self.namespace.add_point(point)
            for c in collisions:
                self._collided(c)
            if not placed:
                self._left_out.add(pid)
                continue
            topic = self.namespace.point_topics[pid]
            self._payloads[pid] = PointPayload(topic, point.unit)
            self._by_asset.setdefault(point.asset, []).append(pid)
            touched.update([point.asset, *(a.id for a in model.ancestors(point.asset))])
            if self.settings.commands:
                self._command_topics[f"{topic}/{SET}"] = pid
                self._check_depth(pid, topic)
        self.points = set(self._payloads)
        out = self._out
        if touched and out is not None and self._connected:
            self._publish_meta(out, touched)

    def _collided(self, c: Collision) -> None:
        self.counters["topic_collisions"] += 1
        log.warning("UNS on %s: %s; the second is not published (change the topic template)", self.broker.name, c)

    def _check_depth(self, pid: str, topic: str) -> None:
        depth = self._depth(topic)
        if depth in self._depths:
            return
        if self._connected:
            log.warning(
                "UNS on %s: commands to %s are taken after the next reconnect (its topic is %d levels deep)",
                self.broker.name,
                pid,
                depth,
            )
        self._depths.add(depth)

    def _depth(self, topic: str) -> int:
        below = topic[len(self._head) :].strip("/") if self._head else topic
        return below.count("/") + 1

    def will(self) -> Message | None:
        """The UNS has no will (each value carries its own quality)."""
        return None

    def subscriptions(self) -> list[tuple[str, int]]:
        """Command filters, one per topic depth, when commands are on."""
        if not self.settings.commands:
            return []
        head = f"{self._head}/" if self._head else ""
        return [(head + "+/" * depth + SET, 1) for depth in sorted(self._depths)]

    def on_connected(self, out: Outbox) -> None:
        """Publish every asset's metadata (retained), then values may flow."""
        self._out = out
        self._connected = True
        self._publish_meta(out, self._by_asset.keys() | set(self.namespace.meta_topics))
        if self.on_ready_change is not None:
            self.on_ready_change(True)

    def on_disconnected(self) -> None:
        """The link dropped: values go to the buffer until it is back."""
        self._connected = False
        if self.on_ready_change is not None:
            self.on_ready_change(False)

    def ready(self) -> bool:
        """Connected."""
        return self._connected

    # -- values ------------------------------------------------------------------------------------------
    def encode(self, states: Sequence[PointState], *, historical: bool) -> list[Message]:
        """One retained (per settings) JSON message per state; replayed states look exactly like live ones."""
        payloads = self._payloads
        qos, retain = self.settings.qos, self.settings.retain
        out = []
        for s in states:
            p = payloads.get(s.point)
            if p is not None:
                out.append(Message(p.topic, p.encode(s), qos, retain))
        return out

    # -- metadata ----------------------------------------------------------------------------------------
    def meta_message(self, asset_id: str) -> Message | None:
        """The ``_meta`` message of an asset (None when metadata is off or its topic collided)."""
        topic = self.namespace.meta_topics.get(asset_id)
        model = self.view.model
        if not topic or asset_id not in model.assets:
            return None
        ids = self.view.ids
        points = [
            (model.points[pid], ids.point(pid), self.namespace.point_topics[pid])
            for pid in self._by_asset.get(asset_id, [])
        ]
        payload = meta_json(
            model.assets[asset_id],
            iri=ids.asset(asset_id),
            parents=model.ancestors(asset_id),
            topic=self.namespace.asset_topic(asset_id),
            points=points,
            commands=self.settings.commands,
        )
        return Message(topic, payload, qos=1, retain=True)

    def _publish_meta(self, out: Outbox, assets: Iterable[str]) -> None:
        for asset_id in sorted(assets):
            message = self.meta_message(asset_id)
            if message is not None:
                out.publish(message)
                self.counters["meta_published"] += 1

    # -- commands ----------------------------------------------------------------------------------------
    async def on_message(
        self, topic: str, payload: bytes, properties: Any, out: Outbox, *, retained: bool = False
    ) -> None:
        """A message on a command filter: a command to a published point, an unknown one under the head, or an
        echo of one of our own topics that happens to end in ``/set`` (ignored)."""
        if not self.settings.commands or not topic.endswith("/" + SET):
            return
        pid = self._command_topics.get(topic)
        ours = bool(self._head) and topic.startswith(self._head + "/")
        if pid is None and (topic in self.namespace.owners or not ours):
            return  # an echo of a value topic, or someone else's namespace: not ours to answer
        self.commands.handle(pid, topic, payload, properties, out, retained=retained)
