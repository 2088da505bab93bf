"""Live values on their way to a store: a backlog coalesced per point, and the updates that carry it.

Changes only mark a point dirty (with the time it first became so): however long the store is away, the backlog
holds at most one entry per point, and what is sent is each point's state *at send time*. The triples last
written for a point are kept, so an update deletes exactly those and inserts the new ones, only where they
differ. Where the store's content is unknown (after a failed request: it may or may not have been applied),
the point's triples are deleted by subject instead, which is right whatever the store holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from adapters.contract.sample import PointState
from gateway.twin.live import state_lines

# point id -> (point IRI, value node IRI or None, xsd datatype)
Shape = tuple[str, str | None, str]


@dataclass(slots=True)
class Batch:
    """One update request's worth of points."""

    points: list[str]
    firsts: list[float]  # monotonic time each point first became dirty
    lines: list[list[str]]  # the new triples of each point
    update: str
    triples: int = 0
    subjects_reset: list[str] = field(default_factory=list)


class RemoteLive:
    """The backlog of one store and what the store holds of each point, as far as is known."""

    def __init__(self, graph: str, shape: Callable[[str], Shape | None]) -> None:
        self.graph = graph
        self._shape = shape
        self.dirty: dict[str, float] = {}  # point -> monotonic time it first changed since its last send
        self.written: dict[str, list[str]] = {}
        self.unknown: set[str] = set()

    # -- backlog --------------------------------------------------------------------------------------
    def mark(self, point: str, now: float | None = None) -> None:
        """A point changed (cheap; coalesced per point)."""
        if point not in self.dirty:
            self.dirty[point] = time.monotonic() if now is None else now

    def mark_all(self, points: Iterable[str]) -> None:
        """Several points changed (a model change, a catch-up)."""
        now = time.monotonic()
        for p in points:
            self.mark(p, now)

    @property
    def backlog(self) -> int:
        """Points waiting to be sent."""
        return len(self.dirty)

    def oldest(self) -> float | None:
        """When the oldest waiting change happened (monotonic), or None."""
        return min(self.dirty.values()) if self.dirty else None

    # -- building updates -----------------------------------------------------------------------------
    def take(self, state: Callable[[str], PointState | None], max_triples: int) -> Iterator[Batch]:
        """Take the whole backlog as batches of at most ``max_triples`` triples (deleted + inserted).

        The caller sends each batch and reports it with :meth:`sent` or :meth:`failed`.
        """
        dirty, self.dirty = self.dirty, {}
        pending = _Builder(self.graph)
        for pid, first in dirty.items():
            shape = self._shape(pid)
            current = state(pid)
            if shape is None or current is None:
                continue  # removed meanwhile
            subject, value_node, xsd = shape
            new = state_lines(subject, current, xsd, value_node)
            old = self.written.get(pid)
            if old == new and pid not in self.unknown:
                continue
            if pending.triples and pending.triples + 2 * len(new) > max_triples:
                yield pending.finish()
                pending = _Builder(self.graph)
            if pid in self.unknown:
                pending.reset(pid, [subject] + ([value_node] if value_node else []), new, first)
            else:
                pending.diff(pid, old or [], new, first)
        if pending.points:
            yield pending.finish()

    def sent(self, batch: Batch) -> None:
        """The store applied a batch."""
        for pid, lines in zip(batch.points, batch.lines, strict=True):
            self.written[pid] = lines
            self.unknown.discard(pid)

    def failed(self, batch: Batch) -> None:
        """A batch may or may not have been applied: its points go back to the backlog, their triples unknown."""
        for pid, first in zip(batch.points, batch.firsts, strict=True):
            self.unknown.add(pid)
            self.written.pop(pid, None)
            self._requeue(pid, first)

    def _requeue(self, pid: str, first: float) -> None:
        """A point waits again, since the earlier of its two first-change times."""
        known = self.dirty.get(pid)
        self.dirty[pid] = first if known is None else min(first, known)

    def forget(self) -> None:
        """The store's live graph was replaced or lost: nothing is known to be there."""
        self.written.clear()
        self.unknown.clear()

    def snapshot(
        self, points: Iterable[str], state: Callable[[str], PointState | None]
    ) -> tuple[str, dict[str, list[str]]]:
        """The whole live graph as N-Triples (for a full push) and each point's lines."""
        lines: dict[str, list[str]] = {}
        for pid in points:
            shape, current = self._shape(pid), state(pid)
            if shape is None or current is None:
                continue
            lines[pid] = state_lines(shape[0], current, shape[2], shape[1])
        return "".join(line for ls in lines.values() for line in ls), lines

    def take_points(self, points: Iterable[str]) -> dict[str, float]:
        """Take points out of the backlog as a full push reads their states: a change while the push is under way
        marks them again (and is sent after it). Returns what was taken, for :meth:`restore`."""
        return {pid: self.dirty.pop(pid) for pid in points if pid in self.dirty}

    def restore(self, taken: dict[str, float]) -> None:
        """A full push failed: its points wait again, since the time they first changed."""
        for pid, first in taken.items():
            self._requeue(pid, first)

    def replaced(self, lines: dict[str, list[str]]) -> None:
        """A full push of ``lines`` succeeded: that is what the store now holds."""
        self.written = dict(lines)
        self.unknown.clear()

    @property
    def triples(self) -> int:
        """How many triples the store's live graph holds when it is up to date with what was sent."""
        return sum(len(lines) for lines in self.written.values())


class _Builder:
    def __init__(self, graph: str) -> None:
        self.graph = graph
        self.points: list[str] = []
        self.firsts: list[float] = []
        self.lines: list[list[str]] = []
        self.deletes: list[str] = []
        self.inserts: list[str] = []
        self.resets: list[str] = []
        self.triples = 0

    def _add(self, pid: str, new: list[str], first: float) -> None:
        self.points.append(pid)
        self.firsts.append(first)
        self.lines.append(new)

    def diff(self, pid: str, old: list[str], new: list[str], first: float) -> None:
        self._add(pid, new, first)
        old_set, new_set = set(old), set(new)
        gone = [line for line in old if line not in new_set]
        added = [line for line in new if line not in old_set]
        self.deletes.extend(gone)
        self.inserts.extend(added)
        self.triples += len(gone) + len(added)

    def reset(self, pid: str, subjects: list[str], new: list[str], first: float) -> None:
        self._add(pid, new, first)
        self.resets.extend(subjects)
        self.inserts.extend(new)
        self.triples += 2 * len(new)

    def finish(self) -> Batch:
        g = f"<{self.graph}>"
        parts = []
        if self.resets:
            values = " ".join(f"<{s}>" for s in self.resets)
            parts.append(
                f"DELETE {{ GRAPH {g} {{ ?s ?p ?o }} }} WHERE {{ VALUES ?s {{ {values} }} GRAPH {g} {{ ?s ?p ?o }} }}"
            )
        if self.deletes:
            parts.append(f"DELETE DATA {{ GRAPH {g} {{\n{''.join(self.deletes)}}} }}")
        if self.inserts:
            parts.append(f"INSERT DATA {{ GRAPH {g} {{\n{''.join(self.inserts)}}} }}")
        return Batch(self.points, self.firsts, self.lines, " ;\n".join(parts), self.triples, self.resets)
