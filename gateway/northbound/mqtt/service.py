"""The ``mqtt`` northbound service: the twin published on one or more brokers, as a UNS and/or a Sparkplug B node.

Per broker: one ``BrokerLink`` (the connection), its channels (``uns.UnsChannel``, ``sparkplug_edge.SparkplugEdge``)
and per channel a ``Forwarder`` with its on-disk buffer ``<folder>/<channel>.sqlite``. The folder is
``buffer.path``, else ``<twin.store>-mqtt/<broker name>``, else a temporary folder (logged; it does not survive a
restart and is removed at stop). Health (``/health``): not ok while a broker is disconnected or a channel buffers
or replays; metrics on the view's registry (``metrics.MqttCollector``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.northbound.mqtt.buffer import BufferLocked, StateBuffer
from gateway.northbound.mqtt.channel import Channel
from gateway.northbound.mqtt.config import MqttBroker, MqttNorthConfig
from gateway.northbound.mqtt.forwarder import Forwarder
from gateway.northbound.mqtt.link import BrokerLink
from gateway.northbound.mqtt.metrics import MqttCollector
from gateway.state_folder import StateFolder
from gateway.twin.view import ServiceHealth

if TYPE_CHECKING:
    from adapters.contract.model import Asset, Point
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.mqtt_north")

# (broker settings, view, the broker's state folder) -> its channels
ChannelFactory = Callable[[MqttBroker, "TwinView", Path], list[Channel]]


def default_channels(broker: MqttBroker, view: TwinView, folder: Path) -> list[Channel]:
    """The UNS and Sparkplug channels the broker's settings ask for (imported only when asked for)."""
    out: list[Channel] = []
    if broker.uns is not None and broker.uns.enabled:
        uns: Any = import_module("gateway.northbound.mqtt.uns")
        out.append(uns.UnsChannel(broker, broker.uns, view))
    if broker.sparkplug is not None and broker.sparkplug.enabled:
        edge: Any = import_module("gateway.northbound.mqtt.sparkplug_edge")
        out.append(edge.SparkplugEdge(broker, broker.sparkplug, view, folder))
    return out


class MqttNorth:
    """The ``mqtt`` northbound service."""

    name = "mqtt"

    def __init__(
        self, config: MqttNorthConfig, view: TwinView, *, channel_factory: ChannelFactory | None = None
    ) -> None:
        self.config = config
        self.view = view
        self.make_channels = channel_factory or default_channels
        self.links: dict[str, BrokerLink] = {}
        self.forwarders: dict[str, list[Forwarder]] = {}
        self._folder = StateFolder("mqtt", view.model.settings.store, hint="buffer.path")
        self._collector: MqttCollector | None = None
        self._running = False

    # -- where buffers live -----------------------------------------------------------------------------
    def folder(self, broker: MqttBroker) -> Path:
        """The broker's buffer folder."""
        if broker.buffer.path:
            return Path(broker.buffer.path)
        return self._folder.path() / broker.name

    # -- lifecycle --------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Build every broker's channels and buffers, then connect in the background (a broker that is away
        does not hold up the gateway: its values are buffered)."""
        files = self.view.model.files
        base_dir = Path(files[0]).parent if files else Path(".")
        self._running = True
        try:
            for broker in self.config.brokers:
                folder = self.folder(broker)
                channels = self.make_channels(broker, self.view, folder)
                for ch in channels:
                    await ch.start()
                link = BrokerLink(broker, channels, base_dir)
                self.links[broker.name] = link
                self.forwarders[broker.name] = [self._forwarder(broker, link, ch, folder) for ch in channels]
        except BaseException:
            await self.stop()
            raise
        for name, link in self.links.items():
            for fw in self.forwarders[name]:
                fw.start()
            link.start()
        self.view.add_model_listener(self._on_model)
        self.view.add_service_health(self.name, self.health)
        self._collector = MqttCollector(self._parts)
        self.view.metrics.register(self._collector)

    def _forwarder(self, broker: MqttBroker, link: BrokerLink, ch: Channel, folder: Path) -> Forwarder:
        settings = broker.buffer
        try:
            buffer = StateBuffer(folder / f"{ch.name}.sqlite", max_bytes=settings.max_bytes, max_age=settings.max_age)
        except BufferLocked as exc:
            raise RuntimeError(f"mqtt broker {broker.name}: {exc} (give each gateway its own buffer.path)") from None
        if buffer.count:
            log.info(
                "mqtt %s/%s: %d value(s) buffered from before, replayed when possible",
                broker.name,
                ch.name,
                buffer.count,
            )
        return Forwarder(link, ch, buffer, self.view, replay_rate=settings.replay_rate)

    async def stop(self) -> None:
        """Stop sending, say goodbye on each broker (what is unacknowledged goes back to the buffers), buffer
        what is still queued and close the buffers. Idempotent."""
        self._running = False
        forwarders = [fw for fws in self.forwarders.values() for fw in fws]
        for fw in forwarders:
            await fw.pause()
        await asyncio.gather(*(link.stop() for link in self.links.values()))
        for fw in forwarders:
            await fw.close()
        for link in self.links.values():
            for ch in link.channels:
                close = getattr(ch, "close", None)
                if close is not None:
                    close()
        self.links.clear()
        self.forwarders.clear()
        if self._collector is not None:
            self.view.metrics.unregister(self._collector)
            self._collector = None
        self._folder.cleanup()

    def endpoints(self) -> list[str]:
        """Each broker and what it carries."""
        out = []
        for b in self.config.brokers:
            parts = [n for n, s in (("UNS", b.uns), ("Sparkplug B", b.sparkplug)) if s is not None and s.enabled]
            out.append(f"{b.endpoint()} ({', '.join(parts)}) as {b.name}")
        return out

    def _on_model(self, assets: list[Asset], points: list[Point]) -> None:
        """Points added at run time: channels follow their selection themselves; forwarders look again."""
        if not self._running:
            return
        for fws in self.forwarders.values():
            for fw in fws:
                fw.wake()

    # -- health and metrics -----------------------------------------------------------------------------
    def _parts(self) -> list[tuple[BrokerLink, list[Forwarder]]]:
        return [(link, self.forwarders.get(name, [])) for name, link in self.links.items()]

    def health(self) -> ServiceHealth:
        """Not ok while any broker is disconnected or any channel buffers or replays."""
        brokers: dict[str, Any] = {}
        ok = True
        for link, fws in self._parts():
            channels = {fw.channel.name: fw.state for fw in fws}
            buffered = sum(fw.buffer.count for fw in fws)
            well = link.connected and all(st == "live" for st in channels.values())
            ok = ok and well
            brokers[link.name] = {
                "state": link.state,
                "endpoint": link.broker.endpoint(),
                "channels": channels,
                "buffered": buffered,
                "last_error": link.last_error,
            }
        if ok:
            state = "publishing"
        elif any(not link.connected for link in self.links.values()):
            state = "disconnected"
        else:
            state = "buffering"
        return ServiceHealth(ok, state, {"brokers": brokers})
