"""Helpers every polling or pushing adapter needs: the next poll slot, a drop-oldest queue, log-once.

Kept here so the sim, Modbus, OPC UA and MQTT adapters schedule, buffer and log the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Hashable
from typing import TypeVar

T = TypeVar("T")


def next_due(due: float, interval: float, now: float) -> float:
    """The poll slot after ``due``; when the poll fell behind, ``now + interval``: missed cycles are skipped,
    never run back to back (a slow device would otherwise get a burst of requests)."""
    nxt = due + interval
    return nxt if nxt > now else now + interval


class DropOldestQueue(asyncio.Queue[T]):
    """A bounded queue that, when full, drops its oldest item (counted in ``dropped``), never the newest:
    the newest value of a point matters more than an old one."""

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__(maxsize)
        self.dropped = 0

    def offer(self, item: T) -> bool:
        """Queue ``item``; True when the oldest item was dropped to make room."""
        dropped = False
        if self.maxsize > 0 and self.qsize() >= self.maxsize:
            with contextlib.suppress(asyncio.QueueEmpty):
                self.get_nowait()
                self.dropped += 1
                dropped = True
        super().put_nowait(item)
        return dropped

    def put_nowait(self, item: T) -> None:
        """Queue ``item``, dropping the oldest when full (never raises ``QueueFull``)."""
        self.offer(item)

    def drain(self) -> list[T]:
        """Everything queued, oldest first; the queue is empty afterwards."""
        items: list[T] = []
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                items.append(self.get_nowait())
        return items


class LogOnce:
    """Logs a message the first time its key is seen (a misconfiguration met on every message or poll)."""

    def __init__(self, log: logging.Logger, level: int = logging.WARNING) -> None:
        self.log = log
        self.level = level
        self._seen: set[Hashable] = set()

    def __call__(self, key: Hashable, msg: str, *args: object) -> bool:
        """Log ``msg % args`` unless ``key`` was logged before; True when it logged."""
        if key in self._seen:
            return False
        self._seen.add(key)
        self.log.log(self.level, msg, *args)
        return True

    def forget(self) -> None:
        """Log every key again (after a reconnect, say)."""
        self._seen.clear()
