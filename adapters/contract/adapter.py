"""The one interface every protocol adapter implements.

An adapter is built from validated config (no I/O in ``__init__``), connects in ``start()``, yields normalized
samples from ``samples()`` until stopped, and optionally writes values back. It never reconnects by itself:
when the transport fails, ``samples()`` raises ``AdapterDisconnected`` and the supervisor owns the backoff.
"""

from __future__ import annotations

import enum
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from adapters.contract.config import Address, SourceConfig
from adapters.contract.sample import Sample, Value
from adapters.contract.status import StatusError
from adapters.contract.units import UnitCatalog

if TYPE_CHECKING:
    from adapters.contract.discovery import Discover, ProfileCatalog
    from adapters.contract.model import Point


class AdapterError(StatusError):
    """Base of adapter errors; ``status`` is the OPC UA status name the affected points get."""

    status: str = "BadCommunicationError"

    def __init__(self, reason: str, *, status: str | None = None) -> None:
        super().__init__(status or self.status, reason)


class AdapterUnavailable(AdapterError):
    """``start()`` could not connect; ``retryable=False`` means retrying cannot help (bad credentials...)."""

    status = "BadNotConnected"

    def __init__(self, reason: str, *, retryable: bool = True, status: str | None = None) -> None:
        super().__init__(reason, status=status)
        self.retryable = retryable


class AdapterDisconnected(AdapterError):
    """The transport failed while running; the supervisor marks the points and reconnects."""

    status = "BadCommunicationError"


class ConnectionState(enum.StrEnum):
    """Connection state of a source, as reported to the API and metrics."""

    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The device's answer to a write: an OPC UA status name plus detail."""

    status: str = "Good"
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the device accepted the write."""
        return self.status.startswith("Good")


@dataclass
class AdapterContext:
    """What the gateway hands an adapter besides its config and points."""

    logger: logging.Logger
    profiles: ProfileCatalog | None = None  # the mapping's device profiles, read-only
    # Builds a mapping fragment found at run time (e.g. by MQTT topic rules) with the loader's own point builder
    # and adds it (adapters.contract.discovery); None when the adapter runs without the core.
    discover: Discover | None = None
    base_dir: str = "."
    # The core's unit lookups (UNECE codes, conversions); None when the adapter is built without the core.
    units: UnitCatalog | None = None


# A kind's discovery command: (its command-line arguments, the core's units) -> exit status.
DiscoveryCommand = Callable[[list[str], UnitCatalog], int]


class Adapter(ABC):
    """Base class of protocol adapters. Subclasses set the class attributes and implement the methods."""

    kind: ClassVar[str]
    config_model: ClassVar[type[SourceConfig]]
    address_model: ClassVar[type[Address]]
    supports_write: ClassVar[bool] = False
    push_based: ClassVar[bool] = False
    # Placeholders a device profile may leave unfilled for this kind: the adapter fills them at run time
    # (e.g. MQTT command payload templates).
    profile_placeholders: ClassVar[frozenset[str]] = frozenset()
    # "module:function" of the DiscoveryCommand ``twinbridge discover <kind>`` runs (browse a device into a
    # draft mapping), imported only when run; None when the kind offers no discovery.
    discovery: ClassVar[str | None] = None

    def __init__(self, config: SourceConfig, points: Sequence[Point], context: AdapterContext) -> None:
        self.config = config
        self.name = config.id
        self.points: dict[str, Point] = {p.id: p for p in points}
        self.context = context
        self.log = context.logger
        # Plain ints, read by the metrics collector at scrape time (cheaper than Prometheus calls per sample).
        self.counters: dict[str, int | float] = {}

    # -- what the kind brings besides the run-time code -----------------------------------------------
    @classmethod
    def ontology(cls) -> Path | None:
        """The Turtle fragment declaring the terms this kind's addresses write: ``ontology.ttl`` next to the
        adapter's module, or None when there is none."""
        module = sys.modules[cls.__module__].__file__
        path = Path(module).parent / "ontology.ttl" if module else None
        return path if path is not None and path.is_file() else None

    # -- config-time hooks (no I/O) -------------------------------------------------------------
    @classmethod
    def check_point(cls, config: SourceConfig, point: Point) -> list[str]:
        """Problems with one point bound to this kind of source (e.g. an encoding that cannot hold the datatype)."""
        return []

    @classmethod
    def check_source(cls, config: SourceConfig, points: Sequence[Point]) -> list[tuple[str | None, str]]:
        """Problems across all points of a source, as (point id or None, message) pairs.

        An adapter that needs the mapping's device profiles (e.g. rules naming a profile) may declare a
        keyword-only ``profiles`` parameter; the loader then passes a read-only ``ProfileCatalog``.
        """
        return []

    # -- run-time ---------------------------------------------------------------------------------
    @abstractmethod
    async def start(self) -> None:
        """Connect; raise ``AdapterUnavailable`` when that is impossible right now."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect and release everything; idempotent. No sample comes out after it returns."""

    @abstractmethod
    def samples(self) -> AsyncIterator[Sample]:
        """Yield normalized samples until stopped; raise ``AdapterDisconnected`` on a transport fault."""

    async def write(self, point: Point, value: Value) -> WriteResult:
        """Write a raw (already inverse-transformed) value to the device; only when ``supports_write``."""
        return WriteResult("BadNotWritable", f"{self.kind} sources do not support writes")

    def add_points(self, points: Sequence[Point]) -> None:
        """Start serving points added at run time (discovery)."""
        for p in points:
            self.points[p.id] = p

    def describe(self) -> dict[str, Any]:
        """Extra, credential-free state for the API's /sources (subscriptions, last poll...)."""
        return {}
