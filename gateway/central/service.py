"""The central view inside the runtime: the follower, the write routes, health and what the HTTP API reads.

``twinbridge run`` with ``twin: remote:`` and no sources builds an ordinary gateway over an empty twin; this
object fills that twin from the shared store and keeps it current (follower.py), installs the writer that routes
writes to the owning gateways (writer.py), reports the store and each gateway's lease in ``/health`` and
``/sources``, and sets ``view.remote`` so the HTTP service sends SPARQL to the store.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gateway.central.follower import Follower
from gateway.central.sources import RemoteSource
from gateway.central.writer import RouteWriter
from gateway.remote_store.client import SparqlStore
from gateway.twin.view import ServiceHealth, SourceHealth

if TYPE_CHECKING:
    from gateway.model import TwinModel
    from gateway.remote_store.settings import RemoteSettings
    from gateway.twin.twin import Twin
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.central")


class RemoteDataset:
    """What the HTTP API's SPARQL passthrough needs (``view.remote``): the store's settings and default graphs."""

    def __init__(self, settings: RemoteSettings, follower: Follower) -> None:
        self.settings = settings
        self._follower = follower

    def graphs(self) -> list[str]:
        """Every gateway's model and live graph, and the shared ontology graph."""
        return self._follower.graphs()


class CentralView:
    """The central view's part of a running gateway."""

    def __init__(self, model: TwinModel, twin: Twin, view: TwinView) -> None:
        settings = model.settings.remote
        assert settings is not None
        self.settings = settings
        self.model = model
        self.store = SparqlStore(settings)
        self.follower = Follower(settings, self.store, twin, settings.graph or model.settings.base_iri)
        self.writer = RouteWriter(model, settings.gateways, model.settings.write_timeout)
        twin.set_writer(self.writer)
        view.remote = RemoteDataset(settings, self.follower)
        view.add_service_health("central", self.health)

    async def start(self) -> None:
        """Read the store once, then follow it (an unreachable store is logged and retried, not raised)."""
        await self.follower.start()

    async def stop(self) -> None:
        await self.follower.stop()
        await self.writer.aclose()
        await self.store.aclose()

    def source_health(self) -> dict[str, SourceHealth]:
        """Each mirrored source: connected while its gateway's lease runs and the store answers."""
        out: dict[str, SourceHealth] = {}
        follower = self.follower
        counts: dict[str, int] = {}
        for p in self.model.points.values():
            counts[p.source] = counts.get(p.source, 0) + 1
        for sid, cfg in self.model.sources.items():
            if not isinstance(cfg, RemoteSource) or cfg.gateway not in follower.gateways:
                continue
            gw = follower.gateways[cfg.gateway]
            ok = follower.healthy(cfg.gateway)
            if follower.error is not None:
                error, at = f"the shared store is unreachable: {follower.error}", follower.down_since
            elif not gw.alive:
                error, at = f"gateway {cfg.gateway} stopped renewing its lease", gw.info.lease_until
            else:
                error, at = None, None
            out[sid] = SourceHealth(
                id=sid,
                kind=cfg.kind,
                label=cfg.label or sid,
                endpoint=cfg.endpoint(),
                state="connected" if ok else "disconnected",
                connected_since=gw.info.started_at.isoformat() if ok and gw.info.started_at else None,
                last_error=error,
                last_error_at=at.isoformat() if at is not None else None,
                points=counts.get(sid, 0),
                samples_in=gw.samples,
                details={**follower.describe(cfg.gateway), "source": cfg.source, "source_kind": cfg.source_kind},
            )
        return out

    def health(self) -> ServiceHealth:
        """The store connection and every gateway's lease (``/health``'s ``services.central``)."""
        follower = self.follower
        gateways: dict[str, Any] = {name: follower.describe(name) for name in follower.gateways}
        detail: dict[str, Any] = {
            "store": self.store.query_url,
            "store_error": follower.error,
            "last_poll": follower.last_poll.isoformat() if follower.last_poll else None,
            "gateways": gateways,
            "routes": sorted(self.settings.gateways),
        }
        if follower.error is not None:
            return ServiceHealth(False, "store unreachable", detail)
        lost = sorted(name for name, gw in follower.gateways.items() if not gw.alive)
        if lost:
            return ServiceHealth(False, f"lease lost: {', '.join(lost)}", detail)
        return ServiceHealth(True, "following", detail)

    def describe(self) -> str:
        """The start-up summary line."""
        n = len(self.follower.gateways)
        state = f"unreachable: {self.follower.error}" if self.follower.error else f"{n} gateway(s)"
        routes = ", ".join(sorted(self.settings.gateways)) or "none (read-only)"
        return f"central view of {self.store.query_url} ({state}); writes routed to: {routes}"
