"""What a channel (the UNS, the Sparkplug edge node) is to its broker link and forwarder.

A channel turns twin changes into MQTT messages and handles the messages it subscribed to (commands, Sparkplug
STATE and NCMD). It never connects or buffers by itself: the link (``link.py``) owns the connection and the
forwarder (``forwarder.py``) decides whether a change is published now or goes to the on-disk buffer, and replays
the buffer in order when the channel is ``ready()`` again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.contract.sample import PointState


@dataclass(slots=True)
class Message:
    """One MQTT message to publish (never changed once made).

    Not ``frozen``: a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` and costs
    ~1.2 µs, a third of encoding a UNS value; this one ~0.3 µs. One is made per published value."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Any = None  # paho Properties (MQTT 5: response topic, correlation data), else None


class Outbox(Protocol):
    """What a channel may do on its broker's connection."""

    @property
    def connected(self) -> bool:
        """Whether the link is connected now."""

    def publish(self, message: Message) -> None:
        """Send on the live connection (dropped and counted when not connected: use it for control messages
        only; values go through the forwarder)."""


class Channel(Protocol):
    """One way of publishing the twin on a broker."""

    name: str  # "uns" or "sparkplug": a metrics label and the buffer's file name
    points: set[str]  # ids of the points it publishes (set by start, grown by add_points)
    counters: dict[str, int]  # its own counters (commands, refused commands, rebirths...), for describe and metrics
    on_ready_change: Callable[[bool], None] | None  # set by the forwarder: call when ready() flips
    # optional ``republish_on_connect = True``: after each reconnect the forwarder sends every current value once
    # more, behind any backlog (the UNS: what the broker retained may be gone); Sparkplug's births carry them

    async def start(self) -> None:
        """Resolve the selection, build topics / aliases (before the link first connects)."""

    def add_points(self, ids: Sequence[str]) -> None:
        """Points added at run time (discovery) that the selection picks: publish their metadata or rebirth."""

    def will(self) -> Message | None:
        """The MQTT will of the next connection (Sparkplug NDEATH with the next bdSeq), asked before each connect."""

    def subscriptions(self) -> list[tuple[str, int]]:
        """Topic filters and QoS to subscribe after each connect (commands, STATE, NCMD/DCMD)."""

    def on_connected(self, out: Outbox) -> None:
        """The link (re)connected and subscribed: publish metadata / births as the channel's state allows."""

    def on_disconnected(self) -> None:
        """The link dropped: forget session state (Sparkplug seq, host online...)."""

    def ready(self) -> bool:
        """Whether live values may be published now (UNS: connected; Sparkplug: also the primary host online and
        births sent). While False the forwarder buffers."""

    def encode(self, states: Sequence[PointState], *, historical: bool) -> list[Message]:
        """Messages carrying these changes (``historical``: replayed from the buffer, Sparkplug marks metrics
        ``is_historical``). States of points the channel does not publish are skipped."""

    async def on_message(
        self, topic: str, payload: bytes, properties: Any, out: Outbox, *, retained: bool = False
    ) -> None:
        """A message on one of its subscriptions (commands are written through the twin, answered on ``out``).
        ``retained``: the broker kept it (a STATE is; a command never should be, or it would be written again
        at every reconnect)."""
