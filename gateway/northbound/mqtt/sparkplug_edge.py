"""The twin as a Sparkplug B edge node on one broker (a Channel: ``channel.py``).

Session: every CONNECT carries NDEATH as its will with the next bdSeq (kept on disk, so it goes on across
restarts); once connected (and, with ``primary_host``, once that host's STATE says online) the node publishes
NBIRTH (bdSeq, ``Node Control/Rebirth``, version) and one DBIRTH per device with current values; then DDATA
carry the twin's changes by alias. Every message of a session has a seq 0..255 that wraps. When the primary
host goes offline the node publishes NDEATH and holds values (``ready()`` is False: the forwarder buffers);
when it is back the node is born again and the forwarder replays what it held, as ``is_historical`` metrics with
their original timestamps. NCMD ``Node Control/Rebirth`` = true publishes the births again; DCMD metrics (by name
or alias) are written through the twin when ``commands`` is on. Sparkplug has no response topic: the outcome
of a write shows in the next DDATA, and refusals are logged and counted.

All Sparkplug messages are QoS 0, not retained, as the specification requires (the will is QoS 1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.contract.sample import PointState
from gateway import __version__
from gateway.northbound.mqtt.channel import Message, Outbox
from gateway.northbound.mqtt.selection import watch_selection
from gateway.northbound.mqtt.sparkplug_births import (
    MAX_METRICS_PER_DATA,
    Catalog,
    DeviceDef,
    MetricDef,
    device_birth,
    device_data,
    node_birth,
)
from gateway.northbound.mqtt.sparkplug_state import BdSeqStore, PrimaryHost, StateError, parse_state, state_topics
from gateway.northbound.roles import allows
from protocols.sparkplug import codec

if TYPE_CHECKING:
    from gateway.analytics.selectors import Selections
    from gateway.northbound.mqtt.config import MqttBroker, SparkplugSettings
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.mqtt.sparkplug")
COUNTERS = (
    "births",  # NBIRTH sequences published (connect, host online, rebirth, ...)
    "rebirth_requests",  # NCMD Node Control/Rebirth received
    "host_offline",  # times the primary host went offline while the node was born
    "ddata",  # DDATA messages encoded
    "commands",  # DCMD metrics written through the twin
    "commands_failed",  # of which the twin or the device refused
    "commands_refused",  # DCMD metrics refused: commands off, or a role that may not write
    "commands_malformed",  # undecodable payloads, unknown devices, metrics or aliases
    "state_malformed",  # STATE payloads that are neither 3.0 JSON nor 2.2 ONLINE/OFFLINE
    "commands_retained",  # retained NCMD/DCMD ignored (a command must not be replayed at every reconnect)
)


class SparkplugEdge:
    """One broker's Sparkplug B edge node: devices per asset, metrics per point."""

    name = "sparkplug"

    def __init__(
        self, broker: MqttBroker, settings: SparkplugSettings, view: TwinView, state_dir: Path | str | None
    ) -> None:
        self.broker = broker
        self.settings = settings
        self.view = view
        self.points: set[str] = set()
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.on_ready_change: Callable[[bool], None] | None = None
        self.catalog = Catalog()
        self.group, self.node = settings.group, settings.node
        self.bdseq_store = BdSeqStore(state_dir, self.group, self.node)
        self.bdseq: int | None = None  # of the current (or next) connection: its will and its NBIRTH
        self.host = PrimaryHost(settings.primary_host) if settings.primary_host else None
        self.actor = f"sparkplug:{broker.name}"
        self.may_write = settings.commands and allows(settings.command_role, "operator")
        self._prefix = f"{codec.SPARKPLUG_NS}/{self.group}"
        self._seq = 0
        self._out: Outbox | None = None
        self._connected = False
        self._born = False
        self._sent_quality: dict[str, int] = {}  # point -> the quality the host was last told (live values)
        self._watch: Selections | None = None

    # -- Channel: lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Resolve the selection and build devices, metrics and aliases; follow points added at run time."""
        picked, self._watch = await watch_selection(self.view, self.settings.select, self.add_points)
        self._add(picked)
        log.info(
            "Sparkplug edge node %s/%s on %s: %d devices, %d metrics%s",
            self.group,
            self.node,
            self.broker.name,
            len(self.catalog.devices),
            len(self.points),
            f", primary host {self.host.host_id}" if self.host else "",
        )

    def close(self) -> None:
        """Stop following points added at run time."""
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def add_points(self, ids: Iterable[str]) -> None:
        """Points the selection picks that were added at run time: a DBIRTH of each device that gained metrics
        (born now: its DDATA may follow at once)."""
        changed = self._add(ids)
        if changed and self._born and self._out is not None:
            states = self.view.states()
            for device_id in changed:
                self._publish_dbirth(self._out, self.catalog.devices[device_id], states)

    def _add(self, ids: Iterable[str]) -> list[str]:
        model = self.view.model
        points = [model.points[i] for i in ids if i in model.points]
        changed = self.catalog.add(points, model.assets)
        self.points = set(self.catalog.by_point)
        return changed

    def will(self) -> Message:
        """NDEATH with the next bdSeq (saved first, so a restart never reuses it)."""
        self.bdseq = self.bdseq_store.next()
        return Message(f"{self._prefix}/NDEATH/{self.node}", codec.death_payload(self.bdseq), qos=1, retain=False)

    def subscriptions(self) -> list[tuple[str, int]]:
        """NCMD and DCMD of this node, and the primary host's STATE (3.0 and 2.2 topics)."""
        subs = [(f"{self._prefix}/NCMD/{self.node}", 1), (f"{self._prefix}/DCMD/{self.node}/+", 1)]
        if self.host is not None:
            subs += [(t, 1) for t in state_topics(self.host.host_id)]
        return subs

    def on_connected(self, out: Outbox) -> None:
        """A new MQTT session: born now, or once the primary host's (retained) STATE says online."""
        self._out = out
        self._connected = True
        if self.host is None or self.host.online:
            self._birth(out)

    def on_disconnected(self) -> None:
        """The session is over (the broker publishes our will): births again on the next one."""
        was = self.ready()
        self._connected = self._born = False
        if self.host is not None:
            self.host.disconnected()
        self._notify(was)

    def ready(self) -> bool:
        """Connected and born (with a primary host: it is online)."""
        return self._connected and self._born

    # -- births ---------------------------------------------------------------------------------------
    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) % 256
        return seq

    def _birth(self, out: Outbox) -> None:
        """NBIRTH (seq 0) then one DBIRTH per device, with current values."""
        if self.bdseq is None:  # a link that asked for no will: still number the session
            self.bdseq = self.bdseq_store.next()
        self._seq = 0
        out.publish(
            Message(f"{self._prefix}/NBIRTH/{self.node}", node_birth(self.bdseq, self._next_seq(), __version__))
        )
        states = self.view.states()
        for device in self.catalog.devices.values():
            self._publish_dbirth(out, device, states)
        self.counters["births"] += 1
        self._set_born(True)

    def _publish_dbirth(self, out: Outbox, device: DeviceDef, states: Any) -> None:
        iri = self.view.ids.asset(device.asset) if device.asset in self.view.model.assets else None
        payload = device_birth(device, states, self._next_seq(), iri, self._sent_quality)
        out.publish(Message(f"{self._prefix}/DBIRTH/{self.node}/{device.id}", payload))

    def _set_born(self, born: bool) -> None:
        was = self.ready()
        self._born = born
        self._notify(was)

    def _notify(self, was: bool) -> None:
        now = self.ready()
        if now != was and self.on_ready_change is not None:
            self.on_ready_change(now)

    # -- values -----------------------------------------------------------------------------------------
    def encode(self, states: Sequence[PointState], *, historical: bool) -> list[Message]:
        """DDATA per device (in the order the changes came, at most MAX_METRICS_PER_DATA each), by alias."""
        by_device: dict[str, list[tuple[MetricDef, PointState]]] = {}
        for state in states:
            entry = self.catalog.by_point.get(state.point)
            if entry is not None:
                by_device.setdefault(entry[0].id, []).append((entry[1], state))
        out: list[Message] = []
        for device_id, metrics in by_device.items():
            device = self.catalog.devices[device_id]
            for i in range(0, len(metrics), MAX_METRICS_PER_DATA):
                chunk = metrics[i : i + MAX_METRICS_PER_DATA]
                payload = device_data(device, chunk, self._next_seq(), historical=historical, sent=self._sent_quality)
                out.append(Message(f"{self._prefix}/DDATA/{self.node}/{device.id}", payload))
        self.counters["ddata"] += len(out)
        return out

    # -- incoming ---------------------------------------------------------------------------------------
    async def on_message(
        self, topic: str, payload: bytes, properties: Any, out: Outbox, *, retained: bool = False
    ) -> None:
        """STATE of the primary host (retained), NCMD (rebirth) and DCMD (writes; a retained one is ignored)."""
        self._out = out
        if self.host is not None and topic in state_topics(self.host.host_id):
            self._on_state(topic, payload, out)
            return
        t = codec.parse_topic(topic)
        if t is None or t.group != self.group or t.node != self.node:
            return
        if retained:  # Sparkplug B: commands are never retained; one would be replayed at every reconnect
            self.counters["commands_retained"] += 1
            log.warning("Sparkplug: a retained %s on %s is ignored (publish commands with retain false)", t.type, topic)
            return
        try:
            msg = codec.decode(payload)
        except codec.SparkplugError as exc:
            self.counters["commands_malformed"] += 1
            log.warning("Sparkplug: %s on %s ignored: %s", t.type, topic, exc)
            return
        if t.type == "NCMD":
            self._on_ncmd(msg, out)
        elif t.type == "DCMD" and t.device is not None:
            await self._on_dcmd(t.device, msg)

    def _on_state(self, topic: str, payload: bytes, out: Outbox) -> None:
        assert self.host is not None
        try:
            state = parse_state(topic, payload)
        except StateError as exc:
            self.counters["state_malformed"] += 1
            log.warning("Sparkplug: %s", exc)
            return
        was_online = self.host.online
        if not self.host.apply(state) or state.online == was_online:
            return
        log.info("Sparkplug: primary host %s is %s", self.host.host_id, "online" if state.online else "offline")
        if state.online:
            if self._connected and not self._born:
                self._birth(out)
        elif self._born:
            # The specification's edge node publishes NDEATH and reconnects; here the session stays and the
            # NDEATH (this session's bdSeq) tells every other host the node's values are no longer live.
            self.counters["host_offline"] += 1
            assert self.bdseq is not None
            out.publish(Message(f"{self._prefix}/NDEATH/{self.node}", codec.death_payload(self.bdseq)))
            self._set_born(False)

    def _on_ncmd(self, msg: Any, out: Outbox) -> None:
        for m in msg.metrics:
            if m.name != codec.REBIRTH_METRIC:
                self.counters["commands_malformed"] += 1
                log.warning("Sparkplug: NCMD metric %r is not supported", m.name or f"alias {m.alias}")
                continue
            try:
                wanted = codec.metric_value(m, m.datatype or codec.infer_code(m))
            except codec.SparkplugError:
                wanted = None
            if wanted is not True:
                continue
            self.counters["rebirth_requests"] += 1
            if self._connected and (self.host is None or self.host.online):
                log.info("Sparkplug: rebirth requested")
                self._birth(out)
            else:
                log.info("Sparkplug: rebirth requested while the primary host is offline: births wait for it")

    async def _on_dcmd(self, device_id: str, msg: Any) -> None:
        device = self.catalog.devices.get(device_id)
        if device is None:
            self.counters["commands_malformed"] += 1
            log.warning("Sparkplug: DCMD for unknown device %s ignored", device_id)
            return
        for m in msg.metrics:
            metric = device.by_name.get(m.name) if m.name else device.by_alias.get(m.alias)
            if metric is None:
                self.counters["commands_malformed"] += 1
                what = repr(m.name) if m.name else f"alias {m.alias}"
                log.warning("Sparkplug: DCMD for unknown metric %s of device %s ignored", what, device_id)
                continue
            try:
                value = codec.metric_value(m, m.datatype or metric.code)
            except codec.SparkplugError as exc:
                self.counters["commands_malformed"] += 1
                log.warning("Sparkplug: DCMD %s ignored: %s", metric.point, exc)
                continue
            if not self.may_write:
                self.counters["commands_refused"] += 1
                why = "commands are off" if not self.settings.commands else f"role {self.settings.command_role}"
                log.warning("Sparkplug: DCMD %s = %r refused (%s)", metric.point, value, why)
                continue
            self.counters["commands"] += 1
            result = await self.view.write(metric.point, value, actor=self.actor)
            if not result.ok:
                self.counters["commands_failed"] += 1
