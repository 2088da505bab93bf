"""Prometheus metrics of the northbound MQTT service, read from its plain counters at scrape time.

Per broker and channel: values published live, buffered, replayed, dropped (by reason: ``buffer_full``,
``too_old``, ``queue`` when the twin had to drop changes for a forwarder that fell behind, ``encode`` when the
channel could not encode them), the buffer's depth; per broker: connected, messages in flight, connects, drops
and messages an MQTT 5 broker refused (reason code >= 0x80 in its acknowledgement). Channel counters (commands,
rebirths...) as ``twinbridge_mqtt_channel_counter``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from gateway.northbound.mqtt.forwarder import Forwarder
    from gateway.northbound.mqtt.link import BrokerLink


class MqttCollector(Collector):
    """Turns the links' and forwarders' counters into metric families when scraped."""

    def __init__(self, parts: Callable[[], Iterable[tuple[BrokerLink, list[Forwarder]]]]) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        bc = ["broker", "channel"]
        published = CounterMetricFamily("twinbridge_mqtt_published", "Values published live", labels=bc)
        buffered = CounterMetricFamily("twinbridge_mqtt_buffered", "Values stored in the on-disk buffer", labels=bc)
        replayed = CounterMetricFamily("twinbridge_mqtt_replayed", "Buffered values delivered on replay", labels=bc)
        dropped = CounterMetricFamily("twinbridge_mqtt_dropped", "Values dropped, by reason", labels=[*bc, "reason"])
        depth = GaugeMetricFamily("twinbridge_mqtt_buffer_depth", "Values waiting in the on-disk buffer", labels=bc)
        size = GaugeMetricFamily("twinbridge_mqtt_buffer_bytes", "Stored size of the buffered values", labels=bc)
        channel = GaugeMetricFamily("twinbridge_mqtt_channel_counter", "A channel's own counters", labels=[*bc, "name"])
        connected = GaugeMetricFamily("twinbridge_mqtt_connected", "1 when connected to the broker", labels=["broker"])
        inflight = GaugeMetricFamily(
            "twinbridge_mqtt_inflight", "QoS 1/2 messages not acknowledged yet", labels=["broker"]
        )
        connects = CounterMetricFamily("twinbridge_mqtt_connects", "Connections made", labels=["broker"])
        drops = CounterMetricFamily("twinbridge_mqtt_drops", "Connections lost", labels=["broker"])
        refused = CounterMetricFamily("twinbridge_mqtt_refused", "Messages the broker refused", labels=["broker"])
        for link, forwarders in self.parts():
            b = link.name
            connected.add_metric([b], 1.0 if link.connected else 0.0)
            inflight.add_metric([b], link.inflight)
            connects.add_metric([b], link.counters["connects"])
            drops.add_metric([b], link.counters["drops"])
            refused.add_metric([b], link.publisher.refused)
            for fw in forwarders:
                labels = [b, fw.channel.name]
                published.add_metric(labels, fw.counters["published"])
                buffered.add_metric(labels, fw.counters["buffered"])
                replayed.add_metric(labels, fw.counters["replayed"])
                for reason, n in fw.dropped().items():
                    dropped.add_metric([*labels, reason], n)
                depth.add_metric(labels, fw.buffer.count)
                size.add_metric(labels, fw.buffer.bytes)
                for name, val in fw.channel.counters.items():
                    if isinstance(val, int | float) and not isinstance(val, bool):
                        channel.add_metric([*labels, name], float(val))
        yield from (
            published,
            buffered,
            replayed,
            dropped,
            depth,
            size,
            channel,
            connected,
            inflight,
            connects,
            drops,
            refused,
        )
