"""Sparkplug B in the MQTT router: births make points (through the rules), data updates them, deaths make
them Bad, and a gap or an unknown alias asks the edge node for a rebirth (at most once per interval)."""

from __future__ import annotations

import time
from datetime import datetime

from adapters.contract.sample import Quality, Sample
from adapters.mqtt.payload import Problem
from adapters.mqtt.route_rules import RuleRouting
from adapters.mqtt.route_state import STATIC
from adapters.mqtt.sparkplug import SpResult
from protocols.sparkplug.codec import SparkplugError, SpTopic, decode, rebirth_request


class SparkplugRouting(RuleRouting):
    """Sparkplug messages to samples."""

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
        if factory is not None:
            self._discover_births(factory, sp.group, sp.node, res.births)
        out = self._deaths(sp, res, now)
        first = self._updates(sp, res, now, out)
        first = self._problems(where, counter, res, first)
        if first is not None or self.sp_problem.get(key) is not None:
            self.sp_problem[key] = self._note(where, counter, self.sp_problem.get(key), first)
        if res.rebirth is not None and (factory is None or factory.rule.rebirth):
            self._rebirth(sp, res.rebirth)
        return out

    def _deaths(self, sp: SpTopic, res: SpResult, now: datetime) -> list[Sample]:
        out: list[Sample] = []
        for device in res.dead:
            devices = self.sp_nodes.get((sp.group, sp.node), {})
            pids = set().union(*devices.values()) if device is None else devices.get(device, set())
            what = f"NDEATH of {sp.group}/{sp.node}" if device is None else f"DDEATH of {sp.group}/{sp.node}/{device}"
            self.log.info("mqtt %s: %s: %d point(s) marked Bad", self.name, what, len(pids))
            out.extend(
                Sample(pid, None, now, Quality.BAD, "BadNoCommunication", what, self.name) for pid in sorted(pids)
            )
        return out

    def _updates(self, sp: SpTopic, res: SpResult, now: datetime, out: list[Sample]) -> Problem | None:
        """Samples of the metric updates appended to ``out``; the first problem met."""
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
        return first

    def _problems(self, where: str, counter: str, res: SpResult, first: Problem | None) -> Problem | None:
        for kind, reason in res.problems:
            self.counters[f"{kind}.{counter}"] = self.counters.get(f"{kind}.{counter}", 0) + 1
            if kind in ("unknown_alias", "bad_birth"):
                first = first or Problem(kind, "BadDecodingError", reason)
            elif kind != "stale_death":
                self.log.info("mqtt %s: %s: %s", self.name, where, reason)
        return first

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
