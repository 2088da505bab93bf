"""What topic rules and Sparkplug births found, as mapping fragments for the core to build.

A rule names a profile; the first message on a new topic (or a new Sparkplug birth) describes an asset that
instantiates the profile, as a mapping file would write it: ``profile:``, ``vars:`` (the rule's ``vars``, the
topic's bound levels, ``{topic}``; ``{asset}`` is the asset's id) and ``address:`` (the matched topic, or the
Sparkplug node and device). The core builds it with the loader's own point builder (``AdapterContext.discover``),
so units, classes, ranges and deadbands are checked exactly as in a mapping. Here we only choose which profile
points a topic or a birth feeds (``only:``). No I/O.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from adapters.contract.discovery import ProfileCatalog
from adapters.contract.model import DataType, PointKind
from adapters.mqtt.config import SparkplugRule, TopicRule
from adapters.mqtt.topics import fill, make_id, placeholders
from protocols.sparkplug.codec import DATATYPES

Fragment = dict[str, Any]


class DiscoveryError(ValueError):
    """A rule naming a profile the catalog does not have."""


def _profile(catalog: ProfileCatalog | None, name: str, rule: str) -> Mapping[str, Any]:
    if catalog is None:
        return {"points": []}  # no catalog (standalone): the core reports the profile when it builds
    prof = catalog.get(name)
    if prof is None:
        raise DiscoveryError(
            f"rule '{rule}': missing or invalid profile '{name}' (available: {', '.join(catalog.names()) or 'none'})"
        )
    return prof


def _points(profile: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    pts = profile.get("points")
    return [p for p in pts if isinstance(p, Mapping)] if isinstance(pts, list) else []


class _AssetMaker:
    """The asset (and parent) entries shared by topic and Sparkplug rules."""

    def __init__(self, rule: TopicRule | SparkplugRule, source: str) -> None:
        self.rule = rule
        self.source = source

    def assets(self, aid: str, variables: Mapping[str, Any], profile: str | None) -> list[dict[str, Any]]:
        """The parent entry (when the rule makes one), then the asset's own (no ``vars`` or points yet)."""
        rule = self.rule
        out: list[dict[str, Any]] = []
        own: dict[str, Any] = {"id": aid}
        if rule.parent is not None:
            text = fill(rule.parent, variables)
            out.append({"id": make_id(text), "type": rule.parent_type, "label": text})
            own["parent"] = make_id(text)
        if rule.type is not None:
            own["type"] = rule.type
        if rule.label is not None:
            own["label"] = fill(rule.label, variables)
        if rule.location is not None:
            own["location"] = make_id(fill(rule.location, variables))
        if profile is not None:
            own["profile"] = profile
        out.append(own)
        return out


class TopicRuleFactory(_AssetMaker):
    """Describes the asset a topic rule's profile gives each new topic it matches."""

    rule: TopicRule

    def __init__(self, rule: TopicRule, source: str, catalog: ProfileCatalog | None) -> None:
        super().__init__(rule, source)
        profile = _profile(catalog, rule.profile, rule.id)
        points = _points(profile)
        self.point_ids = {str(p.get("id")) for p in points}
        addr = profile.get("address")
        # the rule's payload format unless the profile says one (it wins, as in the old per-point merge)
        self.payload_given = (isinstance(addr, Mapping) and "payload" in addr) or any(
            isinstance(p.get("address"), Mapping) and "payload" in p["address"] for p in points
        )
        self.point_var = rule.point[1:-1] if rule.point else None
        self.asset_template = rule.asset_template

    def probes(self) -> list[Fragment]:
        """Fragments with placeholder bindings, built once at start-up so a bad profile fails then (a location
        template using a topic level names no real location with them: only a location without one is probed)."""
        probe = {n: "x" for n in self.rule.template.variables}
        bindings = [probe] if self.point_var is None else [{**probe, self.point_var: p} for p in sorted(self.point_ids)]
        found = [self.fragment("probe/topic", b) or {} for b in bindings]
        if self.rule.location is not None and placeholders(self.rule.location) & set(probe):
            for fragment in found:
                for entry in fragment.get("assets", []):
                    entry.pop("location", None)
        return found

    def asset_id(self, bindings: Mapping[str, str]) -> str:
        """The asset a matched topic feeds."""
        return make_id(fill(self.asset_template, {**self.rule.vars, **bindings}))

    def fragment(self, topic: str, bindings: Mapping[str, str]) -> Fragment | None:
        """The fragment of a newly matched topic; None when ``point:`` names no point of the profile."""
        rule = self.rule
        aid = self.asset_id(bindings)
        variables: dict[str, Any] = {**rule.vars, **bindings, "topic": topic}
        wanted = bindings.get(self.point_var) if self.point_var else None
        if wanted is not None and wanted not in self.point_ids:
            return None
        assets = self.assets(aid, {**variables, "asset": aid}, rule.profile)
        address: dict[str, Any] = {"topic": topic}
        if not self.payload_given:
            address["payload"] = rule.payload
        assets[-1].update(vars=variables, address=address)
        if wanted is not None:
            assets[-1]["only"] = [wanted]
        return {"origin": f"mqtt rule {rule.id} (topic {topic})", "assets": assets}


class SparkplugRuleFactory(_AssetMaker):
    """Describes the asset and points of an edge node or device from its birth certificate."""

    rule: SparkplugRule

    def __init__(self, rule: SparkplugRule, source: str, catalog: ProfileCatalog | None) -> None:
        super().__init__(rule, source)
        self.profile = _profile(catalog, rule.profile, rule.id) if rule.profile else None
        self.node_profile = _profile(catalog, rule.node_profile, rule.id) if rule.node_profile else None

    def matches(self, group: str, node: str) -> bool:
        """Whether this rule maps the node."""
        r = self.rule
        return r.group in ("+", group) and r.node in ("+", node)

    def excluded(self, metric: str) -> bool:
        """Metrics never mapped (control metrics by default)."""
        return any(fnmatch.fnmatchcase(metric, pat) for pat in self.rule.exclude)

    def asset_id(self, group: str, node: str, device: str | None) -> str:
        """The asset of a node's (device None) or device's metrics."""
        r = self.rule
        template = r.node_asset if device is None else r.asset
        return make_id(fill(template, {**r.vars, "group": group, "node": node, "device": device or ""}))

    def fragment(self, group: str, node: str, device: str | None, metrics: Mapping[str, int]) -> Fragment | None:
        """The fragment of a birth's metrics (name -> Sparkplug datatype code); None when none is mapped."""
        if device is None and not self.rule.node_metrics:
            return None
        aid = self.asset_id(group, node, device)
        variables: dict[str, Any] = {**self.rule.vars, "group": group, "node": node}
        if device is not None:
            variables["device"] = device
        where = {"payload": "sparkplug", "group": group, "node": node, "device": device}
        profile = self.profile if device is not None else self.node_profile
        name = self.rule.profile if device is not None else self.rule.node_profile
        assets = self.assets(aid, {**variables, "asset": aid}, name)
        origin = f"mqtt rule {self.rule.id} (birth of {group}/{node}{'/' + device if device else ''})"
        if profile is not None:
            only = _birth_points(profile, {**variables, "asset": aid}, metrics)
            assets[-1].update(vars=variables, address=where, only=only)
            return {"origin": origin, "assets": assets} if only else None
        points = [self._metric_point(aid, m, code, where) for m, code in metrics.items()]
        kept = [p for p in points if p is not None]
        return {"origin": origin, "assets": assets, "points": kept} if kept else None

    def _metric_point(self, aid: str, metric: str, code: int, where: Mapping[str, Any]) -> dict[str, Any] | None:
        """A point entry for a birth metric without a profile: named after the metric, typed by its datatype.

        A birth carries no unit, and a numeric measurement needs one (the mapping rule): UNITLESS says so."""
        dt = DATATYPES.get(code, ("", None))[1]
        if dt is None or self.excluded(metric):
            return None
        kind = PointKind.STATUS if dt in (DataType.BOOL, DataType.STRING) else PointKind.MEASUREMENT
        point: dict[str, Any] = {
            "id": make_id(metric),
            "asset": aid,
            "type": kind.value,
            "datatype": dt.value,
            "label": metric,
            "writable": self.rule.writable,
            "address": {**where, "metric": metric},
        }
        if dt.is_numeric and kind is PointKind.MEASUREMENT:
            point["unit"] = "UNITLESS"
        return point


def _birth_points(profile: Mapping[str, Any], variables: Mapping[str, Any], metrics: Mapping[str, int]) -> list[str]:
    """Ids of the profile points whose metric the birth has (a profile may describe more than one device has)."""
    base = profile.get("address")
    found: list[str] = []
    for p in _points(profile):
        addr = {**(base if isinstance(base, Mapping) else {}), **(p.get("address") or {})}
        metric = addr.get("metric")
        if isinstance(metric, str) and fill(metric, variables) in metrics:
            found.append(str(p.get("id")))
    return found
