"""Change events: bounded, conflating or FIFO queues, filters, drop counting."""

from __future__ import annotations

import asyncio

from adapters.contract.sample import PointState, Quality, utcnow
from gateway.twin.events import EventHub


def _state(pid: str, v: float) -> PointState:
    now = utcnow()
    return PointState(pid, v, now, now, Quality.GOOD, "Good", None)


async def test_conflate_keeps_newest_per_point() -> None:
    hub = EventHub()
    sub = hub.subscribe()
    for i in range(100):
        hub.publish(_state("a.x", i))
    hub.publish(_state("a.y", 1))
    batch = await sub.get(timeout=1)
    assert [(s.point, s.value) for s in batch] == [("a.x", 99), ("a.y", 1)]
    assert sub.dropped == 0


async def test_filter_by_points() -> None:
    hub = EventHub()
    sub = hub.subscribe(["a.y"])
    hub.publish(_state("a.x", 1))
    hub.publish(_state("a.y", 2))
    batch = await sub.get(timeout=1)
    assert [s.point for s in batch] == ["a.y"]


async def test_conflate_bounded_by_maxsize_counts_drops() -> None:
    hub = EventHub()
    sub = hub.subscribe(maxsize=10)
    for i in range(25):
        hub.publish(_state(f"a.p{i}", i))
    batch = sub.get_nowait()
    assert len(batch) == 10
    assert sub.dropped == 15
    assert batch[-1].point == "a.p24"


async def test_drop_oldest_fifo() -> None:
    hub = EventHub()
    sub = hub.subscribe(maxsize=3, overflow="drop_oldest")
    for i in range(5):
        hub.publish(_state("a.x", i))
    assert [s.value for s in sub.get_nowait()] == [2, 3, 4]
    assert sub.dropped == 2
    assert hub.dropped == 2


async def test_get_times_out_empty_and_wakes_on_publish() -> None:
    hub = EventHub()
    sub = hub.subscribe()
    assert await sub.get(timeout=0.01) == []
    waiter = asyncio.create_task(sub.get(timeout=2))
    await asyncio.sleep(0)
    hub.publish(_state("a.x", 5))
    assert [s.value for s in await waiter] == [5]


async def test_close_ends_iteration_and_unsubscribes() -> None:
    hub = EventHub()
    sub = hub.subscribe()
    hub.publish(_state("a.x", 1))
    sub.close()
    batches = [b async for b in sub]
    assert [s.value for b in batches for s in b] == [1]
    assert hub.subscriptions == []
    hub.publish(_state("a.x", 2))
    assert sub.get_nowait() == []
