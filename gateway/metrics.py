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
    from gateway.runtime import Gateway


class GatewayCollector(Collector):
    """Collects source, pipeline and twin figures from a running gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        gw = self.gateway
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
        for sid, sup in gw.supervisors.items():
            samples.add_metric([sid], sup.samples_in)
            bad.add_metric([sid], sup.bad_samples)
            suppressed.add_metric([sid], sup.suppressed)
            reconnects.add_metric([sid], sup.reconnects)
            up.add_metric([sid, sup.source.kind], 1.0 if sup.state.value == "connected" else 0.0)
            if sup.adapter is not None:
                for name, val in list(sup.adapter.counters.items()):
                    if isinstance(val, int | float) and not isinstance(val, bool):
                        adapter.add_metric([sid, name], float(val))
        yield from (samples, bad, suppressed, reconnects, up, adapter)

        twin = gw.twin
        points = GaugeMetricFamily("twinbridge_points", "Points by quality", labels=["quality"])
        for q, n in twin.live.counts().items():
            points.add_metric([q.name.lower()], n)
        yield points
        yield CounterMetricFamily(
            "twinbridge_samples_applied", "Samples applied to the twin", value=twin.samples_applied
        )
        yield CounterMetricFamily(
            "twinbridge_graph_flushes", "Live-value flushes into the graph", value=twin.live.flushes
        )
        yield CounterMetricFamily(
            "twinbridge_graph_points_written", "Point states written to the graph", value=twin.live.points_written
        )
        yield CounterMetricFamily("twinbridge_graph_flush_seconds", "Time spent flushing", value=twin.flush_seconds)
        yield GaugeMetricFamily(
            "twinbridge_graph_pending_points", "Changed points not yet in the graph", value=twin.live.dirty
        )
        subs = twin.events.subscriptions
        yield GaugeMetricFamily("twinbridge_subscribers", "Open change subscriptions", value=len(subs))
        yield GaugeMetricFamily(
            "twinbridge_subscription_queue_depth",
            "Changes waiting in subscriber queues",
            value=sum(s.pending for s in subs),
        )
        yield CounterMetricFamily(
            "twinbridge_subscription_dropped", "Changes dropped for slow subscribers", value=twin.events.dropped
        )
        writes = CounterMetricFamily("twinbridge_writes", "Writes by outcome", labels=["status"])
        for status, n in twin.writes.items():
            writes.add_metric([status], n)
        yield writes


class GatewayMetrics:
    """The gateway's Prometheus registry."""

    def __init__(self, gateway: Gateway) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(GatewayCollector(gateway))
