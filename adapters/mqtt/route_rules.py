"""Rule discovery in the MQTT router: a new topic (or Sparkplug birth) a rule matches becomes a fragment the
core builds; what it adds is routed, what it refuses is counted and logged once, and the topic is remembered
as ignored so the next message costs a dict lookup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.contract.model import Point
from adapters.contract.sample import Sample
from adapters.mqtt.discovery import Fragment, SparkplugRuleFactory, TopicRuleFactory
from adapters.mqtt.route_state import RouterState

MAX_IGNORED_TOPICS = 10000


def _asset_ids(fragment: Fragment) -> list[str]:
    return [str(a["id"]) for a in fragment.get("assets", [])]


class RuleRouting(RouterState):
    """Discovery from topic rules and Sparkplug births."""

    def _ignore(self, topic: str, rule: str, counter: str) -> None:
        self.counters[f"{counter}.{rule}"] = self.counters.get(f"{counter}.{rule}", 0) + 1
        if len(self.ignored) < MAX_IGNORED_TOPICS:
            self.ignored[topic] = rule

    def _admit(self, rule: str, assets: list[str]) -> bool:
        new = set(assets) - self.assets - self.discovered
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

    def _add(self, rule: str, assets: list[str], added: Sequence[Point]) -> None:
        self.discovered.update(set(assets) - self.assets)
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

    def _refused(self, rule: str, where: str, errors: list[str]) -> None:
        self.counters[f"discovery_errors.{rule}"] = self.counters.get(f"discovery_errors.{rule}", 0) + 1
        self._log_rule_once(rule, "error", "mqtt %s: rule %s cannot map %s: %s", self.name, rule, where, errors[0])

    def _discover_topic(
        self, f: TopicRuleFactory, topic: str, bindings: dict[str, str], payload: bytes, now: datetime
    ) -> list[Sample]:
        rule = f.rule.id
        fragment = f.fragment(topic, bindings)
        if fragment is None:
            self._ignore(topic, rule, "ignored")  # e.g. a {point} level naming no point of the profile
            return []
        assets = _asset_ids(fragment)
        if not self._admit(rule, assets):
            self._ignore(topic, rule, "ignored")
            return []
        found = self.discover(fragment)
        if found.errors:
            self._ignore(topic, rule, "discovery_errors")
            self._log_rule_once(
                rule, "error", "mqtt %s: rule %s cannot map topic %s: %s", self.name, rule, topic, found.errors[0]
            )
            return []
        self._add(rule, assets, found.points)
        if not found.points:
            self._ignore(topic, rule, "conflicts")
            self._log_rule_once(
                rule,
                "conflict",
                "mqtt %s: rule %s: topic %s maps to point id(s) %s that already exist; its messages are ignored",
                self.name,
                rule,
                topic,
                ", ".join(found.existing),
            )
            return []
        route = self.exact.get(topic)
        return self._decode(route, payload, now) if route is not None else []

    def _discover_births(self, f: SparkplugRuleFactory, group: str, node: str, births: dict[Any, Any]) -> None:
        """Points for the metrics of each birth not routed yet."""
        rule = f.rule.id
        for device, metrics in births.items():
            fresh = {m: c for m, c in metrics.items() if (group, node, device, m) not in self.sp_points}
            fragment = f.fragment(group, node, device, fresh) if fresh else None
            if fragment is None:
                continue
            assets = _asset_ids(fragment)
            if not self._admit(rule, assets):
                continue
            found = self.discover(fragment)
            if found.errors:
                self._refused(rule, f"Sparkplug node {group}/{node}", found.errors)
                continue
            self._add(rule, assets, found.points)
