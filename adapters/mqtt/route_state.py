"""The state the MQTT router's parts share: routes of concrete topics and Sparkplug metrics, and how a bad
message is reported (a Bad or Uncertain sample per point, counted per rule, logged once per state change)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.contract.discovery import Discover, Discovered
from adapters.contract.model import DataType, Point
from adapters.contract.polling import LogOnce
from adapters.contract.sample import Quality, Sample
from adapters.mqtt.config import MqttAddress, MqttSourceConfig
from adapters.mqtt.discovery import SparkplugRuleFactory, TopicRuleFactory
from adapters.mqtt.payload import (
    MISSING,
    Problem,
    decode_json,
    decode_text,
    format_path,
    get_path,
    parse_path,
    parse_quality,
    parse_timestamp,
    plain_value,
    to_value,
)
from adapters.mqtt.sparkplug import SparkplugTracker

STATIC = "points"  # counter name of explicitly mapped points (rules use their id)


@dataclass(slots=True)
class Reader:
    """How one point reads its topic's messages."""

    point: str
    datatype: DataType
    keys: tuple[str | int, ...]
    path: str
    ts_keys: tuple[str | int, ...] | None
    ts_fmt: Any
    q_keys: tuple[str | int, ...] | None
    q_map: dict[str, str] | None


@dataclass(slots=True)
class TopicRoute:
    """The points fed by one concrete topic."""

    topic: str
    fmt: str
    counter: str
    readers: list[Reader] = field(default_factory=list)
    problem: str | None = None  # kind of the current problem, for logging once per change


def _reader(p: Point, a: MqttAddress) -> Reader:
    ts = a.timestamp_path
    q = a.quality_path
    return Reader(
        p.id,
        p.datatype,
        a.path_keys,
        a.json_path or "$",
        parse_path(ts) if ts else None,
        a.timestamp_format,
        parse_path(q) if q else None,
        dict(a.quality_map) or None,
    )


def _no_discovery(fragment: Any, *, dry_run: bool = False) -> Discovered:
    return Discovered(errors=["nothing builds discovered points here (the adapter runs without the core)"])


class RouterState:
    """Routes, rule factories, counters and the helpers every part of the router uses."""

    def __init__(self, cfg: MqttSourceConfig, counters: dict[str, int | float], log: logging.Logger) -> None:
        self.cfg = cfg
        self.name = cfg.id
        self.counters = counters
        self.log = log
        self.uncertain = cfg.on_bad_message == "uncertain"
        self.exact: dict[str, TopicRoute] = {}
        self.ignored: dict[str, str] = {}  # topics a rule matched but that feed no point -> rule id
        self.topic_rules: list[TopicRuleFactory] = []
        self.sp_rules: list[SparkplugRuleFactory] = []
        self.tracker = SparkplugTracker()
        self.sp_points: dict[tuple[str, str, str | None, str], list[str]] = {}
        self.sp_nodes: dict[tuple[str, str], dict[str | None, set[str]]] = {}
        self.sp_static: dict[tuple[str, str], int] = {}  # nodes of explicitly mapped Sparkplug points -> qos
        self.sp_problem: dict[tuple[str, str], str | None] = {}
        self.outbox: list[tuple[str, bytes, int]] = []
        self.assets: set[str] = set()  # assets of routed points
        self.discovered: set[str] = set()  # assets the rules created (capped by max_discovered_assets)
        self._templates = [(r.id, r.template) for r in cfg.rules if r.payload != "sparkplug"]
        self.discover: Discover = _no_discovery
        self._log_once = LogOnce(self.log)

    def add_points(self, points: Sequence[Point]) -> None:
        """Route messages to these points (explicit, or made by a rule)."""
        for p in points:
            a = p.address
            if not isinstance(a, MqttAddress):
                continue
            self.assets.add(p.asset)
            if a.payload == "sparkplug":
                assert a.group and a.node and a.metric
                ids = self.sp_points.setdefault((a.group, a.node, a.device, a.metric), [])
                if p.id not in ids:
                    ids.append(p.id)
                self.sp_nodes.setdefault((a.group, a.node), {}).setdefault(a.device, set()).add(p.id)
                continue
            assert a.topic is not None
            route = self.exact.get(a.topic)
            if route is None:
                route = self.exact[a.topic] = TopicRoute(a.topic, a.payload or "plain", self._counter_of(a.topic))
                self.ignored.pop(a.topic, None)
            if all(r.point != p.id for r in route.readers):
                route.readers.append(_reader(p, a))

    def _counter_of(self, topic: str) -> str:
        for rule, template in self._templates:
            if template.match(topic) is not None:
                return rule
        return STATIC

    def _bad(self, pid: str, prob: Problem, now: datetime) -> Sample:
        if self.uncertain:
            return Sample(
                pid,
                None,
                now,
                Quality.UNCERTAIN,
                "UncertainLastUsableValue",
                f"{prob.status}: {prob.reason}",
                self.name,
            )
        return Sample(pid, None, now, Quality.of_status(prob.status), prob.status, prob.reason, self.name)

    def _note(self, where: str, counter: str, prev: str | None, prob: Problem | None) -> str | None:
        """Count a bad message, log when the problem state of a topic/node changes; returns the new state."""
        if prob is not None:
            c = self.counters
            name = f"bad_messages.{counter}"
            c[name] = c.get(name, 0) + 1
            c[f"bad_{prob.kind}"] = c.get(f"bad_{prob.kind}", 0) + 1
            if prev != prob.kind:
                self.log.warning(
                    "mqtt %s: %s: %s (rule %s); affected points marked %s until a good message",
                    self.name,
                    where,
                    prob.reason,
                    counter,
                    "Uncertain" if self.uncertain else "Bad",
                )
            return prob.kind
        if prev is not None:
            self.log.info("mqtt %s: %s: messages are readable again (rule %s)", self.name, where, counter)
        return None

    def _log_rule_once(self, rule: str, key: str, msg: str, *args: Any) -> None:
        self._log_once((rule, key), msg, *args)

    def _decode(self, route: TopicRoute, payload: bytes, now: datetime) -> list[Sample]:
        readers = route.readers
        if not readers:
            return []
        name = self.name
        out: list[Sample] = []
        first: Problem | None = None
        if route.fmt == "json":
            doc, first = decode_json(payload)
            if first is not None:
                out = [self._bad(r.point, first, now) for r in readers]
            else:
                cache: dict[Any, Any] = {}  # timestamp/quality fields shared by the message's points: read once
                for r in readers:
                    prob: Problem | None
                    v = get_path(doc, r.keys) if r.keys else doc
                    if v is MISSING:
                        prob = Problem("missing_path", "BadNoData", f"no {r.path} in the message")
                    else:
                        value, prob = to_value(v, r.datatype, r.path)
                    if prob is not None:
                        first = first or prob
                        out.append(self._bad(r.point, prob, now))
                        continue
                    if r.ts_keys is None and r.q_keys is None:
                        out.append(Sample(r.point, value, now, Quality.GOOD, "Good", None, name))
                        continue
                    s, prob = self._extras(r, doc, value, now, cache)
                    first = first or prob
                    out.append(s)
        else:
            text, first = decode_text(payload)
            for r in readers:
                if first is not None:
                    out.append(self._bad(r.point, first, now))
                    continue
                value, prob = plain_value(text, r.datatype)
                if prob is not None:
                    first = first or prob
                    out.append(self._bad(r.point, prob, now))
                else:
                    out.append(Sample(r.point, value, now, Quality.GOOD, "Good", None, name))
        if first is not None or route.problem is not None:
            route.problem = self._note(f"topic {route.topic}", route.counter, route.problem, first)
        return out

    def _extras(
        self, r: Reader, doc: Any, value: Any, now: datetime, cache: dict[Any, Any]
    ) -> tuple[Sample, Problem | None]:
        """A value with its timestamp and quality fields read too (a problem with them makes it Uncertain)."""
        ts = now
        status, reason = "Good", None
        prob: Problem | None = None
        if r.ts_keys is not None:
            key = (r.ts_keys, r.ts_fmt)
            if key not in cache:
                got = get_path(doc, r.ts_keys)
                cache[key] = (got, parse_timestamp(got, r.ts_fmt) if got is not MISSING else None)
            raw, parsed = cache[key]
            if parsed is None:
                what = "missing" if raw is MISSING else f"unreadable ({str(raw)[:40]!r})"
                prob = Problem("bad_timestamp", "Uncertain", f"timestamp {format_path(r.ts_keys)} {what}")
                status, reason = "Uncertain", prob.reason + "; using the receive time"
            else:
                ts = parsed
        if r.q_keys is not None:
            raw = get_path(doc, r.q_keys)
            q = parse_quality(raw, r.q_map) if raw is not MISSING else None
            if q is None:
                prob = prob or Problem("bad_quality", "Uncertain", f"quality {format_path(r.q_keys)} unreadable")
                status, reason = "Uncertain", prob.reason
            elif q != "Good" and status == "Good":
                status, reason = q, f"the device reported quality {raw!r}"
        return Sample(r.point, value, ts, Quality.of_status(status), status, reason, self.name), prob
