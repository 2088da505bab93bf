"""Change events of the twin, delivered to northbound subscribers through bounded queues.

A subscriber that falls behind never makes memory grow: with ``conflate`` (the default) only the newest state
of each point waits, so the queue is bounded by the number of points it watches (and by ``maxsize``); with
``drop_oldest`` a bounded FIFO keeps every change until it is full and then drops the oldest. Drops are
counted so the API and metrics can show a slow consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Literal

from adapters.contract.polling import DropOldestQueue
from adapters.contract.sample import PointState

Overflow = Literal["conflate", "drop_oldest"]


class Subscription:
    """One subscriber's view of the twin's change events."""

    def __init__(
        self,
        points: Iterable[str] | None,
        *,
        maxsize: int = 10_000,
        overflow: Overflow = "conflate",
        on_close: Callable[[Subscription], None] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.points: frozenset[str] | None = None if points is None else frozenset(points)
        self.maxsize = maxsize
        self.overflow: Overflow = overflow
        self.dropped = 0
        self.delivered = 0
        self.closed = False
        self._latest: dict[str, PointState] = {}
        self._fifo: DropOldestQueue[PointState] = DropOldestQueue(maxsize)
        self._event = asyncio.Event()
        self._on_close = on_close

    def wants(self, point: str) -> bool:
        """Whether this subscription watches a point."""
        return self.points is None or point in self.points

    def push(self, state: PointState) -> None:
        """Queue a change (called by the twin, on the event loop)."""
        if self.closed:
            return
        if self.overflow == "conflate":
            latest = self._latest
            if state.point in latest:
                # Replace in place: the newest state wins, the point keeps its place in the queue.
                latest[state.point] = state
            else:
                if len(latest) >= self.maxsize:
                    latest.pop(next(iter(latest)))
                    self.dropped += 1
                latest[state.point] = state
        else:
            self.dropped += self._fifo.offer(state)
        self._event.set()

    @property
    def pending(self) -> int:
        """How many changes wait to be read."""
        return len(self._latest) + self._fifo.qsize()

    def _take(self) -> list[PointState]:
        if self.overflow == "conflate":
            batch = list(self._latest.values())
            self._latest = {}
        else:
            batch = self._fifo.drain()
        self._event.clear()
        self.delivered += len(batch)
        return batch

    async def get(self, timeout: float | None = None) -> list[PointState]:
        """The next batch of changes, waiting for one; ``[]`` on timeout or when closed."""
        if not self.pending and not self.closed:
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return []
        return self._take()

    def get_nowait(self) -> list[PointState]:
        """Whatever is queued now, possibly nothing."""
        return self._take()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> list[PointState]:
        while True:
            if self.closed and not self.pending:
                raise StopAsyncIteration
            batch = await self.get()
            if batch:
                return batch

    def close(self) -> None:
        """Stop receiving changes and wake a waiting reader; idempotent."""
        if self.closed:
            return
        self.closed = True
        self._event.set()
        if self._on_close is not None:
            self._on_close(self)


class EventHub:
    """Fans the twin's changes out to subscriptions."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self.published = 0

    def subscribe(
        self, points: Iterable[str] | None = None, *, maxsize: int = 10_000, overflow: Overflow = "conflate"
    ) -> Subscription:
        """A new subscription, optionally limited to some points."""
        sub = Subscription(points, maxsize=maxsize, overflow=overflow, on_close=self._remove)
        self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(self, state: PointState) -> None:
        """Deliver one change to every interested subscription."""
        self.published += 1
        pid = state.point
        for sub in self._subs:
            if sub.points is None or pid in sub.points:
                sub.push(state)

    @property
    def subscriptions(self) -> list[Subscription]:
        """Open subscriptions."""
        return list(self._subs)

    @property
    def dropped(self) -> int:
        """Changes dropped across open subscriptions."""
        return sum(s.dropped for s in self._subs)

    def close_all(self) -> None:
        """Close every subscription (shutdown)."""
        for sub in list(self._subs):
            sub.close()
