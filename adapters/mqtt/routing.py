"""From MQTT messages to samples: the topic table, rule matching with discovery, and Sparkplug sessions.

No I/O: ``Router.handle(topic, payload)`` returns samples; commands the router wants sent (rebirth requests)
wait in ``outbox`` for the adapter to publish. A concrete topic is looked up in a dict (every message after the
first on a topic), so rules cost a template match only once per new topic. A bad message makes only the points
it feeds Bad (or Uncertain), is counted per rule as ``bad_messages.<rule>`` and is logged once per state change
of its topic (or node), never per message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.contract.model import Asset, DataType, Point
from adapters.contract.sample import Quality, Sample, utcnow
from adapters.mqtt.config import SPARKPLUG_NS, MqttAddress, MqttSourceConfig
from adapters.mqtt.discovery import DiscoveryError, SparkplugRuleFactory, TopicRuleFactory
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
    to_value,
)
from adapters.mqtt.sparkplug import SparkplugError, SparkplugTracker, SpTopic, decode, parse_topic, rebirth_request
from adapters.mqtt.topics import filter_covers

STATIC = "points"  # counter name of explicitly mapped points (rules use their id)
MAX_IGNORED_TOPICS = 10000
Discover = Callable[[Sequence[Asset], Sequence[Point]], list[Point]]


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


class Router:
    """Dispatches messages of one source to samples."""

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
        self.discover: Discover = lambda assets, points: list(points)
        self._logged_rules: set[tuple[str, str]] = set()

    # -- set-up --------------------------------------------------------------------------------------
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

    def add_static(self, points: Sequence[Point]) -> None:
        """Explicitly mapped points: routed like the rest, and their Sparkplug nodes subscribed to."""
        self.add_points(points)
        for p in points:
            a = p.address
            if isinstance(a, MqttAddress) and a.payload == "sparkplug":
                assert a.group and a.node
                q = a.qos if a.qos is not None else self.cfg.qos
                self.sp_static[(a.group, a.node)] = max(q, self.sp_static.get((a.group, a.node), 0))

    def _counter_of(self, topic: str) -> str:
        for rule, template in self._templates:
            if template.match(topic) is not None:
                return rule
        return STATIC

    def subscriptions(self, points: Sequence[Point]) -> dict[str, int]:
        """Topic filter -> QoS: rule filters, then explicit topics no rule filter already covers."""
        subs: dict[str, int] = {}
        default = self.cfg.qos
        for rule in self.cfg.rules:
            flt = rule.filter if rule.payload == "sparkplug" else rule.template.filter  # type: ignore[union-attr]
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
                value, prob = (
                    to_value(text, r.datatype, "payload")
                    if text or r.datatype is DataType.STRING
                    else (None, Problem("wrong_type", "BadTypeMismatch", f"empty payload is not a {r.datatype.value}"))
                )
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

    # -- discovery -----------------------------------------------------------------------------------
    def _log_rule_once(self, rule: str, key: str, msg: str, *args: Any) -> None:
        if (rule, key) not in self._logged_rules:
            self._logged_rules.add((rule, key))
            self.log.warning(msg, *args)

    def _ignore(self, topic: str, rule: str, counter: str) -> None:
        self.counters[f"{counter}.{rule}"] = self.counters.get(f"{counter}.{rule}", 0) + 1
        if len(self.ignored) < MAX_IGNORED_TOPICS:
            self.ignored[topic] = rule

    def _admit(self, rule: str, assets: list[Asset]) -> bool:
        new = {a.id for a in assets} - self.assets - self.discovered
        if new and len(self.discovered) + len(new) > self.cfg.max_discovered_assets:
            self.counters[f"discovery_refused.{rule}"] = self.counters.get(f"discovery_refused.{rule}", 0) + 1
            self._log_rule_once(
                rule,
                "cap",
                "mqtt %s: rule %s: max_discovered_assets (%d) reached; new assets are ignored",
                self.name,
                rule,
                self.cfg.max_discovered_assets,
            )
            return False
        return True

    def _add(self, rule: str, assets: list[Asset], points: list[Point]) -> list[Point]:
        added = self.discover(assets, points)
        self.discovered.update({a.id for a in assets} - self.assets)
        self.add_points(added)
        self.counters["discovered_points"] += len(added)
        if added:
            self.log.info(
                "mqtt %s: rule %s added %d point(s) on asset(s) %s",
                self.name,
                rule,
                len(added),
                ", ".join(sorted({p.asset for p in added})),
            )
        return added

    def _discover_topic(
        self, f: TopicRuleFactory, topic: str, bindings: dict[str, str], payload: bytes, now: datetime
    ) -> list[Sample]:
        rule = f.rule.id
        try:
            assets, points = f.instantiate(topic, bindings)
        except DiscoveryError as exc:
            self._ignore(topic, rule, "discovery_errors")
            self._log_rule_once(rule, "error", "mqtt %s: rule %s cannot map topic %s: %s", self.name, rule, topic, exc)
            return []
        if not points:
            self._ignore(topic, rule, "ignored")  # e.g. a {point} level naming no point of the profile
            return []
        if not self._admit(rule, assets):
            self._ignore(topic, rule, "ignored")
            return []
        added = self._add(rule, assets, points)
        if not added:
            self._ignore(topic, rule, "conflicts")
            self._log_rule_once(
                rule,
                "conflict",
                "mqtt %s: rule %s: topic %s maps to point id(s) %s that already exist; its messages are ignored",
                self.name,
                rule,
                topic,
                ", ".join(p.id for p in points),
            )
            return []
        route = self.exact.get(topic)
        return self._decode(route, payload, now) if route is not None else []

    # -- Sparkplug B ---------------------------------------------------------------------------------
    def _sparkplug(self, sp: SpTopic, payload: bytes, now: datetime) -> list[Sample]:
        key = (sp.group, sp.node)
        factory = next((f for f in self.sp_rules if f.matches(sp.group, sp.node)), None)
        if factory is None and key not in self.sp_static:
            self.counters["unmatched"] += 1
            return []
        if sp.type in ("NCMD", "DCMD"):
            return []
        counter = factory.rule.id if factory is not None else STATIC
        where = f"Sparkplug node {sp.group}/{sp.node}"
        try:
            msg = decode(payload)
        except SparkplugError as exc:
            prob = Problem("undecodable", "BadDecodingError", f"{sp.type}: {exc}")
            self.sp_problem[key] = self._note(where, counter, self.sp_problem.get(key), prob)
            devices = self.sp_nodes.get(key, {})
            pids = devices.get(sp.device, set()) if sp.type.startswith("D") else set().union(*devices.values())
            return [self._bad(pid, prob, now) for pid in sorted(pids)]
        res = self.tracker.handle(sp, msg)
        out: list[Sample] = []
        if factory is not None:
            for device, metrics in res.births.items():
                try:
                    assets, points = factory.instantiate(sp.group, sp.node, device, metrics)
                except DiscoveryError as exc:
                    self._log_rule_once(
                        counter, "error", "mqtt %s: rule %s cannot map %s: %s", self.name, counter, where, exc
                    )
                    continue
                fresh = [p for p in points if (sp.group, sp.node, device, p.address.metric) not in self.sp_points]  # type: ignore[union-attr]
                if fresh and self._admit(counter, assets):
                    self._add(counter, assets, fresh)
        for device in res.dead:
            devices = self.sp_nodes.get(key, {})
            pids = set().union(*devices.values()) if device is None else devices.get(device, set())
            what = f"NDEATH of {sp.group}/{sp.node}" if device is None else f"DDEATH of {sp.group}/{sp.node}/{device}"
            self.log.info("mqtt %s: %s: %d point(s) marked Bad", self.name, what, len(pids))
            out.extend(
                Sample(pid, None, now, Quality.BAD, "BadNoCommunication", what, self.name) for pid in sorted(pids)
            )
        first: Problem | None = None
        get = self.sp_points.get
        for u in res.updates:
            pids = get((sp.group, sp.node, u.device, u.name))
            if not pids:
                continue
            for pid in pids:
                if u.problem is not None:
                    prob = Problem("wrong_type", "BadTypeMismatch", f"metric {u.name}: {u.problem}")
                    first = first or prob
                    out.append(self._bad(pid, prob, now))
                elif u.value is None:
                    out.append(
                        Sample(pid, None, u.ts or now, Quality.BAD, "BadNoData", f"metric {u.name} is null", self.name)
                    )
                else:
                    out.append(Sample(pid, u.value, u.ts or now, Quality.GOOD, "Good", None, self.name))
        for kind, reason in res.problems:
            self.counters[f"{kind}.{counter}"] = self.counters.get(f"{kind}.{counter}", 0) + 1
            if kind in ("unknown_alias", "bad_birth"):
                first = first or Problem(kind, "BadDecodingError", reason)
            elif kind != "stale_death":
                self.log.info("mqtt %s: %s: %s", self.name, where, reason)
        if first is not None or self.sp_problem.get(key) is not None:
            self.sp_problem[key] = self._note(where, counter, self.sp_problem.get(key), first)
        if res.rebirth is not None and (factory is None or factory.rule.rebirth):
            self._rebirth(sp, res.rebirth)
        return out

    def _rebirth(self, sp: SpTopic, why: str) -> None:
        session = self.tracker.session(sp.group, sp.node)
        t = time.monotonic()
        if t - session.last_rebirth < self.cfg.rebirth_interval:
            return
        session.last_rebirth = t
        topic, payload = rebirth_request(sp.group, sp.node)
        self.outbox.append((topic, payload, 0))
        self.counters["rebirth_requests"] += 1
        self.log.info("mqtt %s: requesting a rebirth of %s/%s (%s)", self.name, sp.group, sp.node, why)
