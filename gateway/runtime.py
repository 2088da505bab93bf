"""The running gateway: twin, one supervisor per source, write-back routing and northbound services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters.contract.adapter import Adapter, AdapterContext, ConnectionState, WriteResult
from adapters.contract.config import SourceConfig
from adapters.contract.model import Asset, Point
from adapters.contract.sample import Value
from adapters.contract.status import NO_COMMUNICATION
from gateway import units
from gateway.analytics.service import Analytics
from gateway.central.service import CentralView
from gateway.config.fragments import FragmentDiscovery
from gateway.config.loader import load_mappings
from gateway.config.profiles import ProfileView
from gateway.history.service import History
from gateway.ingest.pipeline import Pipeline
from gateway.ingest.supervisor import SourceSupervisor
from gateway.metrics import GatewayMetrics
from gateway.model import TwinModel
from gateway.northbound.registry import Service, service_specs
from gateway.replication.service import Replication
from gateway.rules.spec import DERIVED_SOURCE
from gateway.twin.twin import Twin
from gateway.twin.view import SourceHealth, TwinView


class Gateway:
    """Everything ``twinbridge run`` starts, usable in-process (tests, embedding)."""

    def __init__(self, model: TwinModel, *, logger: logging.Logger | None = None) -> None:
        self.model = model
        self.log = logger or logging.getLogger("twinbridge")
        self.twin = Twin(model)
        self.pipeline = Pipeline(model.points.values())
        self.supervisors: dict[str, SourceSupervisor] = {
            sid: SourceSupervisor(cfg, model, self.twin, self.pipeline, self._context)
            for sid, cfg in model.sources.items()
            if cfg.kind != DERIVED_SOURCE  # derived points are fed by analytics, not an adapter
        }
        self.services: dict[str, Service] = {}
        self.central: CentralView | None = None  # set below for a central view (twin: remote:)
        self.analytics = Analytics(model)  # derived points, alarms, anomaly detection (docs/analytics.md)
        self.metrics = GatewayMetrics()
        # What services get instead of this object: the twin's public face plus each source's health.
        self.view = TwinView(self.twin, self.source_health, self.metrics.registry)
        self.metrics.watch(self.view)
        self.twin.set_writer(self._route_write)
        self.history = History(model)  # the recorder hears every applied state (docs/history.md)
        self.twin.add_state_listener(self.history.on_state)
        self.replication = Replication(self.view)  # mirrors into shared SPARQL stores (docs/scale-out.md)
        if self.analytics.enabled:
            self.twin.add_state_listener(self.analytics.on_state)
        self._flusher: asyncio.Task[None] | None = None
        self.started = False
        # the central view (twin: remote:, gateway/central/): a twin without sources, filled from the shared store
        self.central = CentralView(model, self.twin, self.view) if model.settings.remote is not None else None

    @classmethod
    def from_files(cls, files: Sequence[str | Path], env: Mapping[str, str] | None = None) -> Gateway:
        """Load and validate mapping files, then build the gateway (``ConfigErrors`` when invalid)."""
        return cls(load_mappings(files, env=env))

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self, *, services: bool = True) -> None:
        """Start adapters, the live-value flusher and (optionally) the northbound services."""
        self.twin.reopen()  # after a stop(): the same on-disk store, not an empty in-memory one
        self.history.start(self.view)
        await self.analytics.start(
            self.view, apply=self.twin.apply, add_points=lambda pts: self.discover(DERIVED_SOURCE, [], pts)
        )
        self._flusher = asyncio.create_task(
            self.twin.run_flusher(self.model.settings.flush_interval), name="twin-flusher"
        )
        for sup in self.supervisors.values():
            sup.start()
        await self.replication.start()
        if self.central is not None:  # the store read once before the services serve the twin
            await self.central.start()
        self.started = True
        if services:
            try:
                await self._start_services()
            except BaseException:
                await self.stop()
                raise

    async def _start_services(self) -> None:
        specs = service_specs()
        built = {
            name: specs[name].build(config, self.view)
            for name, config in self.model.services.items()
            if getattr(config, "enabled", True)
        }
        self.services.update(built)  # registered first, so stop() also ends any that started before a failure
        # Started together: the OPC UA address space is built on the loop while the HTTP query worker loads
        # its replica in another process.
        await asyncio.gather(*(svc.start() for svc in built.values()))

    async def stop(self) -> None:
        """Stop services, then adapters; flush the twin. Idempotent."""
        for name in reversed(list(self.services)):
            try:
                await self.services[name].stop()
            except Exception:
                self.log.exception("stopping service %s failed", name)
        self.services.clear()
        await asyncio.gather(*(sup.stop() for sup in self.supervisors.values()))
        await self.analytics.stop(self.view)
        await self.replication.stop()  # after the sources: their last values go out too
        if self.central is not None:
            await self.central.stop()
        await asyncio.to_thread(self.history.stop, self.view)  # the last flush, off the loop
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        self.twin.close()
        self.started = False

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- adapters -------------------------------------------------------------------------------------
    def adapter(self, source_id: str) -> Adapter | None:
        """The adapter instance of a source (None before start)."""
        sup = self.supervisors.get(source_id)
        return None if sup is None else sup.adapter

    def source_health(self) -> dict[str, SourceHealth]:
        """Every source's state and counters, as plain snapshots (what services and metrics read)."""
        health = {sid: SourceHealth(**sup.info()) for sid, sup in self.supervisors.items()}
        if self.analytics.enabled:
            health[DERIVED_SOURCE] = SourceHealth(**self.analytics.health())
        if self.central is not None:  # each mirrored source, by its gateway's lease
            health.update(self.central.source_health())
        return health

    def _context(self, source: SourceConfig) -> AdapterContext:
        files = self.model.files
        return AdapterContext(
            logger=logging.getLogger(f"twinbridge.adapter.{source.id}"),
            profiles=ProfileView(self.model.profiles) if self.model.profiles is not None else None,
            # fragments built with the loader's point builder, then added like any discovered point
            discover=FragmentDiscovery(self.model, source.id, lambda a, p: self.discover(source.id, a, p)),
            base_dir=str(Path(files[0]).parent) if files else ".",
            units=units.CATALOG,
        )

    def discover(self, source_id: str, assets: Sequence[Asset], points: Sequence[Point]) -> list[Point]:
        """Add assets and points an adapter found at run time; returns the points actually added.

        Known ids are skipped (a rule matching the same topic twice adds nothing), points must belong to the
        calling source, and their asset must exist or come in the same call.
        """
        model = self.model
        new_assets = [a for a in assets if a.id not in model.assets]
        asset_ids = set(model.assets) | {a.id for a in new_assets}
        new_points: list[Point] = []
        for p in points:
            # a discovered device's profile may compute some of its points: those come from the analytics source
            if p.id in model.points or p.source not in (source_id, DERIVED_SOURCE) or p.asset not in asset_ids:
                if p.id not in model.points:
                    self.log.warning("discovered point %s ignored (source %s, asset %s)", p.id, p.source, p.asset)
                continue
            new_points.append(p)
        if not new_assets and not new_points:
            return []
        self.twin.add(new_assets, new_points)
        self.pipeline.add_points(new_points)
        adapter = self.adapter(source_id)
        if adapter is not None:
            adapter.add_points([p for p in new_points if p.source == source_id])
        self.log.info("discovered %d asset(s) and %d point(s) on %s", len(new_assets), len(new_points), source_id)
        return new_points

    async def _route_write(self, point: Point, raw: Value) -> WriteResult:
        sup = self.supervisors.get(point.source)
        if sup is None or sup.adapter is None:
            return WriteResult(NO_COMMUNICATION, f"source {point.source} is not running")
        if sup.state is not ConnectionState.CONNECTED:
            return WriteResult(
                NO_COMMUNICATION,
                f"source {point.source} is {sup.state.value}" + (f": {sup.last_error}" if sup.last_error else ""),
            )
        adapter = sup.adapter
        if not adapter.supports_write:
            return WriteResult("BadNotWritable", f"{adapter.kind} sources do not support writes")
        timeout = self.model.settings.write_timeout
        try:
            return await asyncio.wait_for(adapter.write(point, raw), timeout)
        except TimeoutError:
            return WriteResult("BadTimeout", f"{point.source} did not answer the write within {timeout:g} s")
        except Exception as exc:  # an adapter bug must not reach the client as a crash
            self.log.exception("write to %s failed", point.id)
            return WriteResult("BadInternalError", f"{type(exc).__name__}: {exc}")

    async def write(self, point_id: str, value: Any, *, actor: str = "api") -> WriteResult:
        """Shortcut for ``twin.write``."""
        return await self.twin.write(point_id, value, actor=actor)

    # -- reporting ------------------------------------------------------------------------------------
    def summary(self) -> list[str]:
        """Start-up summary lines: sources, assets, points, endpoints."""
        m = self.model
        lines = [
            f"twin '{m.settings.name}' at {m.settings.base_iri}: {len(m.assets)} assets, {len(m.points)} points, "
            f"{len(m.sources)} sources ({', '.join(m.files)})"
        ]
        for sid, cfg in m.sources.items():
            n = len(m.points_of_source(sid))
            state = "" if cfg.enabled else " [disabled]"
            lines.append(f"  source {sid} ({cfg.kind}) {cfg.endpoint() or ''}: {n} points{state}")
        for name, svc in self.services.items():
            for ep in svc.endpoints():
                lines.append(f"  {name}: {ep}")
        store = m.settings.store or "in memory"
        lines.append(f"  graph store: {store}")
        lines.append(f"  {self.history.describe()}")
        lines.append(f"  {self.analytics.describe()}")
        lines.extend(f"  {line}" for line in self.replication.describe())
        if self.central is not None:
            lines.append(f"  {self.central.describe()}")
        return lines
