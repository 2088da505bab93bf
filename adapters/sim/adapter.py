"""The ``sim`` adapter: every point follows a signal (sine, ramp, random walk, step, square, counter).

It behaves like a device for the rest of the gateway: it connects (optionally slowly), can be told to drop its
connection (tests use ``simulate_outage``), and echoes written values back on its next sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Sequence

from adapters.contract.adapter import Adapter, AdapterContext, AdapterDisconnected, AdapterUnavailable, WriteResult
from adapters.contract.model import Point
from adapters.contract.polling import next_due
from adapters.contract.sample import Quality, Sample, Value, utcnow
from adapters.contract.status import NO_COMMUNICATION
from adapters.sim.config import SimAddress, SimSourceConfig
from adapters.sim.signals import Signal


class SimAdapter(Adapter):
    """Simulated device."""

    kind = "sim"
    config_model = SimSourceConfig
    address_model = SimAddress
    supports_write = True
    push_based = False

    config: SimSourceConfig

    def __init__(self, config: SimSourceConfig, points: Sequence[Point], context: AdapterContext) -> None:
        super().__init__(config, points, context)
        self._rng = random.Random(config.seed)
        self._signals: dict[str, Signal] = {}
        self._next_due: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._echo: list[str] = []
        self._running = False
        self._outage_until = 0.0
        self._outage_reason = ""
        self._t0 = time.monotonic()
        self.counters = {"samples": 0, "writes": 0, "ticks": 0}
        self._setup(points)

    def _setup(self, points: Sequence[Point]) -> None:
        for p in points:
            addr = p.address
            assert isinstance(addr, SimAddress)
            self._signals[p.id] = Signal(addr, self._rng)
            self._next_due[p.id] = 0.0

    def add_points(self, points: Sequence[Point]) -> None:
        """Start simulating points added at run time."""
        super().add_points(points)
        self._setup(points)

    async def start(self) -> None:
        """Pretend to connect; refuse while a simulated outage lasts."""
        if self.config.connect_delay:
            await asyncio.sleep(self.config.connect_delay)
        if time.monotonic() < self._outage_until:
            raise AdapterUnavailable(f"connection refused (sim://{self.name}: {self._outage_reason})")
        self._running = True

    async def stop(self) -> None:
        """Stop producing samples."""
        self._running = False
        self._wake.set()

    def simulate_outage(self, seconds: float, reason: str = "simulated outage") -> None:
        """Drop the connection now and refuse reconnects for ``seconds`` (for fault tests and demos)."""
        self._outage_until = time.monotonic() + seconds
        self._outage_reason = reason
        self._wake.set()

    async def samples(self) -> AsyncIterator[Sample]:
        """Yield every due point's value each tick, and written values as soon as they are written."""
        interval = self.config.interval
        name = self.name
        while self._running:
            now = time.monotonic()
            if now < self._outage_until:
                raise AdapterDisconnected(f"connection lost (sim://{name}: {self._outage_reason})")
            t = now - self._t0
            ts = utcnow()
            self.counters["ticks"] += 1
            echo, self._echo = self._echo, []
            for pid in echo:
                sig = self._signals.get(pid)
                if sig is not None:
                    self.counters["samples"] += 1
                    yield Sample(pid, sig.held, ts, Quality.GOOD, "Good", None, name)
            for pid, sig in self._signals.items():
                if self._next_due[pid] > now:
                    continue
                self._next_due[pid] = next_due(self._next_due[pid], sig.addr.interval or interval, now)
                self.counters["samples"] += 1
                yield Sample(pid, sig.value(t), ts, Quality.GOOD, "Good", None, name)
            nxt = min(self._next_due.values(), default=now + interval) - time.monotonic()
            self._wake.clear()
            if nxt > 0 and not self._echo:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), nxt)

    async def write(self, point: Point, value: Value) -> WriteResult:
        """Hold the value and echo it back on the next sample."""
        if time.monotonic() < self._outage_until or not self._running:
            return WriteResult(NO_COMMUNICATION, f"sim://{self.name} is not connected")
        sig = self._signals.get(point.id)
        if sig is None:
            return WriteResult("BadNodeIdUnknown", f"sim://{self.name} has no point {point.id}")
        if not sig.addr.writable():
            return WriteResult("BadNotWritable", f"{point.id} is read-only in the simulator")
        sig.write(value)
        self.counters["writes"] += 1
        self._echo.append(point.id)
        self._wake.set()
        return WriteResult("Good")
