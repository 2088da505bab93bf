"""From MQTT messages to samples: the topic table, rule matching with discovery, and Sparkplug sessions.

No I/O: ``Router.handle(topic, payload)`` returns samples; commands the router wants sent (rebirth requests)
wait in ``outbox`` for the adapter to publish. A concrete topic is looked up in a dict (every message after the
first on a topic), so rules cost a template match only once per new topic. A bad message makes only the points
it feeds Bad (or Uncertain), is counted per rule as ``bad_messages.<rule>`` and is logged once per state change
of its topic (or node), never per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.contract.model import Point
from adapters.contract.sample import Sample, utcnow
from adapters.mqtt.config import MqttAddress
from adapters.mqtt.route_sparkplug import SparkplugRouting
from adapters.mqtt.route_state import STATIC, TopicRoute
from adapters.mqtt.topics import filter_covers
from protocols.sparkplug.codec import SPARKPLUG_NS, parse_topic

__all__ = ["STATIC", "Router", "TopicRoute"]


class Router(SparkplugRouting):
    """Dispatches messages of one source to samples (rule discovery and Sparkplug in the base classes)."""

    def add_static(self, points: Sequence[Point]) -> None:
        """Explicitly mapped points: routed like the rest, and their Sparkplug nodes subscribed to."""
        self.add_points(points)
        for p in points:
            a = p.address
            if isinstance(a, MqttAddress) and a.payload == "sparkplug":
                assert a.group and a.node
                q = a.qos if a.qos is not None else self.cfg.qos
                self.sp_static[(a.group, a.node)] = max(q, self.sp_static.get((a.group, a.node), 0))

    def subscriptions(self, points: Sequence[Point]) -> dict[str, int]:
        """Topic filter -> QoS: rule filters, then explicit topics no rule filter already covers."""
        subs: dict[str, int] = {}
        default = self.cfg.qos
        for rule in self.cfg.rules:
            flt = rule.filter if rule.payload == "sparkplug" else rule.template.filter
            subs[flt] = max(subs.get(flt, 0), rule.qos if rule.qos is not None else default)
        wide = list(subs)
        extra: dict[str, int] = {}
        for p in points:
            a = p.address
            if not isinstance(a, MqttAddress):
                continue
            if a.payload == "sparkplug":
                flt = f"{SPARKPLUG_NS}/{a.group}/+/{a.node}/#"
            else:
                assert a.topic is not None
                flt = a.topic
            q = a.qos if a.qos is not None else default
            if any(filter_covers(w, flt) and subs[w] >= q for w in wide):
                continue
            extra[flt] = max(extra.get(flt, 0), q)
        subs.update(extra)
        return subs

    # -- dispatch ------------------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, now: datetime | None = None) -> list[Sample]:
        """The samples one message produces (possibly none)."""
        self.counters["messages"] += 1
        route = self.exact.get(topic)
        if route is not None:
            return self._decode(route, payload, now or utcnow())
        if topic.startswith("spBv1.0/"):
            sp = parse_topic(topic)
            if sp is not None:
                return self._sparkplug(sp, payload, now or utcnow())
        if topic in self.ignored:
            self.counters[f"ignored.{self.ignored[topic]}"] = self.counters.get(f"ignored.{self.ignored[topic]}", 0) + 1
            return []
        for f in self.topic_rules:
            bindings = f.rule.template.match(topic)
            if bindings is not None:
                return self._discover_topic(f, topic, bindings, payload, now or utcnow())
        self.counters["unmatched"] += 1
        return []
