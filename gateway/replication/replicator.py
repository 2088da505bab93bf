"""One store's replicator: claim the name, reconcile, then stream live changes, catching up after any outage.

The gateway stays autonomous: nothing here blocks ingest or the other services. While the store is away, changes
collect in :class:`RemoteLive`'s per-point backlog; on return the replicator checks cheaply what the store still
holds (``sync.check``) and sends only what is missing: the backlog, or the whole model and live graph when the
store lost them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from adapters.contract.model import Asset, Point
from adapters.contract.sample import PointState
from gateway.remote_store.client import SparqlStore, StoreError
from gateway.remote_store.graphs import GatewayGraphs
from gateway.remote_store.settings import ReplicaSettings
from gateway.replication.lease import Lease, NameTaken
from gateway.replication.live import Batch, RemoteLive, Shape
from gateway.replication.sync import GraphText, check, local_graph, model_current, push_model, push_ontology

if TYPE_CHECKING:
    from gateway.twin.events import Subscription
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.replication")
LAG_SAMPLES = 20_000  # recent per-point lags kept for percentiles


def store_label(url: str) -> str:
    """A store's URL without any credentials in it, for logs and metrics."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Replicator:
    """Mirrors one gateway's twin into one store."""

    def __init__(self, settings: ReplicaSettings, view: TwinView) -> None:
        twin = view.model.settings
        self.settings = settings
        self.view = view
        self.label = store_label(settings.url)
        self.graphs = GatewayGraphs(settings.graph or twin.base_iri, twin.name)
        self.store = SparqlStore(settings, max_connections=settings.parallel + 1)
        self.lease = Lease(self.store, self.graphs, twin.base_iri, settings.lease)
        self.live = RemoteLive(self.graphs.live, self._shape)
        self.state = "starting"
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.synced_at: datetime | None = None
        self.counters = {"changes_sent": 0, "updates": 0, "errors": 0, "model_pushes": 0, "live_pushes": 0}
        self.lags: deque[float] = deque(maxlen=LAG_SAMPLES)
        self.first_attempt = asyncio.Event()
        self._model_changed = False
        self._local: tuple[GraphText, GraphText] | None = None
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- the twin's side ---------------------------------------------------------------------------------
    def _shape(self, pid: str) -> Shape | None:
        point = self.view.model.points.get(pid)
        if point is None:
            return None
        ids = self.view.ids
        value_node = ids.value(pid) if self.view.model.settings.standard_values else None
        return ids.point(pid), value_node, point.datatype.xsd

    def _state(self, pid: str) -> PointState | None:
        return self.view.states().get(pid)

    def on_model(self, assets: list[Asset], points: list[Point]) -> None:
        """Assets or points were added at run time: push the model again, and the new points' states."""
        self._model_changed = True
        self.live.mark_all(p.id for p in points)

    async def _drain(self, sub: Subscription) -> None:
        async for batch in sub:
            now = time.monotonic()
            for state in batch:
                self.live.mark(state.point, now)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start following the twin and replicating (in the background)."""
        # conflated per point, so its queue can never outgrow the twin; never drops
        self._sub = self.view.subscribe(maxsize=2**31 - 1, overflow="conflate")
        self.live.mark_all(self.view.model.points)
        self._tasks = [
            asyncio.create_task(self._drain(self._sub), name=f"replication-follow {self.label}"),
            asyncio.create_task(self._run(), name=f"replication {self.label}"),
        ]

    async def stop(self, final_flush: float = 5.0) -> None:
        """Send what is pending (within ``final_flush`` seconds), release the lease, close. Idempotent."""
        if self._sub is not None:
            self._sub.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.state == "live":
            with contextlib.suppress(StoreError, TimeoutError):
                await asyncio.wait_for(self._final(), final_flush)
        self.state = "stopped"
        await self.store.aclose()

    async def _final(self) -> None:
        if self._sub is not None:
            for state in self._sub.get_nowait():
                self.live.mark(state.point)
        await self._flush()
        await self.lease.release()

    # -- the loop ----------------------------------------------------------------------------------------
    async def _run(self) -> None:
        delays: Iterator[float] | None = None
        while True:
            try:
                await self._connect()
                delays = None
                self.first_attempt.set()
                await self._stream()
            except asyncio.CancelledError:
                raise
            except NameTaken as exc:
                self._failed("refused", str(exc))
                self.first_attempt.set()
                await asyncio.sleep(self.settings.lease)  # a crashed holder's lease runs out; then take over
                continue
            except StoreError as exc:
                self._failed("unauthorized" if exc.unauthorized else "unreachable", str(exc))
            except Exception as exc:  # a bug must not stop replication for good: log it, retry
                log.exception("replication to %s failed", self.label)
                self._failed("error", f"{type(exc).__name__}: {exc}")
            self.first_attempt.set()
            delays = delays or self.settings.retry.delays()
            await asyncio.sleep(next(delays))

    def _failed(self, state: str, message: str) -> None:
        self.counters["errors"] += 1
        if message != self.last_error or state != self.state:
            log.error("replication to %s: %s; retrying", self.label, message)  # once per new error, not per retry
        self.state, self.last_error, self.last_error_at = state, message, datetime.now(UTC)

    async def _connect(self) -> None:
        """Claim the name and bring the store up to date with the twin."""
        if self.state not in ("starting", "live", "syncing"):
            log.info("replication to %s: store reachable again, catching up", self.label)
        self.state = "syncing"
        await self.lease.claim()
        await self._reconcile(force_live=self.synced_at is None)
        self.state, self.last_error = "live", None
        self.synced_at = datetime.now(UTC)

    async def _local_graphs(self) -> tuple[GraphText, GraphText]:
        """The twin's model and ontology graphs, read again only after a model change (a periodic check of a
        large twin would otherwise serialize and hash its whole model every time)."""
        if self._model_changed or self._local is None:
            self._model_changed = False
            view, skolem = self.view, f"{self.graphs.base}.well-known/genid/"
            model = await local_graph(view, view.ids.graph_model, skolem)
            self._local = model, await local_graph(view, view.ids.graph_ontology, skolem)
        return self._local

    async def _reconcile(self, *, force_live: bool) -> None:
        model, ontology = await self._local_graphs()
        found = await check(self.store, self.graphs)
        if not model_current(found, model):
            await self._push_model(model)
        await push_ontology(self.store, self.graphs, ontology, found.ontology_hashes)
        if force_live or found.live_triples != self.live.triples:
            await self._push_live()

    async def _push_model(self, model: GraphText) -> None:
        t0 = time.perf_counter()
        await push_model(self.store, self.graphs, model)
        self.counters["model_pushes"] += 1
        log.info(
            "replication to %s: model pushed (%d triples in %.2f s)",
            self.label,
            len(model.lines),
            time.perf_counter() - t0,
        )

    async def _push_live(self) -> None:
        self.live.forget()
        text, lines = self.live.snapshot(list(self.view.model.points), self._state)
        taken = self.live.take_points(lines)  # now, not after the push: changes during it must be sent too
        try:
            await self.store.put_graph(self.graphs.live, text)
        except BaseException:
            self.live.restore(taken)
            raise
        self.live.replaced(lines)
        self.counters["live_pushes"] += 1

    async def _stream(self) -> None:
        settings = self.settings
        now = time.monotonic()
        next_renew, next_check = now + settings.lease / 3, now + settings.check_interval
        while True:
            await asyncio.sleep(settings.flush_interval)
            if self._model_changed:
                await self._reconcile(force_live=False)
            await self._flush()
            now = time.monotonic()
            if now >= next_renew:
                await self.lease.claim()
                next_renew = now + settings.lease / 3
            if now >= next_check:
                await self._reconcile(force_live=False)
                next_check = now + settings.check_interval

    async def _flush(self) -> None:
        batches = list(self.live.take(self._state, self.settings.batch))
        if not batches:
            return
        limit = asyncio.Semaphore(self.settings.parallel)

        async def send(batch: Batch) -> None:
            async with limit:
                await self.store.update(batch.update)
            self.live.sent(batch)
            done = time.monotonic()
            self.lags.extend(done - first for first in batch.firsts)
            self.counters["changes_sent"] += len(batch.points)
            self.counters["updates"] += 1

        results = await asyncio.gather(*(send(b) for b in batches), return_exceptions=True)
        error: BaseException | None = None
        for batch, result in zip(batches, results, strict=True):
            if isinstance(result, BaseException):
                self.live.failed(batch)
                error = error or result
        if error is not None:
            raise error

    # -- reporting ---------------------------------------------------------------------------------------
    def lag_percentile(self, q: float) -> float | None:
        """A percentile of recent per-point lags (change -> store acknowledged), seconds."""
        if not self.lags:
            return None
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def oldest_change_age(self) -> float | None:
        """Seconds the oldest change not yet sent has waited, or None."""
        oldest = self.live.oldest()
        return None if oldest is None else time.monotonic() - oldest

    def behind(self) -> bool:
        """Whether changes wait longer than a few flushes (a store too slow for the change rate)."""
        age = self.oldest_change_age()
        return age is not None and age > 10 * self.settings.flush_interval

    def describe(self) -> dict[str, object]:
        """Plain data for /health."""
        age = self.oldest_change_age()
        return {
            "store": self.label,
            "graphs": self.graphs.gateway,
            "state": self.state,
            "backlog": self.live.backlog,
            "oldest_change_s": round(age, 3) if age is not None else None,
            "lag_p95_s": self.lag_percentile(0.95),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "synced_at": self.synced_at.isoformat() if self.synced_at else None,
            "lease_until": self.lease.until.isoformat() if self.lease.until else None,
            **self.counters,
        }
