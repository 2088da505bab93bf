"""One supervisor per source: connect, pump samples into the twin, and reconnect with capped backoff.

Adapters never reconnect by themselves (benthos-style: the framework owns reconnection). While a source is
down its points are marked Bad (or keep their last value as Uncertain when ``on_disconnect: uncertain``) with
the reason, and the fault is logged once when it starts and once when it recovers, not once per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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

STOP_TIMEOUT = 5.0  # seconds stop() waits for a source's task to end after cancelling it


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
        self.stop_timeout = STOP_TIMEOUT
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
        """Stop the adapter and the supervision loop; returns within about ``stop_timeout`` + 5 s, always."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            await self._end_task(task)
        if self.adapter is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.adapter.stop(), 5)
        if self.state is not ConnectionState.DISABLED:
            self.state = ConnectionState.STOPPED
        self.connected.clear()

    async def _end_task(self, task: asyncio.Task[None]) -> None:
        """Cancel until the task ends; give up after ``stop_timeout`` so ``Gateway.stop()`` always returns.

        One cancel is not enough: Python 3.11's ``asyncio.wait_for`` (inside aiomqtt, among others) returns the
        result instead of raising when the awaited future completes as the cancel arrives, and the task goes on.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stop_timeout
        while not task.done():
            left = deadline - loop.time()
            if left <= 0:
                self.log.error(
                    "source %s: its task did not end within %.1f s of being cancelled; abandoned (it emits no "
                    "more samples)",
                    self.source.id,
                    self.stop_timeout,
                )
                task.add_done_callback(lambda t: t.cancelled() or t.exception())  # no "never retrieved" later
                return
            task.cancel()
            await asyncio.wait([task], timeout=min(0.2, left))  # waits without cancelling the task itself
        if not task.cancelled() and task.exception() is not None:
            self.log.debug("source %s ended with %r", self.source.id, task.exception())

    # -- loop -----------------------------------------------------------------------------------------
    async def _run(self) -> None:
        adapter = self.adapter
        assert adapter is not None
        rc = self.source.reconnect
        delays = rc.delays()
        first = True
        while not self._stopped():
            self.state = ConnectionState.CONNECTING
            if not first:
                self.reconnects += 1
            first = False
            try:
                await adapter.start()
                self._check_stopping()  # start() may have swallowed our cancel (see _end_task)
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
            delays = rc.delays()
            try:
                await self._pump(adapter)
                if not self._stopped():
                    raise AdapterDisconnected("the adapter stopped producing samples")
            except AdapterError as exc:
                self._down(exc, "connection lost")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.exception("source %s: unexpected error while reading", self.source.id)
                self._down(AdapterError(f"{type(exc).__name__}: {exc}", status="BadInternalError"), "failed")
            await self._stop_adapter()
            if not self._stopped():
                await self._sleep(next(delays))

    async def _pump(self, adapter: Adapter) -> None:
        process = self.pipeline.process
        apply = self.twin.apply
        me = asyncio.current_task()  # _stopped()'s test, with the task looked up once rather than per sample
        async for sample in adapter.samples():
            if self._stopping or self._task is not me:  # nothing reaches the twin once stop() began, even
                raise asyncio.CancelledError  # from an abandoned task
            self.samples_in += 1
            if sample.quality is not Quality.GOOD:
                self.bad_samples += sample.quality is Quality.BAD
            out = process(sample)
            if out is None:
                self.suppressed += 1
                continue
            apply(out)

    def _stopped(self) -> bool:
        """Whether this run must end: stop() began, or a newer start() replaced the task it abandoned."""
        return self._stopping or self._task is not asyncio.current_task()

    def _check_stopping(self) -> None:
        if self._stopped():
            raise asyncio.CancelledError

    async def _stop_adapter(self) -> None:
        assert self.adapter is not None
        try:
            await asyncio.wait_for(self.adapter.stop(), 5)
        except Exception as exc:
            self.log.debug("stopping %s failed: %s", self.source.id, exc)

    async def _sleep(self, seconds: float) -> None:
        if not self._stopped():
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
