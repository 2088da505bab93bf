"""The contract's shared helpers: the poll slot, the drop-oldest queue and log-once."""

from __future__ import annotations

import logging

import pytest

from adapters.contract.polling import DropOldestQueue, LogOnce, next_due


def test_next_due_keeps_the_rhythm_and_skips_missed_cycles() -> None:
    assert next_due(10.0, 1.0, 10.2) == 11.0  # on time: the next slot, no drift
    assert next_due(10.0, 1.0, 13.5) == 14.5  # three slots missed: skipped, not run back to back
    assert next_due(0.0, 0.5, 100.0) == 100.5  # never polled


async def test_drop_oldest_queue_keeps_the_newest() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(3)
    assert [q.offer(i) for i in range(5)] == [False, False, False, True, True]
    q.put_nowait(5)  # never QueueFull
    assert q.dropped == 3 and q.drain() == [3, 4, 5] and q.empty()
    assert await _get_after_put(q) == 7


async def _get_after_put(q: DropOldestQueue[int]) -> int:
    q.put_nowait(7)
    return await q.get()


def test_log_once_logs_each_key_once(caplog: pytest.LogCaptureFixture) -> None:
    once = LogOnce(logging.getLogger("test.once"))
    with caplog.at_level(logging.WARNING, "test.once"):
        assert once("a", "problem %s", 1) and not once("a", "problem %s", 2) and once("b", "other")
        once.forget()
        assert once("a", "problem %s", 3)
    assert [r.getMessage() for r in caplog.records] == ["problem 1", "other", "problem 3"]
