"""Prometheus metrics of the gateway, read from plain counters at scrape time.

Adapters and the twin count with plain ints on the hot path; this collector turns them into metric families
only when ``/metrics`` is scraped, which costs nothing between scrapes. Services may register their own
metrics on ``registry``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from gateway.twin.view import TwinView


class GatewayCollector(Collector):
    """Collects source, pipeline and twin figures through the twin's view (source health and twin stats)."""

    def __init__(self, view: TwinView) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        yield from self._sources()
        yield from self._twin()

    def _sources(self) -> Iterator[Metric]:
        samples = CounterMetricFamily("twinbridge_samples", "Samples received from adapters", labels=["source"])
        bad = CounterMetricFamily("twinbridge_bad_samples", "Bad-quality samples received", labels=["source"])
        suppressed = CounterMetricFamily(
            "twinbridge_deadband_suppressed", "Samples suppressed by deadbands", labels=["source"]
        )
        reconnects = CounterMetricFamily("twinbridge_reconnects", "Reconnection attempts", labels=["source"])
        up = GaugeMetricFamily(
            "twinbridge_source_connected", "1 when the source is connected", labels=["source", "kind"]
        )
        adapter = GaugeMetricFamily(
            "twinbridge_adapter_counter", "Adapter-specific counters", labels=["source", "name"]
        )
        for sid, h in self.view.source_health().items():
            samples.add_metric([sid], h.samples_in)
            bad.add_metric([sid], h.bad_samples)
            suppressed.add_metric([sid], h.suppressed)
            reconnects.add_metric([sid], h.reconnects)
            up.add_metric([sid, h.kind], 1.0 if h.connected else 0.0)
            for name, val in h.counters.items():
                if isinstance(val, int | float) and not isinstance(val, bool):
                    adapter.add_metric([sid, name], float(val))
        yield from (samples, bad, suppressed, reconnects, up, adapter)

    def _twin(self) -> Iterator[Metric]:
        st = self.view.stats()
        points = GaugeMetricFamily("twinbridge_points", "Points by quality", labels=["quality"])
        for q, n in st.points_by_quality.items():
            points.add_metric([q.name.lower()], n)
        yield points
        yield CounterMetricFamily("twinbridge_samples_applied", "Samples applied to the twin", value=st.samples_applied)
        yield CounterMetricFamily("twinbridge_graph_flushes", "Live-value flushes into the graph", value=st.flushes)
        yield CounterMetricFamily(
            "twinbridge_graph_points_written", "Point states written to the graph", value=st.points_written
        )
        yield CounterMetricFamily("twinbridge_graph_flush_seconds", "Time spent flushing", value=st.flush_seconds)
        yield GaugeMetricFamily(
            "twinbridge_graph_pending_points", "Changed points not yet in the graph", value=st.pending_points
        )
        yield GaugeMetricFamily("twinbridge_subscribers", "Open change subscriptions", value=st.subscribers)
        yield GaugeMetricFamily(
            "twinbridge_subscription_queue_depth", "Changes waiting in subscriber queues", value=st.queued_changes
        )
        yield CounterMetricFamily(
            "twinbridge_subscription_dropped", "Changes dropped for slow subscribers", value=st.dropped_changes
        )
        writes = CounterMetricFamily("twinbridge_writes", "Writes by outcome", labels=["status"])
        for status, n in st.writes.items():
            writes.add_metric([status], n)
        yield writes


class GatewayMetrics:
    """The gateway's Prometheus registry; ``watch`` adds the collector of a twin's view."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)

    def watch(self, view: TwinView) -> None:
        """Collect the view's source health and twin figures at every scrape."""
        self.registry.register(GatewayCollector(view))
