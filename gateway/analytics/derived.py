"""Derived points at run time: expressions and aggregates recomputed when their inputs change (docs/analytics.md).

``on_state`` is on the ingest path, so it only looks the point up, feeds the windows it drives, marks its
dependents dirty and schedules one evaluation pass (``loop.call_soon``): many input changes before the pass
runs make one evaluation per derived point. A pass evaluates in dependency order (a derived input before the
points that use it) and applies each result through ``ctx.apply``; the twin calls the listeners again, so a
derived point feeding another is evaluated later in the same pass. Points with windows are also re-evaluated
every ``tick`` seconds, because their value moves with time (averages, integrals, ``last_change``).

Result: value in the point's unit; source time = the newest input's; quality = the worst input's (OPC UA:
Bad > Uncertain > Good) with that input's status and a reason naming it. An input without a value makes the
point Bad ``BadWaitingForInitialData``; a runtime error (division by zero, a domain error) makes it Bad
``BadOutOfRange`` with the reason. Nothing raises into the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.contract.model import Point
from adapters.contract.sample import PointState, Quality, Sample
from gateway.analytics.aggregates import Aggregate
from gateway.analytics.context import AnalyticsContext
from gateway.analytics.derived_env import ExpressionEnv, reason_of, time_of
from gateway.analytics.derived_state import load_integrals, prefill, save_integrals
from gateway.analytics.windows import WindowSet
from gateway.rules.expr import MissingValue
from gateway.rules.spec import DerivedSpec

log = logging.getLogger("twinbridge.analytics")

WAITING = "BadWaitingForInitialData"
RUNTIME_ERROR = "BadOutOfRange"  # OPC UA: "the value was out of range" (division by zero, sqrt of a negative)
TYPE_ERROR = "BadTypeMismatch"
SAVE_INTERVAL = 60.0  # seconds between saves of the running integrals


class DerivedEngine:
    """Every derived point of a twin (``AnalyticsModel.derived``)."""

    def __init__(self, ctx: AnalyticsContext, *, tick: float = 1.0, save_interval: float = SAVE_INTERVAL) -> None:
        self.ctx = ctx
        self.tick = tick
        self.save_interval = save_interval
        self.states = ctx.view.states()
        self.exprs: dict[str, DerivedSpec] = {}
        self.inputs: dict[str, tuple[str, ...]] = {}  # derived point -> every input read (values and windows)
        self.aggregates: dict[str, Aggregate] = {}
        self.points: dict[str, Point] = {}
        self._pytypes: dict[str, type] = {}
        keys: list[Any] = []
        for pid, spec in ctx.spec.derived.items():
            keys.extend(self._take(pid, spec))
        self.windows = WindowSet(keys)
        self.timed = {pid for pid, s in self.exprs.items() if s.compiled.windows}
        self._env = ExpressionEnv(self.states, self.windows)
        self.dependents: dict[str, list[str]] = {}
        self.rank: dict[str, int] = {}
        self._dirty: set[str] = set()
        self._chained = False  # whether a derived point feeds another (then a pass goes rank by rank)
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._failing: dict[str, str] = {}  # point -> status while it fails (logged once per episode)
        self._last: dict[str, tuple[Any, str]] = {}  # point -> (value, status) last applied (ticks skip repeats)
        self._tick_only: set[str] = set()  # dirty because of a tick alone
        self.evaluations = 0
        self.errors = 0
        self._link()

    def _take(self, pid: str, spec: DerivedSpec) -> list[Any]:
        """Register one derived point; returns the window keys its expression reads."""
        point = self.ctx.model.points.get(pid)
        if point is None:
            return []
        self.points[pid] = point
        self._pytypes[pid] = point.datatype.pytype  # an enum property: read once, not per evaluation
        if spec.aggregate is not None:
            self.aggregates[pid] = Aggregate(pid, spec.aggregate, point.unit)
        elif spec.compiled is not None:
            self.exprs[pid] = spec
            c = spec.compiled
            self.inputs[pid] = tuple(dict.fromkeys([*c.inputs, *(k.point for k in c.windows)]))
            return list(c.windows)
        return []

    async def add(self, specs: Mapping[str, DerivedSpec]) -> None:
        """Derived points added at run time (a discovered device whose profile computes some of its points)."""
        fresh = {pid: spec for pid, spec in specs.items() if pid not in self.points}
        keys = [k for pid, spec in fresh.items() for k in self._take(pid, spec)]
        self.windows.add(keys)
        self.timed |= {pid for pid in fresh if pid in self.exprs and self.exprs[pid].compiled.windows}
        for pid in fresh:
            if pid in self.aggregates:
                await self._select_members(pid)
        self._link()
        for pid in fresh:
            if pid in self.points:
                self._mark(pid)
        self._start_tasks()

    async def _select_members(self, pid: str) -> None:
        agg, selections = self.aggregates[pid], self.ctx.selections
        matched: set[str] = set()
        if selections is not None:
            try:
                matched = await selections.watch(agg.spec.selector, lambda ids, pid=pid: self._join(pid, ids))
            except Exception as exc:
                self.errors += 1
                log.error("aggregate %s: its selection failed: %s", pid, exc)
        model = self.ctx.model
        agg.add_members(model.points[m] for m in sorted(matched) if m in model.points)

    def _start_tasks(self) -> None:
        names = {t.get_name() for t in self._tasks}
        if self.timed and "analytics-derived-ticks" not in names:
            self._tasks.append(asyncio.create_task(self._run_ticks(), name="analytics-derived-ticks"))
        if self.windows.integrals and "analytics-integral-saves" not in names:
            self._tasks.append(asyncio.create_task(self._run_saves(), name="analytics-integral-saves"))

    # -- dependencies ---------------------------------------------------------------------------------
    def _link(self) -> None:
        """Rebuild the input -> dependents map and the evaluation order (after members join an aggregate)."""
        edges: dict[str, tuple[str, ...]] = dict(self.inputs)
        for pid, agg in self.aggregates.items():
            edges[pid] = tuple(agg.members)
        rank: dict[str, int] = {}
        visiting: set[str] = set()

        def visit(pid: str) -> int:
            if pid in rank:
                return rank[pid]
            visiting.add(pid)
            depth = 0
            for dep in edges.get(pid, ()):
                if dep not in edges:
                    continue
                if dep in visiting:  # only an aggregate's run-time member can close a cycle (the loader refuses others)
                    self.aggregates[pid].drop(dep, "it depends on this aggregate (a cycle)")
                    continue
                depth = max(depth, visit(dep) + 1)
            visiting.discard(pid)
            rank[pid] = depth
            return depth

        for pid in edges:
            visit(pid)
        dependents: dict[str, list[str]] = {}
        for pid in edges:
            members = self.aggregates[pid].members if pid in self.aggregates else self.inputs[pid]
            for dep in members:
                dependents.setdefault(dep, []).append(pid)
        self._windowed = frozenset(self.windows.points())
        for p in self._windowed:
            dependents.setdefault(p, [])
        self.rank, self.dependents = rank, dependents
        self._chained = any(rank.values())

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        ctx = self.ctx
        await prefill(ctx.view, self.windows)
        load_integrals(ctx.state, self.windows)
        for pid in self.aggregates:
            await self._select_members(pid)
        self._link()
        for pid in self.points:
            self._mark(pid)
        self._start_tasks()

    def adopt(self, points: Sequence[str]) -> None:
        """The derived points among those discovered at run time (computed by their profile)."""
        specs = self.ctx.spec.derived
        found = {pid: specs[pid] for pid in points if pid in specs}
        if found:
            task = asyncio.get_running_loop().create_task(self.add(found), name="analytics-derived-adopt")
            self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await asyncio.to_thread(save_integrals, self.ctx.state, self.windows, time.time())

    def _join(self, pid: str, ids: set[str]) -> None:
        """Points added at run time that now match an aggregate's selection."""
        model = self.ctx.model
        added = self.aggregates[pid].add_members(model.points[i] for i in sorted(ids) if i in model.points)
        if added:
            log.info("aggregate %s: %d member(s) joined (%s)", pid, len(added), ", ".join(added))
            self._link()
            self._mark(pid)

    async def _run_ticks(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            for pid in self.timed:
                if pid not in self._dirty:
                    self._tick_only.add(pid)
                    self._mark(pid)

    async def _run_saves(self) -> None:
        while True:
            await asyncio.sleep(self.save_interval)
            try:
                await asyncio.to_thread(save_integrals, self.ctx.state, self.windows, time.time())
            except Exception:
                log.exception("saving the running integrals failed")

    # -- the hot path ---------------------------------------------------------------------------------
    def on_state(self, state: PointState) -> None:
        """An applied state: feed windows, mark dependents dirty, schedule a pass (cheap: no evaluation here)."""
        point = state.point
        deps = self.dependents.get(point)
        if deps is None:
            return
        if point in self._windowed:
            self.windows.feed(point, time_of(state), state.value, state.quality is Quality.BAD)
        dirty = self._dirty
        for pid in deps:
            if pid not in dirty:
                self._mark(pid)
        if self._tick_only:
            self._tick_only.difference_update(deps)

    def _mark(self, pid: str) -> None:
        if pid in self._dirty:
            return
        self._dirty.add(pid)
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self._run_pass)

    def _run_pass(self) -> None:
        """Evaluate every dirty point once, lowest rank first (results re-enter on_state through the twin, so a
        derived point feeding another marks it for a later round of the same pass)."""
        dirty, evaluate = self._dirty, self._evaluate
        try:
            while dirty:
                if self._chained:
                    rank = self.rank
                    low = min(rank.get(p, 0) for p in dirty)
                    batch = [p for p in dirty if rank.get(p, 0) == low]
                    dirty.difference_update(batch)
                else:
                    batch = list(dirty)
                    dirty.clear()
                for pid in batch:
                    evaluate(pid)
        finally:
            self._scheduled = False

    # -- evaluation -----------------------------------------------------------------------------------
    def _evaluate(self, pid: str) -> None:
        self.evaluations += 1
        try:
            if pid in self.exprs:
                sample = self._expression(pid)
            else:
                out = self.aggregates[pid].evaluate(self.states)
                sample = self._sample(pid, out.value, out.quality, out.status, out.reason, out.source_ts)
        except Exception as exc:  # a bug must make this point Bad, never stop the pass
            log.exception("evaluating %s failed", pid)
            sample = Sample.bad(pid, "BadInternalError", f"{type(exc).__name__}: {exc}")
        if sample.quality is Quality.BAD and sample.status != WAITING:
            self.errors += 1
            self._report(pid, sample)
        elif pid in self._failing:
            self._report(pid, sample)
        if pid in self._tick_only:
            self._tick_only.discard(pid)
            if self._last.get(pid) == (sample.value, sample.status):
                return  # a tick that changed nothing
            self._last[pid] = (sample.value, sample.status)
        elif pid in self.timed:
            self._last[pid] = (sample.value, sample.status)
        try:
            self.ctx.apply(sample)
        except Exception:
            log.exception("applying the derived value of %s failed", pid)

    def _expression(self, pid: str) -> Sample:
        """Evaluate an expression: the worst input's quality, the newest input's source time (the hot path)."""
        get = self.states.get
        worst_state: PointState | None = None
        worst = Quality.GOOD
        newest: datetime | None = None
        for inp in self.inputs[pid]:
            st = get(inp)
            if st is None:
                continue
            if st.quality > worst:
                worst, worst_state = st.quality, st
            ts = st.source_ts
            if ts is not None and (newest is None or ts > newest):
                newest = ts
        env = self._env
        if pid in self.timed:  # windows are read at 'now', and the value is as of then
            env.now = max(time.time(), newest.timestamp() if newest is not None else 0.0)
            newest = datetime.fromtimestamp(env.now, UTC)
        try:
            value = self.exprs[pid].compiled.evaluate(env)
        except MissingValue as exc:
            missing = exc.args[0] if exc.args else "an input"
            return self._sample(pid, None, Quality.BAD, WAITING, f"input {missing} has no value yet", newest)
        except (ArithmeticError, ValueError) as exc:
            return self._sample(pid, None, Quality.BAD, RUNTIME_ERROR, reason_of(exc, self._text(pid)), newest)
        except TypeError as exc:
            return self._sample(pid, None, Quality.BAD, TYPE_ERROR, reason_of(exc, self._text(pid)), newest)
        if worst_state is None:
            return self._sample(pid, value, Quality.GOOD, "Good", None, newest)
        st = worst_state
        reason = f"input {st.point}: {st.status}" + (f" ({st.reason})" if st.reason else "")
        return self._sample(pid, value, worst, st.status, reason, newest)

    def _sample(
        self, pid: str, value: Any, quality: Quality, status: str, reason: str | None, source_ts: datetime | None
    ) -> Sample:
        ts = source_ts or datetime.now(UTC)
        if value is None:
            return Sample.bad(pid, status, reason, source_ts=ts)
        pytype = self._pytypes[pid]
        if pytype is float:
            if value - value != 0:  # inf or nan
                return Sample.bad(pid, RUNTIME_ERROR, f"the result is {value} in '{self._text(pid)}'", source_ts=ts)
            value = float(value)
        elif pytype is bool:
            value = bool(value)
        elif pytype is int:
            value = round(value)
        return Sample(pid, value, ts, quality, status, reason, "analytics")

    def _text(self, pid: str) -> str:
        spec = self.exprs.get(pid)
        return (spec.expr or "") if spec is not None else self.aggregates[pid].spec.selector.describe()

    def _report(self, pid: str, sample: Sample) -> None:
        """Log when a point starts failing (once) and when it recovers."""
        failing = sample.quality is Quality.BAD and sample.status != WAITING
        before = self._failing.get(pid)
        if failing and before != sample.status:
            self._failing[pid] = sample.status
            log.warning("derived point %s is Bad: %s (%s)", pid, sample.status, sample.reason)
        elif not failing and before is not None:
            del self._failing[pid]
            log.info("derived point %s recovered", pid)

    def stats(self) -> dict[str, int]:
        """Counters for the analytics health entry."""
        excluded = sum(len(a.excluded) for a in self.aggregates.values())
        return {
            "points": len(self.points),
            "evaluations": self.evaluations,
            "errors": self.errors,
            "failing": len(self._failing),
            "aggregate_members": sum(len(a.members) for a in self.aggregates.values()),
            "aggregate_excluded": excluded,
        }


def build(ctx: AnalyticsContext) -> DerivedEngine:
    """The engine (with no derived points yet it waits for points discovered at run time)."""
    return DerivedEngine(ctx)
