"""The recorder: every state the twin applies, filtered by its point's policy, written in batches off the loop.

The twin calls ``on_state`` for every applied sample (a listener, not a conflating subscription, so nothing is
lost to a slow consumer). That call only decides and appends to a columnar batch under a lock (about a
microsecond); a flusher thread swaps the batch every ``flush_interval`` and writes it in one store transaction,
and an upkeep thread runs roll-ups, retention and compaction every ``upkeep_interval``, so a long upkeep never
delays a flush. Quality changes are recorded whatever the mode.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter

from adapters.contract.sample import PointState
from adapters.contract.status import number_of
from gateway.config.history import HistoryPolicy
from gateway.history.model import HistoryStore, HistoryValue, Retention, Rollup, RowBatch

log = logging.getLogger("twinbridge.history")
_UNSET = object()


def retention_of(policy: HistoryPolicy) -> Retention:
    """What the store keeps of a point with this policy (µs)."""
    raw = None if policy.retention is None else int(policy.retention * 1e6)
    return Retention(raw, tuple(Rollup(int(i * 1e6), None if r is None else int(r * 1e6)) for i, r in policy.rollups))


@dataclass(slots=True)
class _Last:
    value: HistoryValue
    status: int
    source_us: int


class Recorder:
    """Records applied states into a store per each point's policy."""

    def __init__(
        self,
        store: HistoryStore,
        policies: Mapping[str, HistoryPolicy | None],
        default: HistoryPolicy | None,
        *,
        flush_interval: float = 1.0,
        upkeep_interval: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        # the model's, read live: the loader adds the policies of points discovered at run time before they run
        self.policies = policies
        self._resolved: dict[str, HistoryPolicy | None] = {}
        self.default = default
        self.flush_interval = flush_interval
        self.upkeep_interval = upkeep_interval
        self.clock = clock
        # appended on the loop, taken by the flusher: deque appends and pops are atomic, no lock needed
        self._rows: deque[tuple[str, int, int, HistoryValue, int]] = deque()
        self._last: dict[str, _Last] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.recorded = 0
        self.skipped = 0
        self.flushes = 0
        self.flush_errors = 0
        self.max_flush_seconds = 0.0
        store.configure(
            {p: retention_of(pol) for p, pol in self.policies.items() if pol is not None},
            retention_of(default) if default is not None else Retention(),
        )

    # -- the twin's side (event loop) ---------------------------------------------------------------------
    def on_state(self, state: PointState) -> None:
        """Record one applied state if its point's policy wants it (on the loop: a few dict and list operations)."""
        point = state.point
        policy = self._resolved.get(point, _UNSET)
        if policy is _UNSET:  # first sample of the point: its policy, or the twin's for one nobody resolved
            policy = self._resolved[point] = self.policies.get(point, self.default)
        if policy is None:
            return
        assert isinstance(policy, HistoryPolicy)
        status = number_of(state.status)
        fault = state.quality_ts is not None  # the sample carried no value: the twin kept the last one
        value = None if fault else state.value
        when = state.quality_ts if fault else state.source_ts
        source_us = round(when.timestamp() * 1e6) if when is not None else 0
        if policy.mode != "all":
            last = self._last.get(point)
            if last is not None and last.status == status and self._suppressed(policy, last, value, source_us):
                self.skipped += 1
                return
            self._last[point] = _Last(value, status, source_us)
        gateway_ts = state.gateway_ts
        server_us = round(gateway_ts.timestamp() * 1e6) if gateway_ts is not None else source_us
        self._rows.append((point, source_us or server_us, server_us, value, status))

    @staticmethod
    def _suppressed(policy: HistoryPolicy, last: _Last, value: HistoryValue, source_us: int) -> bool:
        if policy.mode == "interval":
            return source_us - last.source_us < (policy.interval or 0) * 1e6
        if policy.mode == "deadband":
            old = last.value
            if isinstance(value, int | float) and isinstance(old, int | float) and not isinstance(value, bool):
                return abs(value - old) < (policy.deadband or 0.0)
            return value == old
        return False

    # -- the writer's side (threads) ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the flusher and upkeep threads."""
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._flusher, name="history-flush", daemon=True),
            threading.Thread(target=self._upkeeper, name="history-upkeep", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def flush(self) -> int:
        """Write what is batched now (from any thread but the loop); returns the rows written."""
        queue = self._rows
        rows = [queue.popleft() for _ in range(len(queue))]
        if not rows:
            return 0
        points, source_us, server_us, values, status = (list(map(itemgetter(k), rows)) for k in range(5))
        batch = RowBatch(points, array("q", source_us), array("q", server_us), values, array("I", status))
        t0 = time.perf_counter()
        try:
            self.store.append_batch(batch)
            self.store.flush()
        except Exception:
            self.flush_errors += 1
            log.exception("writing %d history rows failed; they are kept for the next flush", len(rows))
            self._rows.extendleft(reversed(rows))  # back in front, so order is kept
            return 0
        self.flushes += 1
        self.recorded += len(rows)
        self.max_flush_seconds = max(self.max_flush_seconds, time.perf_counter() - t0)
        return len(rows)

    def upkeep(self) -> None:
        """Roll-ups, retention and compaction now (the clock says when 'now' is)."""
        try:
            self.store.apply_retention(int(self.clock() * 1e6))
        except Exception:
            log.exception("history upkeep failed; it is tried again at the next interval")

    def _flusher(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()
        self.flush()

    def _upkeeper(self) -> None:
        while not self._stop.wait(self.upkeep_interval):
            self.upkeep()

    def stop(self) -> None:
        """Stop the threads after a last flush; idempotent."""
        self._stop.set()
        for t in self._threads:
            t.join()
        self._threads = []
        self.flush()
