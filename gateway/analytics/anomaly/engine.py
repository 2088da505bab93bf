"""The anomaly engine: scores watched points on a worker thread and publishes each score as a derived point.

``on_state`` (on the loop, on the ingest path) only appends ``(point, source time, value)`` to a bounded deque
for watched points with a Good number; when the deque is full the oldest entry is dropped and counted, so ingest
never waits for a detector. The worker drains the deque in batches, scores them per point, and hands the
scores back to the loop in one ``call_soon_threadsafe`` per batch (``ctx.apply``, the input's source time,
Good). Detector states are saved to the state store (kind ``detector``, key = the input point) about every
minute and at stop, and restored at start, so a restart keeps the learned baseline.

Class detectors take the points their selector picks (now and as points are added at run time), add a score
point ``<point id>_anomaly`` for each, and an ANOMALY alarm rule on it when the alarm engine runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.contract.model import Point
from adapters.contract.sample import PointState, Quality, Sample
from gateway.analytics.anomaly.detectors import Detector, DetectorError, make_detector, restore
from gateway.analytics.context import AnalyticsContext
from gateway.config.analytics_anomaly import SCORE_SUFFIX, score_point
from gateway.rules.spec import DERIVED_SOURCE, AlarmKind, AlarmRule, DetectorSpec

log = logging.getLogger("twinbridge.analytics.anomaly")
STATE_KIND = "detector"
SAVE_SECONDS = 60.0
IDLE_SECONDS = 0.05  # the worker's nap when there is nothing to score
BATCH = 20_000


@dataclass
class Watched:
    """One input point under a detector."""

    point: str
    spec: DetectorSpec
    score_point: str
    detector: Detector


class AnomalyEngine:
    """Per-point and class detectors of one gateway (``gateway.analytics.anomaly.build``)."""

    def __init__(self, ctx: AnalyticsContext) -> None:
        self.ctx = ctx
        self.limit = max(1, ctx.spec.settings.anomaly_queue)
        self._queue: deque[tuple[str, datetime, float]] = deque(maxlen=self.limit)
        self._watched: dict[str, Watched] = {}
        self._saved: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.scored = 0
        self.errors = 0

    # -- the ingest path --------------------------------------------------------------------------------
    def on_state(self, state: PointState) -> None:
        """Queue a watched point's Good number for scoring (drops the oldest entry when full, counted)."""
        if state.point not in self._watched or state.quality is not Quality.GOOD:
            return
        value = state.value
        if value is None or value.__class__ is bool or not isinstance(value, int | float) or state.source_ts is None:
            return
        queue = self._queue
        if len(queue) >= self.limit:
            self.dropped += 1
        queue.append((state.point, state.source_ts, float(value)))

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Restore saved detectors, watch the per-point and class selections, start the worker."""
        self._loop = asyncio.get_running_loop()
        self._saved = await asyncio.to_thread(self.ctx.state.load_json, STATE_KIND)
        self.add_detectors(self.ctx.spec.anomaly)
        for cd in self.ctx.spec.class_anomaly:
            if self.ctx.selections is None:
                log.warning("class detector on %s skipped: no selections in this build", cd.selector.describe())
                continue
            spec = cd.detector

            async def added(ids: set[str], spec: DetectorSpec = spec) -> None:
                await self._add_class_points(ids, spec)

            try:
                matched = await self.ctx.selections.watch(cd.selector, added)
            except Exception as exc:  # a selector that cannot run must not stop the other detectors
                self.errors += 1
                log.error("class detector on %s: %s", cd.selector.describe(), exc)
                continue
            await self._add_class_points(matched, spec)
        self._thread = threading.Thread(target=self._work, name="anomaly-detectors", daemon=True)
        self._thread.start()

    def adopt(self, points: Sequence[str]) -> None:
        """The detectors of points discovered at run time (their profile's ``anomaly:``)."""
        specs = self.ctx.spec.anomaly
        self.add_detectors({pid: specs[pid] for pid in points if pid in specs})

    async def stop(self) -> None:
        """Stop the worker (it saves every detector's state); idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join)

    def stats(self) -> dict[str, int]:
        """Counters for the analytics health entry."""
        return {
            "detectors": len(self._watched),
            "queued": len(self._queue),
            "dropped": self.dropped,
            "scored": self.scored,
            "errors": self.errors,
        }

    def detector(self, point: str) -> Detector | None:
        """The detector on an input point (tests, diagnostics)."""
        w = self._watched.get(point)
        return None if w is None else w.detector

    # -- watching points --------------------------------------------------------------------------------
    def _watch(self, pid: str, spec: DetectorSpec, score_point: str) -> bool:
        if pid in self._watched:
            return False
        saved = self._saved.get(pid)
        detector: Detector | None = None
        if isinstance(saved, dict) and saved.get("detector") == spec.detector:
            try:
                detector = restore(saved)
            except DetectorError as exc:
                log.warning("detector state of %s not restored (starting afresh): %s", pid, exc)
        try:
            detector = detector or make_detector(spec.detector, spec.season, spec.params)
        except DetectorError as exc:
            self.errors += 1
            log.error("no anomaly detector on %s: %s", pid, exc)
            return False
        # a new dict, not an update: the worker iterates the current one without a lock
        self._watched = {**self._watched, pid: Watched(pid, spec, score_point, detector)}
        return True

    def add_detectors(self, specs: Mapping[str, DetectorSpec]) -> None:
        """Per-point detectors (the mapping's, and those of points discovered at run time): the loader already
        made their score points and ANOMALY rules."""
        for pid, spec in specs.items():
            self._watch(pid, spec, spec.score_point or pid + SCORE_SUFFIX)

    @staticmethod
    def _rule(spec: DetectorSpec, detector: Detector) -> AlarmRule:
        threshold = detector.default_threshold if spec.threshold is None else spec.threshold
        return AlarmRule(
            name="anomaly", kind=AlarmKind.ANOMALY, severity=spec.severity, threshold=threshold, origin=spec.origin
        )

    async def _add_class_points(self, ids: Iterable[str], spec: DetectorSpec) -> None:
        """Score points (and alarm rules) for the numeric points a class detector picks."""
        model = self.ctx.model
        scores = {w.score_point for w in self._watched.values()}
        new: list[tuple[Point, Point]] = []
        for pid in sorted(ids):
            point = model.points.get(pid)
            if point is None or pid in self._watched or pid in scores or not point.datatype.is_numeric:
                continue
            if point.source == DERIVED_SOURCE and pid.endswith(SCORE_SUFFIX):
                continue  # another detector's score: no detector on detectors
            new.append((point, score_point(point, spec)))
        if not new:
            return
        added = {p.id for p in self.ctx.add_points([score for _, score in new])}
        for point, score in new:
            if score.id not in added and score.id not in model.points:
                log.warning("class detector: no score point %s could be added; %s is not watched", score.id, point.id)
                continue
            if self._watch(point.id, spec, score.id) and spec.alarm and self.ctx.alarms is not None:
                self.ctx.alarms.add_rules(score.id, [self._rule(spec, self._watched[point.id].detector)])
        log.info("class detector: %d point(s) watched", len(new))

    # -- the worker -------------------------------------------------------------------------------------
    def _work(self) -> None:
        next_save = time.monotonic() + SAVE_SECONDS
        while not self._stop.is_set():
            batch = self._drain()
            if batch:
                self._score(batch)
            else:
                self._stop.wait(IDLE_SECONDS)
            if time.monotonic() >= next_save:
                self._save()
                next_save = time.monotonic() + SAVE_SECONDS
        self._save()

    def _drain(self) -> list[tuple[str, datetime, float]]:
        queue = self._queue
        out: list[tuple[str, datetime, float]] = []
        pop = queue.popleft
        while queue and len(out) < BATCH:
            out.append(pop())
        return out

    def _score(self, batch: list[tuple[str, datetime, float]]) -> None:
        by_point: dict[str, list[tuple[datetime, float]]] = {}
        for pid, ts, value in batch:
            by_point.setdefault(pid, []).append((ts, value))
        watched = self._watched
        samples: list[Sample] = []
        for pid, rows in by_point.items():
            w = watched.get(pid)
            if w is None:
                continue
            try:
                scores = w.detector.score([ts.timestamp() for ts, _ in rows], [v for _, v in rows])
            except Exception:  # a detector's bug must not stop the others
                self.errors += 1
                log.exception("anomaly detector on %s failed", pid)
                continue
            sp = w.score_point
            samples.extend(
                Sample(sp, score, ts, Quality.GOOD, "Good", None, DERIVED_SOURCE)
                for (ts, _), score in zip(rows, scores, strict=True)
            )
        self.scored += len(samples)
        loop = self._loop
        if samples and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._publish, samples)

    def _publish(self, samples: list[Sample]) -> None:
        apply = self.ctx.apply
        for sample in samples:
            try:
                apply(sample)
            except Exception:
                self.errors += 1
                log.exception("applying the anomaly score of %s failed", sample.point)

    def _save(self) -> None:
        states: dict[str, Any] = {}
        for pid, w in self._watched.items():
            try:
                states[pid] = w.detector.to_state()
            except Exception:
                self.errors += 1
                log.exception("saving the detector state of %s failed", pid)
        try:
            self.ctx.state.save_json(STATE_KIND, states)
        except Exception:
            self.errors += 1
            log.exception("saving detector states failed")
