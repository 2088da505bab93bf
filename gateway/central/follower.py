"""Follow the shared store: new gateways and models, live values, leases, and the store's own outages.

Every ``poll_interval`` one query reads every gateway's meta graph. A gateway seen for the first time, or whose
``tb:modelHash`` changed, has its model read and what is new added to the twin (removals and changes need a
restart for now). Then each live gateway's live graph is read for the states its gateway applied after the last
one read (its own clock: no clock skew between hosts), less an overlap, because the parallel update requests of
one replication flush may land in any order; a state already applied is skipped, so the overlap costs a few rows,
never a duplicate change. A gateway whose lease has run out turns its points Bad; when it renews its lease, its
whole live graph is read again. The store unreachable: every point Bad with the store's error, one log line per
outage, retries with capped backoff, and a whole re-read on its return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from adapters.contract.config import ReconnectSettings
from adapters.contract.model import Asset, DataType, Location, Point
from adapters.contract.sample import Quality, Sample, utcnow
from adapters.contract.status import NO_COMMUNICATION
from gateway.central.reader import PAGE, GatewayInfo, LiveRow, read_gateways, read_live, read_triples
from gateway.central.rebuild import EdgeModel, rebuild
from gateway.remote_store.client import StoreError

if TYPE_CHECKING:
    from gateway.remote_store.client import SparqlStore
    from gateway.remote_store.settings import RemoteSettings
    from gateway.twin.twin import Twin

log = logging.getLogger("twinbridge.central")

OVERLAP = timedelta(seconds=5)  # states re-read before the watermark (a flush's requests land in any order)


@dataclass
class Mirrored:
    """What the central view knows of one gateway."""

    info: GatewayInfo
    model_hash: str | None = None  # the hash of the model read
    points: dict[str, str] = field(default_factory=dict)  # point IRI -> point id (those this view took)
    applied: dict[str, datetime] = field(default_factory=dict)  # point id -> edge time of the state applied
    watermark: datetime | None = None
    alive: bool = False
    lost_at: datetime | None = None  # when its lease ran out (as this view noticed)
    samples: int = 0


class Follower:
    """Keeps a twin equal to the union of the gateways' graphs in a shared store."""

    def __init__(self, settings: RemoteSettings, store: SparqlStore, twin: Twin, base: str) -> None:
        self.settings = settings
        self.store = store
        self.twin = twin
        self.base = base
        self.gateways: dict[str, Mirrored] = {}
        self.error: str | None = None  # the store's error while it is unreachable
        self.down_since: datetime | None = None
        self.last_poll: datetime | None = None
        self.polls = 0
        self.retry = ReconnectSettings()
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """A first read (so the services start on a filled twin when the store answers), then follow."""
        await self.poll()
        self._task = asyncio.create_task(self._run(), name="central-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delays: Iterator[float] | None = None
        while True:
            if self.error is None:
                delays = None
                wait = self.settings.poll_interval
            else:
                delays = delays or self.retry.delays()
                wait = next(delays)
            await asyncio.sleep(wait)
            await self.poll()

    # -- one round ---------------------------------------------------------------------------------------------
    async def poll(self) -> None:
        """One round; a store failure marks the points and is logged once per outage, never raised."""
        try:
            await self._poll()
        except StoreError as exc:
            self._store_down(exc)
        except Exception:  # a bug must not stop the following for good
            log.exception("central view: following the store failed; retrying")
            self._store_down(StoreError("poll", self.store.query_url, None, "internal error (see the log)"))
        else:
            if self.error is not None:
                log.info(
                    "central view: the store %s answers again after %.0f s",
                    self.store.query_url,
                    (utcnow() - (self.down_since or utcnow())).total_seconds(),
                )
                self.error = self.down_since = None
        self.polls += 1

    async def _poll(self) -> None:
        infos = await read_gateways(self.store, self.base)
        recovering = self.error is not None
        now = utcnow()
        for name, info in infos.items():
            gw = self.gateways.get(name)
            first = gw is None
            if gw is None:
                gw = self.gateways[name] = Mirrored(info)
                log.info("central view: gateway %s found in the store", name)
            gw.info = info
            was, alive = gw.alive, info.alive(now)
            gw.alive = alive
            # a model is whole once its hash is recorded (the gateway withdraws the hash while it pushes)
            if info.model_hash is not None and info.model_hash != gw.model_hash:
                await self._read_model(gw)
            if alive:
                if not was or recovering:  # back (or the store is): its whole live graph again
                    gw.watermark = None
                    gw.applied.clear()
                    if gw.lost_at is not None:
                        log.info("central view: gateway %s renewed its lease", name)
                    gw.lost_at = None
                await self._read_live(gw)
            elif was or recovering or first:
                if first:
                    await self._read_live(gw)  # its last values, shown Bad
                if was:
                    gw.lost_at = now
                    log.warning("central view: gateway %s stopped renewing its lease (it ran out at %s)",
                                name, _iso(info.lease_until))  # fmt: skip
                self._mark(gw, _lease_reason(gw))
        for name, gw in self.gateways.items():
            if name not in infos and gw.alive:  # its meta graph is gone (dropped by hand, or the store lost it)
                gw.alive, gw.lost_at = False, now
                log.warning("central view: gateway %s is no longer in the store", name)
                self._mark(gw, f"gateway {name} is no longer in the store")
        self.last_poll = utcnow()

    async def _read_model(self, gw: Mirrored) -> None:
        info = gw.info
        edge = rebuild(info.name, await read_triples(self.store, info.graphs.model))
        gw.model_hash = info.model_hash
        added = self._add(gw, edge)
        if added[1]:
            gw.watermark = None  # the new points' states may be older than the watermark
        if info.model_triples is not None and edge.triples < info.model_triples:
            log.warning(
                "central view: read %d of the %d triples of gateway %s's model: does the store cap results "
                "below %d rows (Virtuoso: ResultSetMaxRows)?",
                edge.triples, info.model_triples, info.name, PAGE,
            )  # fmt: skip
        if any(added):
            log.info(
                "central view: gateway %s: %d asset(s), %d point(s), %d location(s) added (%d triples read)",
                info.name, *added, edge.triples,
            )  # fmt: skip

    def _add(self, gw: Mirrored, edge: EdgeModel) -> tuple[int, int, int]:
        model = self.twin.model
        for sid, cfg in edge.sources.items():
            model.sources.setdefault(sid, cfg)
        locations: list[Location] = [loc for lid, loc in edge.locations.items() if lid not in model.locations]
        assets: list[Asset] = [a for aid, a in edge.assets.items() if aid not in model.assets]
        known = {a.id for a in assets} | set(model.assets)
        points: list[Point] = []
        for iri, pid in edge.point_iris.items():
            p = edge.points[pid]
            if pid in model.points:
                if iri not in gw.points and model.points[pid].source != p.source:
                    log.warning("central view: point %s of gateway %s is another gateway's already; left out",
                                pid, gw.info.name)  # fmt: skip
                continue
            if p.asset in known:
                points.append(p)
                gw.points[iri] = pid
        if assets or points or locations:
            self.twin.add(assets, points, locations)
            if not gw.alive:
                self._mark(gw, _lease_reason(gw), only=[p.id for p in points])
        return len(assets), len(points), len(locations)

    async def _read_live(self, gw: Mirrored) -> None:
        since = gw.watermark - OVERLAP if gw.watermark is not None else None
        rows = await read_live(self.store, gw.info.graphs.live, since)
        model = self.twin.model
        for row in rows:
            pid = gw.points.get(row.iri)
            if pid is None:
                continue
            if gw.watermark is None or row.gateway_time > gw.watermark:
                gw.watermark = row.gateway_time
            seen = gw.applied.get(pid)
            if seen is not None and row.gateway_time <= seen:
                continue
            gw.applied[pid] = row.gateway_time
            self.twin.apply(_sample(model.points[pid], row))
            gw.samples += 1

    # -- bad news ----------------------------------------------------------------------------------------------
    def _store_down(self, exc: StoreError) -> None:
        if self.error is None:
            self.down_since = utcnow()
            hint = " (check the credentials)" if exc.unauthorized else ""
            log.error("central view: the shared store is unreachable: %s%s; retrying", exc, hint)
            self.error = str(exc)
            reason = f"the shared store is unreachable since {_iso(self.down_since)}: {exc}"
            for gw in self.gateways.values():
                self._mark(gw, reason)
        self.error = str(exc)

    def _mark(self, gw: Mirrored, reason: str, only: list[str] | None = None) -> None:
        for pid in gw.points.values() if only is None else only:
            self.twin.apply(Sample.bad(pid, NO_COMMUNICATION, reason, adapter="central"))

    # -- what others read --------------------------------------------------------------------------------------
    def graphs(self) -> list[str]:
        """The default dataset of a query on the central view: every gateway's model and live graph and the
        shared ontology graph (store-internal graphs stay out)."""
        out: list[str] = []
        for gw in self.gateways.values():
            out += [gw.info.graphs.model, gw.info.graphs.live]
        if self.gateways:
            out.append(next(iter(self.gateways.values())).info.graphs.ontology)
        return out

    def healthy(self, gateway: str) -> bool:
        gw = self.gateways.get(gateway)
        return self.error is None and gw is not None and gw.alive

    def describe(self, gateway: str) -> dict[str, Any]:
        gw = self.gateways[gateway]
        lease = gw.info.lease_until
        return {
            "gateway": gateway,
            "alive": gw.alive,
            "lease_until": _iso(lease),
            "lease_expires_in_s": None if lease is None else round((lease - utcnow()).total_seconds(), 1),
            "started_at": _iso(gw.info.started_at),
            "instance": gw.info.instance,
            "points": len(gw.points),
            "samples": gw.samples,
        }


def _lease_reason(gw: Mirrored) -> str:
    return f"gateway {gw.info.name} is not running: its lease in the shared store ended at {_iso(gw.info.lease_until)}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _sample(point: Point, row: LiveRow) -> Sample:
    value: Any = None
    if isinstance(row.value, ox.Literal):
        value = _value(point.datatype, row.value.value)
    when = row.source_time or row.gateway_time
    if row.quality is Quality.GOOD and value is None:
        return Sample.bad(point.id, "BadDataUnavailable", "the store holds no value", adapter="central")
    return Sample(point.id, value, when, row.quality, row.status, row.reason, "central")


def _value(datatype: DataType, text: str) -> bool | int | float | str | None:
    kind = datatype.pytype
    try:
        if kind is bool:
            return text in ("true", "1")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        return None
    return text
