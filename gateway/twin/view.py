"""The twin as northbound services see it: a narrow door instead of the whole running gateway.

A service (OPC UA server, HTTP API, and the next ones: history, analytics, dashboards) gets a ``TwinView``: it
reads the model and the live states, subscribes to changes, queries the graph, follows its updates (replicas),
writes through the twin's validation, and reads each source's health as a plain snapshot. It never sees the
supervisors, the adapters, the store or the twin's locks, so the runtime can change them freely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from adapters.contract.sample import PointState, Quality

if TYPE_CHECKING:
    from adapters.contract.adapter import WriteResult
    from adapters.contract.model import Asset, Point
    from gateway.model import TwinModel
    from gateway.twin.events import Overflow, Subscription
    from gateway.twin.twin import Twin
    from gateway.twin.vocab import TwinIRIs


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source's connection state and counters, credential-free (the API's ``/sources`` entry)."""

    id: str
    kind: str
    label: str
    endpoint: str | None
    state: str  # a ConnectionState value: connected, connecting, disconnected, stopped, disabled
    connected_since: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    points: int = 0
    samples_in: int = 0
    bad_samples: int = 0
    suppressed: int = 0
    reconnects: int = 0
    counters: Mapping[str, Any] = field(default_factory=dict)  # the adapter's own
    details: Mapping[str, Any] = field(default_factory=dict)  # the adapter's describe()

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """How a northbound service is doing, for ``/health``: ``ok`` False degrades the gateway (e.g. the MQTT
    service buffering while its broker is away); ``detail`` is plain data for JSON."""

    ok: bool
    state: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TwinStats:
    """The twin's own figures, for metrics."""

    points_by_quality: Mapping[Quality, int]
    samples_applied: int
    flushes: int
    points_written: int
    flush_seconds: float
    pending_points: int
    subscribers: int
    queued_changes: int
    dropped_changes: int
    writes: Mapping[str, int]


def _no_sources() -> Mapping[str, SourceHealth]:
    return {}


class TwinView:
    """What a northbound service may use of the running twin."""

    def __init__(
        self,
        twin: Twin,
        health: Callable[[], Mapping[str, SourceHealth]] = _no_sources,
        metrics: CollectorRegistry | None = None,
    ) -> None:
        self._twin = twin
        self._health = health
        # Services register their own metrics here; the runtime's collector is on it too.
        self.metrics = metrics if metrics is not None else CollectorRegistry(auto_describe=True)
        # Set by the runtime when history is on: a HistoryReader and the StoreLocation other processes open.
        # Typed Any because the twin may not import gateway.history (a higher layer); services read them
        # through gateway.history.model.reader_of(view) / location_of(view).
        self.history: Any = None
        self.history_location: Any = None
        # Set by the runtime when the mapping has analytics: the AlarmService (gateway.analytics.model.alarms_of).
        self.analytics: Any = None
        # Set by the runtime for a central view (twin: remote:): the store's settings and default graphs
        # (gateway.central.service.RemoteDataset), so the HTTP API sends SPARQL to the shared store.
        self.remote: Any = None
        self._service_health: dict[str, Callable[[], ServiceHealth]] = {}

    # -- the model ------------------------------------------------------------------------------------
    @property
    def model(self) -> TwinModel:
        """Assets, points, sources and settings (read only: run-time additions go through the runtime)."""
        return self._twin.model

    @property
    def ids(self) -> TwinIRIs:
        """IRIs of assets, points and graphs."""
        return self._twin.ids

    def add_model_listener(self, cb: Callable[[list[Asset], list[Point]], None]) -> None:
        """Call ``cb(assets, points)`` after assets and points are added at run time (discovery)."""
        self._twin.add_model_listener(cb)

    # -- live values ----------------------------------------------------------------------------------
    def state(self, point_id: str) -> PointState:
        """The current state of a point (``KeyError`` when unknown)."""
        return self._twin.state(point_id)

    def states(self) -> Mapping[str, PointState]:
        """The current state of every point."""
        return self._twin.states()

    def subscribe(
        self, points: Iterable[str] | None = None, *, maxsize: int = 10_000, overflow: Overflow = "conflate"
    ) -> Subscription:
        """Change events of all points, or of the given ones."""
        return self._twin.subscribe(points, maxsize=maxsize, overflow=overflow)

    async def write(self, point_id: str, value: Any, *, actor: str) -> WriteResult:
        """Validate a value and send it to the point's device; the device's outcome."""
        return await self._twin.write(point_id, value, actor=actor)

    # -- the graph ------------------------------------------------------------------------------------
    async def query(self, sparql: str, consume: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        """A SPARQL query in a worker thread, on a snapshot with every applied sample (``Twin.query``)."""
        return await self._twin.query(sparql, consume, **kwargs)

    def flush(self) -> int:
        """Write changed live values to the graph now (any thread)."""
        return self._twin.flush()

    def update_graph(self, update: str) -> None:
        """Apply a SPARQL update to a side graph of the twin (alarms, annotations), never the model or live graph."""
        self._twin.update_graph(update)

    def held_updates(self) -> AbstractContextManager[Callable[[], bytes]]:
        """Hold graph updates while a replica starts; yields the N-Quads dump the next update follows."""
        return self._twin.held_updates()

    def add_update_listener(self, cb: Callable[[str], None]) -> None:
        """Call ``cb(sparql_update)`` after every change applied to the graph."""
        self._twin.add_update_listener(cb)

    def remove_update_listener(self, cb: Callable[[str], None]) -> None:
        """Stop calling ``cb``."""
        self._twin.remove_update_listener(cb)

    # -- health and figures ---------------------------------------------------------------------------
    def source_health(self) -> Mapping[str, SourceHealth]:
        """Every source's state and counters, by source id."""
        return self._health()

    def add_service_health(self, name: str, report: Callable[[], ServiceHealth]) -> None:
        """Let a service report its health under ``name`` (``/health``'s ``services``)."""
        self._service_health[name] = report

    def service_health(self) -> dict[str, ServiceHealth]:
        """Every service's health now, by name."""
        return {name: report() for name, report in self._service_health.items()}

    def stats(self) -> TwinStats:
        """The twin's counters now."""
        twin = self._twin
        subs = twin.events.subscriptions
        return TwinStats(
            points_by_quality=twin.live.counts(),
            samples_applied=twin.samples_applied,
            flushes=twin.live.flushes,
            points_written=twin.live.points_written,
            flush_seconds=twin.flush_seconds,
            pending_points=twin.live.dirty,
            subscribers=len(subs),
            queued_changes=sum(s.pending for s in subs),
            dropped_changes=twin.events.dropped,
            writes=dict(twin.writes),
        )
