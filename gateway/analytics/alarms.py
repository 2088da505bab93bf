"""The alarm engine: evaluates alarm rules on every applied state and runs the conditions' lifecycle.

It is the running gateway's ``AlarmService`` (``view.analytics``). Rules come from the mapping (per point and
per class, through the selections) and from other engines at run time (``add_rules``: anomaly detectors).
``on_state`` sits on the ingest path: a dict lookup of the point's evaluators and a few comparisons each; only a
transition allocates. A periodic tick decides on/off delays, stale and quality rules, and timed shelving, and
saves changed condition states to the state store off the loop, so a restart keeps them (docs/analytics.md,
"Alarms").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.contract.polling import LogOnce
from adapters.contract.sample import PointState
from gateway.analytics.alarm_eval import NO_PENDING, Evaluator, RuleError
from gateway.analytics.alarm_rules import make_evaluator
from gateway.analytics.alarm_text import Feed, condition_message
from gateway.analytics.conditions import Condition
from gateway.analytics.context import AnalyticsContext
from gateway.analytics.model import AlarmEvent, AlarmOutcome, AlarmSnapshot, Transition
from gateway.rules.spec import AlarmRule, ClassRule

log = logging.getLogger("twinbridge.analytics.alarms")
STATE_KIND = "alarm"
TICK_SECONDS = 0.25


def _unknown(alarm_id: str) -> AlarmOutcome:
    return AlarmOutcome("BadNodeIdUnknown", f"no alarm condition '{alarm_id}'")


class AlarmEngine:
    """Alarm conditions of the running gateway (implements ``gateway.analytics.model.AlarmService``)."""

    def __init__(
        self, ctx: AnalyticsContext, *, clock: Callable[[], float] = time.time, tick: float = TICK_SECONDS
    ) -> None:
        self.ctx = ctx
        self._clock = clock
        self._tick_seconds = tick
        self._conds: dict[str, Condition] = {}
        self._evals: dict[str, Evaluator] = {}
        self._by_point: dict[str, list[Evaluator]] = {}
        self._waiting: set[Evaluator] = set()  # a delayed change pending
        self._ticking: set[Evaluator] = set()  # stale and quality rules
        self._timed_shelves: set[Condition] = set()
        self._feeds: list[Feed] = []
        self._dirty: set[str] = set()
        self._saved: dict[str, Any] = {}
        self._queued: list[tuple[str, tuple[AlarmRule, ...]]] = []
        self._memory: deque[AlarmEvent] = deque(maxlen=ctx.spec.settings.journal_limit)
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self._once = LogOnce(log)
        self.transitions = 0
        self.skipped = 0  # rules that could not apply to a point
        self.errors = 0  # journal or state store failures

    # -- building -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Restore saved states, install the mapping's rules and class rules, start the tick."""
        self._saved = await asyncio.to_thread(self.ctx.state.load_json, STATE_KIND)
        self._started = True
        for pid, rules in self.ctx.spec.alarms.items():
            self.add_rules(pid, rules)
        for pid, rules in self._queued:
            self.add_rules(pid, rules)
        self._queued.clear()
        for class_rule in self.ctx.spec.class_alarms:
            await self._add_class_rule(class_rule)
        self._task = asyncio.create_task(self._run(), name="alarm-tick")

    async def _add_class_rule(self, cr: ClassRule) -> None:
        sel = self.ctx.selections
        if sel is None:  # no selection service (tests, embedding): listed points only
            ids: set[str] = set(cr.selector.points)
        else:

            def added(ids: set[str], rule: AlarmRule = cr.rule) -> None:
                for pid in sorted(ids):
                    self.add_rules(pid, (rule,))

            try:  # the points matching now, and a call for those that start matching at run time
                ids = set(await sel.watch(cr.selector, added))
            except Exception as exc:  # a SPARQL selection that cannot run: this rule only
                self.skipped += 1
                log.error("class alarm rule %s (%s) not applied: %s", cr.rule.name, cr.selector.describe(), exc)
                return
        for pid in sorted(ids):
            self.add_rules(pid, (cr.rule,))

    def add_rules(self, point_id: str, rules: Iterable[AlarmRule]) -> list[str]:
        """Attach rules to a point (at run time too); returns the ids of the conditions added."""
        rules = tuple(rules)
        if not self._started:
            self._queued.append((point_id, rules))
            return []
        return [cid for rule in rules if (cid := self._install(point_id, rule)) is not None]

    def _install(self, pid: str, rule: AlarmRule) -> str | None:
        cid = f"{pid}/{rule.name}"
        points = self.ctx.model.points
        point = points.get(pid)
        if point is None:
            self._once(cid, "alarm rule %s skipped: no point %s", rule.name, pid)
            return None
        if cid in self._conds:
            self._once(cid, "alarm rule %s on %s skipped: the point already has a rule of that name", rule.name, pid)
            return None
        cond = Condition(cid, rule, pid, point.asset, point.unit, enabled=rule.enabled)
        try:
            ev = make_evaluator(rule, cond, self, point, points)
        except RuleError as exc:
            self.skipped += 1
            self._once(cid, "alarm rule %s skipped for point %s: %s", rule.name, pid, exc)
            return None
        now = self._clock()
        saved = self._saved.get(cid)
        if isinstance(saved, dict):
            cond.restore(saved)
            ev.restore_level()
            if cond.shelved == "timed":
                self._timed_shelves.add(cond)
        else:
            cond.stamp(os.urandom(16), now)
            cond.message = self._message(cond, ev)
        self._conds[cid] = cond
        self._evals[cid] = ev
        if cond.enabled:
            self._attach(ev, now)
        return cid

    def _attach(self, ev: Evaluator, now: float) -> None:
        inputs = ev.inputs()
        for pid in inputs:
            self._by_point.setdefault(pid, []).append(ev)
        if ev.ticking:
            self._ticking.add(ev)
        states = self.ctx.view.states()
        for pid in reversed(inputs):  # a deviation's setpoint before its point
            state = states.get(pid)
            if state is not None:
                ev.seed(state, now)

    def _detach(self, ev: Evaluator) -> None:
        for pid in ev.inputs():
            evs = self._by_point.get(pid)
            if evs is not None and ev in evs:
                evs.remove(ev)
                if not evs:
                    del self._by_point[pid]
        self._ticking.discard(ev)
        self._waiting.discard(ev)
        ev.level, ev.pending, ev.suppressed = 0, NO_PENDING, False

    # -- the ingest path ----------------------------------------------------------------------------
    def on_state(self, state: PointState) -> None:
        """Hear an applied state (twin state listener, on the loop)."""
        evs = self._by_point.get(state.point)
        if evs is None:
            return
        now = self._clock()
        for ev in evs:
            ev.feed(state, now)

    # -- the evaluators' sink -----------------------------------------------------------------------
    def level_changed(self, ev: Evaluator, level: int, value: Any, now: float) -> None:
        cond = ev.cond
        trs = cond.set_active(ev.level_name(level), value, now) if level else cond.set_inactive(value, now)
        self._emit(cond, trs, now, ev=ev)

    def suppression(self, ev: Evaluator, suppressed: bool, now: float) -> None:
        self._emit(ev.cond, ev.cond.set_suppressed(suppressed), now, ev=ev)

    def wait(self, ev: Evaluator) -> None:
        self._waiting.add(ev)

    # -- the tick -----------------------------------------------------------------------------------
    def tick(self, now: float | None = None) -> None:
        """Decide delays, stale and quality rules and timed shelving at ``now``."""
        now = self._clock() if now is None else now
        if self._waiting:
            for ev in list(self._waiting):
                if not ev.tick(now):
                    self._waiting.discard(ev)
        for ev in self._ticking:
            ev.tick(now)
        if self._timed_shelves:
            for cond in list(self._timed_shelves):
                trs = cond.expire_shelve(now)
                if trs:
                    self._timed_shelves.discard(cond)
                    self._emit(cond, trs, now)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            try:
                self.tick()
                if self._dirty:
                    await asyncio.to_thread(self._save, self._take_dirty())
            except Exception:
                self.errors += 1
                log.exception("alarm tick failed")

    def _take_dirty(self) -> dict[str, Any]:
        items = {cid: self._conds[cid].dump() for cid in self._dirty if cid in self._conds}
        self._dirty.clear()
        return items

    def _save(self, items: dict[str, Any]) -> None:
        self.ctx.state.save_json(STATE_KIND, items)

    def adopt(self, points: Sequence[str]) -> None:
        """The rules of points discovered at run time (their profile's ``alarms:``)."""
        rules = self.ctx.spec.alarms
        for pid in points:
            if pid in rules:
                self.add_rules(pid, rules[pid])

    async def stop(self) -> None:
        """End the tick, save what changed, close the subscribers' feeds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._dirty:
            try:
                await asyncio.to_thread(self._save, self._take_dirty())
            except Exception:
                self.errors += 1
                log.exception("saving alarm states failed")
        for feed in list(self._feeds):
            feed.close()
        self._started = False

    # -- transitions --------------------------------------------------------------------------------
    def _emit(
        self,
        cond: Condition,
        transitions: Sequence[Transition],
        now: float,
        actor: str | None = None,
        comment: str | None = None,
        ev: Evaluator | None = None,
    ) -> None:
        if not transitions:
            return
        ev = ev or self._evals[cond.id]
        when = datetime.fromtimestamp(now, UTC)
        for transition in transitions:
            cond.stamp(os.urandom(16), now)
            cond.message = self._message(cond, ev)
            event = AlarmEvent(cond.snapshot(), transition, when, actor, comment)
            self.transitions += 1
            journal = self.ctx.journal
            if journal is not None:
                try:
                    journal.record(event)
                except Exception as exc:
                    self.errors += 1
                    self._once(("journal", type(exc)), "recording an alarm transition failed: %s", exc)
            else:
                self._memory.append(event)
            for feed in self._feeds:
                feed.push(event)
        self._dirty.add(cond.id)

    def _message(self, cond: Condition, ev: Evaluator) -> str:
        return condition_message(cond, ev.limit(ev.shown), self.ctx.model)

    # -- AlarmService ---------------------------------------------------------------------------------
    def alarms(self) -> list[AlarmSnapshot]:
        return [c.snapshot() for c in self._conds.values()]

    def alarm(self, alarm_id: str) -> AlarmSnapshot | None:
        cond = self._conds.get(alarm_id)
        return None if cond is None else cond.snapshot()

    def _act(
        self,
        alarm_id: str,
        action: Callable[[Condition], tuple[AlarmOutcome, list[Transition]]],
        actor: str,
        comment: str | None,
    ) -> AlarmOutcome:
        cond = self._conds.get(alarm_id)
        if cond is None:
            return _unknown(alarm_id)
        outcome, trs = action(cond)
        self._emit(cond, trs, self._clock(), actor, comment)
        return outcome

    def acknowledge(
        self, alarm_id: str, *, actor: str, comment: str | None = None, event_id: bytes | None = None
    ) -> AlarmOutcome:
        return self._act(alarm_id, lambda c: c.acknowledge(actor, comment, event_id), actor, comment)

    def confirm(
        self, alarm_id: str, *, actor: str, comment: str | None = None, event_id: bytes | None = None
    ) -> AlarmOutcome:
        return self._act(alarm_id, lambda c: c.confirm(actor, comment, event_id), actor, comment)

    def shelve(
        self, alarm_id: str, *, actor: str, duration: float | None = None, comment: str | None = None
    ) -> AlarmOutcome:
        now = self._clock()
        outcome = self._act(alarm_id, lambda c: c.shelve(actor, duration, comment, now), actor, comment)
        cond = self._conds.get(alarm_id)
        if outcome.ok and cond is not None and cond.shelved == "timed":
            self._timed_shelves.add(cond)
        return outcome

    def unshelve(self, alarm_id: str, *, actor: str, comment: str | None = None) -> AlarmOutcome:
        outcome = self._act(alarm_id, lambda c: c.unshelve(actor, comment), actor, comment)
        cond = self._conds.get(alarm_id)
        if cond is not None:
            self._timed_shelves.discard(cond)
        return outcome

    def set_enabled(self, alarm_id: str, enabled: bool, *, actor: str) -> AlarmOutcome:
        cond = self._conds.get(alarm_id)
        if cond is None:
            return _unknown(alarm_id)
        outcome, trs = cond.set_enabled(enabled, actor)
        if not outcome.ok:
            return outcome
        ev, now = self._evals[alarm_id], self._clock()
        self._emit(cond, trs, now, actor)
        if enabled:
            self._attach(ev, now)  # re-evaluated from the point's current state
        else:
            self._detach(ev)
        return outcome

    def add_comment(self, alarm_id: str, comment: str, *, actor: str) -> AlarmOutcome:
        return self._act(alarm_id, lambda c: c.add_comment(comment, actor), actor, comment)

    def subscribe(self, maxsize: int = 10_000) -> Feed:
        feed = Feed(maxsize, self._feeds.remove)
        self._feeds.append(feed)
        return feed

    def journal(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        alarm_ids: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[AlarmEvent]:
        if self.ctx.journal is not None:
            return list(self.ctx.journal.read(start=start, end=end, alarm_ids=alarm_ids, limit=limit))
        wanted = None if alarm_ids is None else set(alarm_ids)
        out = [
            e
            for e in self._memory
            if (start is None or e.time >= start)
            and (end is None or e.time < end)
            and (wanted is None or e.alarm.id in wanted)
        ]
        return out[:limit]

    # -- health ---------------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Counters for the ``analytics`` source entry."""
        conds = self._conds.values()
        return {
            "conditions": len(self._conds),
            "active": sum(1 for c in conds if c.active),
            "unacknowledged": sum(1 for c in conds if not c.acked),
            "shelved": sum(1 for c in conds if c.shelved),
            "transitions": self.transitions,
            "skipped_rules": self.skipped,
            "errors": self.errors,
            "feed_dropped": sum(f.dropped for f in self._feeds),
        }


def build(ctx: AnalyticsContext) -> AlarmEngine | None:
    """The alarm engine (with no rules yet it waits for rules of points discovered at run time)."""
    engine = AlarmEngine(ctx)
    ctx.alarms = engine
    return engine
