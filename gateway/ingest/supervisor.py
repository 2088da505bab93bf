"""One supervisor per source: connect, pump samples into the twin, and reconnect with capped backoff.

Adapters never reconnect by themselves (benthos-style: the framework owns reconnection). While a source is
down its points are marked Bad (or keep their last value as Uncertain when ``on_disconnect: uncertain``) with
the reason, and the fault is logged once when it starts and once when it recovers, not once per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.contract.adapter import (
    Adapter,
    AdapterContext,
    AdapterDisconnected,
    AdapterError,
    AdapterUnavailable,
    ConnectionState,
)
from adapters.contract.config import SourceConfig
from adapters.contract.sample import Quality, Sample, utcnow
from adapters.registry import get_adapter
from gateway.ingest.pipeline import Pipeline
from gateway.model import TwinModel
from gateway.twin.twin import Twin


def backoff_delays(initial: float, cap: float, jitter: float, rng: random.Random | None = None) -> Any:
    """Capped doubling delays with +-jitter: initial, 2*initial, ... cap, cap, ..."""
    rng = rng or random.Random()
    delay = initial
    while True:
        spread = delay * jitter
        yield max(0.0, delay + rng.uniform(-spread, spread))
        delay = min(cap, delay * 2)


class SourceSupervisor:
    """Keeps one source connected and its samples flowing."""

    def __init__(
        self,
        source: SourceConfig,
        model: TwinModel,
        twin: Twin,
        pipeline: Pipeline,
        context_factory: Callable[[SourceConfig], AdapterContext],
    ) -> None:
        self.source = source
        self.model = model
        self.twin = twin
        self.pipeline = pipeline
        self._context_factory = context_factory
        self.log = logging.getLogger(f"twinbridge.source.{source.id}")
        self.adapter: Adapter | None = None
        self.state = ConnectionState.STOPPED if source.enabled else ConnectionState.DISABLED
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.connected_since: datetime | None = None
        self.reconnects = 0
        self.connects = 0
        self.samples_in = 0
        self.bad_samples = 0
        self.suppressed = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._down_logged = False
        self.connected = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------------------
    def build_adapter(self) -> Adapter:
        """Instantiate the adapter (no I/O)."""
        cls = get_adapter(self.source.kind)
        points = self.model.points_of_source(self.source.id)
        self.adapter = cls(self.source, points, self._context_factory(self.source))
        return self.adapter

    def start(self) -> None:
        """Start supervising in the background."""
        if not self.source.enabled:
            self._mark_points("BadOutOfService", "the source is disabled in the mapping")
            return
        if self.adapter is None:
            self.build_adapter()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"source:{self.source.id}")

    async def stop(self) -> None:
        """Stop the adapter and the supervision loop."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.adapter is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.adapter.stop(), 5)
        if self.state is not ConnectionState.DISABLED:
            self.state = ConnectionState.STOPPED
        self.connected.clear()

    # -- loop -----------------------------------------------------------------------------------------
    async def _run(self) -> None:
        adapter = self.adapter
        assert adapter is not None
        rc = self.source.reconnect
        delays = backoff_delays(rc.initial, rc.max, rc.jitter)
        first = True
        while not self._stopping:
            self.state = ConnectionState.CONNECTING
            if not first:
                self.reconnects += 1
            first = False
            try:
                await adapter.start()
            except AdapterUnavailable as exc:
                self._down(exc, "cannot connect")
                if not exc.retryable:
                    self.log.error(
                        "%s: retrying cannot help until the mapping or device is fixed; retrying every %.0f s",
                        self.source.id,
                        rc.max,
                    )
                    await self._sleep(rc.max)
                    continue
                await self._sleep(next(delays))
                continue
            except Exception as exc:
                self.log.exception("source %s: unexpected error while connecting", self.source.id)
                self._down(AdapterError(f"{type(exc).__name__}: {exc}", status="BadInternalError"), "cannot connect")
                await self._stop_adapter()
                await self._sleep(next(delays))
                continue
            self._up()
            delays = backoff_delays(rc.initial, rc.max, rc.jitter)
            try:
                await self._pump(adapter)
                if not self._stopping:
                    raise AdapterDisconnected("the adapter stopped producing samples")
            except AdapterError as exc:
                self._down(exc, "connection lost")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.exception("source %s: unexpected error while reading", self.source.id)
                self._down(AdapterError(f"{type(exc).__name__}: {exc}", status="BadInternalError"), "failed")
            await self._stop_adapter()
            if not self._stopping:
                await self._sleep(next(delays))

    async def _pump(self, adapter: Adapter) -> None:
        process = self.pipeline.process
        apply = self.twin.apply
        async for sample in adapter.samples():
            self.samples_in += 1
            if sample.quality is not Quality.GOOD:
                self.bad_samples += sample.quality is Quality.BAD
            out = process(sample)
            if out is None:
                self.suppressed += 1
                continue
            apply(out)

    async def _stop_adapter(self) -> None:
        assert self.adapter is not None
        try:
            await asyncio.wait_for(self.adapter.stop(), 5)
        except Exception as exc:
            self.log.debug("stopping %s failed: %s", self.source.id, exc)

    async def _sleep(self, seconds: float) -> None:
        if not self._stopping:
            await asyncio.sleep(seconds)

    # -- state changes --------------------------------------------------------------------------------
    def _up(self) -> None:
        self.state = ConnectionState.CONNECTED
        self.connects += 1
        self.connected_since = utcnow()
        self.connected.set()
        for pp in (self.pipeline.points.get(pid) for pid in self._point_ids()):
            if pp is not None:
                pp.reset()
        if self._down_logged:
            self.log.info("source %s recovered (connected to %s)", self.source.id, self.source.endpoint())
            self._down_logged = False
        else:
            self.log.info("source %s connected (%s)", self.source.id, self.source.endpoint())

    def _down(self, exc: AdapterError, what: str) -> None:
        self.state = ConnectionState.DISCONNECTED
        self.connected.clear()
        self.connected_since = None
        reason = exc.reason
        if reason != self.last_error or not self._down_logged:
            self.log.warning(
                "source %s %s: %s (%s); points marked %s, reconnecting with backoff",
                self.source.id,
                what,
                reason,
                exc.status,
                self.source.on_disconnect,
            )
        self._down_logged = True
        self.last_error = reason
        self.last_error_at = utcnow()
        if self.source.on_disconnect == "uncertain":
            self._mark_points("UncertainLastUsableValue", f"{exc.status}: {reason}")
        else:
            self._mark_points(exc.status, reason)

    def _point_ids(self) -> list[str]:
        if self.adapter is not None:
            return list(self.adapter.points)
        return [p.id for p in self.model.points_of_source(self.source.id)]

    def _mark_points(self, status: str, reason: str) -> None:
        now = utcnow()
        q = Quality.of_status(status)
        apply = self.twin.apply
        for pid in self._point_ids():
            cur = self.twin.live.states.get(pid)
            if cur is not None and cur.status == status and cur.reason == reason:
                continue
            apply(Sample(pid, None, now, q, status, reason, self.source.id))

    def info(self) -> dict[str, Any]:
        """Credential-free state for the API and metrics."""
        return {
            "id": self.source.id,
            "kind": self.source.kind,
            "label": self.source.label or self.source.id,
            "endpoint": self.source.endpoint(),
            "state": self.state.value,
            "connected_since": self.connected_since.isoformat() if self.connected_since else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "points": len(self._point_ids()),
            "samples_in": self.samples_in,
            "bad_samples": self.bad_samples,
            "suppressed": self.suppressed,
            "reconnects": self.reconnects,
            "counters": dict(self.adapter.counters) if self.adapter else {},
            "details": self.adapter.describe() if self.adapter else {},
        }
