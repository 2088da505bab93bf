"""Replication of the twin into every store of ``twin: replicate:``, with its metrics and its part of /health."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.replication.replicator import Replicator
from gateway.twin.view import ServiceHealth

if TYPE_CHECKING:
    from adapters.contract.model import Asset, Point
    from gateway.twin.view import TwinView

# how long start() waits for each store's first answer, so `twinbridge run` can say how replication began
FIRST_ATTEMPT_WAIT = 15.0


class Replication:
    """Every replicator of one gateway."""

    def __init__(self, view: TwinView) -> None:
        self.view = view
        self.replicators: list[Replicator] = []
        self._collector: ReplicationCollector | None = None
        self._listening = False

    def _on_model(self, assets: list[Asset], points: list[Point]) -> None:
        for rep in self.replicators:
            rep.on_model(assets, points)

    async def start(self) -> None:
        """Start each replicator and wait (briefly) for its first attempt, so a wrong URL or password is
        reported at start; an unreachable store is then retried in the background, never fatal."""
        settings = self.view.model.settings.replicate
        if not settings:
            return
        # built at every start: a gateway stopped and started again replicates afresh (a new lease instance)
        self.replicators = [Replicator(s, self.view) for s in settings]
        if not self._listening:
            self.view.add_model_listener(self._on_model)
            self._listening = True
        for rep in self.replicators:
            rep.start()
        self.view.add_service_health("replication", self.health)
        self._collector = ReplicationCollector(self.replicators)
        self.view.metrics.register(self._collector)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(r.first_attempt.wait() for r in self.replicators)), FIRST_ATTEMPT_WAIT
            )

    async def stop(self) -> None:
        """Send what is pending, release the leases, close. Idempotent."""
        await asyncio.gather(*(r.stop() for r in self.replicators))
        if self._collector is not None:
            self.view.metrics.unregister(self._collector)
            self._collector = None

    def health(self) -> ServiceHealth:
        """Degraded while any store is not live or its backlog waits longer than a few flushes."""
        stores = [r.describe() for r in self.replicators]
        ok = all(
            r.state == "live"
            and (d["oldest_change_s"] is None or d["oldest_change_s"] < 10 * r.settings.flush_interval)  # type: ignore[operator]
            for r, d in zip(self.replicators, stores, strict=True)
        )
        return ServiceHealth(ok, "replicating" if ok else "degraded", {"stores": stores})

    def describe(self) -> list[str]:
        """Start-up summary lines."""
        out = []
        for r in self.replicators:
            what = r.state + (f": {r.last_error}" if r.last_error else "")
            out.append(f"replicating into {r.label} as {r.graphs.gateway}: {what}")
        return out


class ReplicationCollector(Collector):
    """The replicators' counters as Prometheus families, read at scrape time."""

    def __init__(self, replicators: list[Replicator]) -> None:
        self.replicators = replicators

    def collect(self) -> Iterator[Metric]:
        labels = ["store"]
        sent = CounterMetricFamily(
            "twinbridge_replication_changes_sent", "Point changes the store applied", labels=labels
        )
        updates = CounterMetricFamily(
            "twinbridge_replication_updates", "Update requests the store applied", labels=labels
        )
        errors = CounterMetricFamily("twinbridge_replication_errors", "Failed attempts (each retried)", labels=labels)
        pushes = CounterMetricFamily(
            "twinbridge_replication_graph_pushes", "Whole graphs pushed (start, catch-up)", labels=[*labels, "graph"]
        )
        backlog = GaugeMetricFamily("twinbridge_replication_backlog", "Points changed but not yet sent", labels=labels)
        oldest = GaugeMetricFamily(
            "twinbridge_replication_oldest_change_seconds", "Age of the oldest change not yet sent", labels=labels
        )
        lag = GaugeMetricFamily(
            "twinbridge_replication_lag_seconds", "Recent change->store lag, by quantile", labels=[*labels, "quantile"]
        )
        live = GaugeMetricFamily("twinbridge_replication_live", "1 while replicating normally", labels=labels)
        for r in self.replicators:
            lb = [r.label]
            sent.add_metric(lb, r.counters["changes_sent"])
            updates.add_metric(lb, r.counters["updates"])
            errors.add_metric(lb, r.counters["errors"])
            pushes.add_metric([*lb, "model"], r.counters["model_pushes"])
            pushes.add_metric([*lb, "live"], r.counters["live_pushes"])
            backlog.add_metric(lb, r.live.backlog)
            oldest.add_metric(lb, r.oldest_change_age() or 0.0)
            for q in (0.5, 0.95, 0.99):
                value = r.lag_percentile(q)
                if value is not None:
                    lag.add_metric([*lb, str(q)], value)
            live.add_metric(lb, 1.0 if r.state == "live" else 0.0)
        yield from (sent, updates, errors, pushes, backlog, oldest, lag, live)
