"""The live twin: the RDF graph of the model plus live values, change events and governed writes.

The graph lives in Oxigraph (pyoxigraph), chosen over rdflib's in-memory store on the twin's own workload
(see docs/benchmarks.md). Three named graphs: ``graph/model`` (assets, points, addresses, sources, locations),
``graph/live`` (one state per point) and ``graph/ontology`` (twinbridge ontology, Brick classes, QUDT units).
Live values are coalesced in ``LiveTable`` and flushed periodically and before every query, so a reader sees
every applied sample and Oxigraph's MVCC gives each query a consistent snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from adapters.contract.model import Asset, Location, Point
from adapters.contract.sample import PointState, Quality, Sample, Value, utcnow
from adapters.contract.status import NO_COMMUNICATION
from gateway.model import TwinModel
from gateway.twin.events import EventHub, Overflow, Subscription
from gateway.twin.live import LiveTable
from gateway.twin.materialize import model_ntriples, used_units
from gateway.twin.topology import relation_declarations
from gateway.twin.vocab import SOURCE_TIME, VALUE, TwinIRIs
from gateway.twin.writes import WriteRefused, check_writable, coerce_value, to_raw

if TYPE_CHECKING:
    from adapters.contract.adapter import WriteResult

log = logging.getLogger("twinbridge.twin")

# (point, raw value) -> the device's outcome; installed by the gateway runtime.
Writer = Callable[[Point, Value], Awaitable["WriteResult"]]


def open_store(path: str | Path | None) -> ox.Store:
    """An in-memory store, or an on-disk one that keeps the graph across restarts."""
    if path is None:
        return ox.Store()
    Path(path).mkdir(parents=True, exist_ok=True)
    return ox.Store(str(path))


def materialize(result: Any) -> Any:
    """A query result as plain data: ``bool`` (ASK), list of triples (CONSTRUCT/DESCRIBE) or list of dicts."""
    if isinstance(result, bool | ox.QueryBoolean):
        return bool(result)
    if isinstance(result, ox.QuerySolutions):
        names = [v.value for v in result.variables]
        return [{n: sol[n] for n in names if sol[n] is not None} for sol in result]
    return list(result)


class Twin:
    """The live twin of a model."""

    def __init__(self, model: TwinModel, *, store_path: str | Path | None = None, in_memory: bool = False) -> None:
        self.model = model
        self.ids = TwinIRIs(model.settings.base_iri)
        # in_memory: the mapping's twin without touching its on-disk store (``twinbridge graph``)
        self.store_path = None if in_memory else (store_path if store_path is not None else model.settings.store)
        self.store = open_store(self.store_path)
        self._closed = False
        self.live = LiveTable(self.ids, standard_values=model.settings.standard_values)
        self.events = EventHub()
        self._writer: Writer | None = None
        self._flush_lock = threading.Lock()
        self._update_listeners: list[Callable[[str], None]] = []
        self._model_listeners: list[Callable[[list[Asset], list[Point]], None]] = []
        self._state_listeners: list[Callable[[PointState], None]] = []  # every applied state (history)
        self.samples_applied = 0
        self.writes: dict[str, int] = {}
        self.flush_seconds = 0.0
        self._load()

    # -- building -----------------------------------------------------------------------------------
    def _load(self) -> None:
        ids = self.ids
        # A persisted store holds the previous run's graphs: the mapping is the truth, so the model and ontology
        # graphs are rebuilt. Last values are kept (still Bad until a device answers) so a restarted gateway
        # can show what it last knew; other named graphs (annotations) are left alone.
        previous = self._previous_values()
        for g in (ids.graph_model, ids.graph_ontology, ids.graph_live):
            self.store.clear_graph(ox.NamedNode(g))
        self.store.bulk_load(
            model_ntriples(self.model, ids).encode(), ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(ids.graph_model)
        )
        model = self.model
        self.store.bulk_load(
            self._ontology_text(
                model.points.values(), [*model.assets.values(), *model.locations.values()], model.ontology_fragments
            ).encode(),
            ox.RdfFormat.N_TRIPLES,
            to_graph=ox.NamedNode(ids.graph_ontology),
        )
        self.live.add_points(self.model.points.values())
        for pid, (value, source_ts) in previous.items():
            if pid in self.live.states:
                self.live.set(
                    PointState(
                        pid,
                        value,
                        source_ts,
                        None,
                        Quality.BAD,
                        "BadWaitingForInitialData",
                        "last value from before the restart; waiting for the device",
                    )
                )
        self.flush()

    def _previous_values(self) -> dict[str, tuple[Value, Any]]:
        if self.store_path is None:
            return {}
        out: dict[str, tuple[Value, Any]] = {}
        q = f"""SELECT ?p ?v ?t WHERE {{ GRAPH <{self.ids.graph_live}> {{ ?p <{VALUE}> ?v .
                OPTIONAL {{ ?p <{SOURCE_TIME}> ?t }} }} }}"""
        solutions = self.store.query(q)
        assert isinstance(solutions, ox.QuerySolutions)
        for sol in solutions:
            pid = self.ids.point_id(sol["p"].value)
            point = self.model.points.get(pid or "")
            if point is None:
                continue
            try:
                value = (
                    point.datatype.pytype(sol["v"].value)
                    if point.datatype.pytype is not bool
                    else (sol["v"].value == "true")
                )
                ts = datetime.fromisoformat(sol["t"].value.replace("Z", "+00:00")) if sol["t"] else None
            except (TypeError, ValueError):
                continue
            out[point.id] = (value, ts)
        return out

    @staticmethod
    def _ontology_text(
        points: Iterable[Point], others: Iterable[Asset | Location] = (), fragments: Iterable[str] = ()
    ) -> str:
        from gateway.ontology import ontology_ntriples

        points, others = list(points), list(others)
        declarations = relation_declarations([*points, *others])
        return ontology_ntriples(sorted(used_units(points, others)), fragments) + declarations

    def add(self, assets: Sequence[Asset], points: Sequence[Point], locations: Sequence[Location] = ()) -> None:
        """Add assets, points and locations at run time (discovery); they must not exist yet.

        Their locations, relations (with inverses on existing targets) and properties come with them.
        """
        for loc in locations:
            self.model.locations[loc.id] = loc
        for a in assets:
            self.model.assets[a.id] = a
        for p in points:
            self.model.points[p.id] = p
        text = model_ntriples(self.model, self.ids, assets, points, locations=locations, with_sources=False)
        onto = self._ontology_text(points, [*assets, *locations])
        update = (
            f"INSERT DATA {{ GRAPH <{self.ids.graph_model}> {{\n{text}}} }} ;\n"
            f"INSERT DATA {{ GRAPH <{self.ids.graph_ontology}> {{\n{onto}}} }}"
        )
        with self._flush_lock:  # ordered with live flushes, for replicas following the updates
            self._update(update)
        self.live.add_points(points)
        self.flush()
        for cb in self._model_listeners:
            try:
                cb(list(assets), list(points))
            except Exception:
                log.exception("model listener failed")

    # -- live values ----------------------------------------------------------------------------------
    def apply(self, sample: Sample) -> PointState | None:
        """Apply a normalized sample; returns the new state (None for an unknown point)."""
        states = self.live.states
        prev = states.get(sample.point)
        if prev is None:
            return None
        value = sample.value
        if value is None and sample.quality:
            # A fault carries no value: keep the last known one with its own source time, now marked with the
            # fault's quality; when the fault began is kept apart (the first fault time while it lasts).
            since = prev.quality_ts if prev.quality_ts is not None and prev.status == sample.status else None
            state = PointState(
                sample.point,
                prev.value,
                prev.source_ts,
                utcnow(),
                sample.quality,
                sample.status,
                sample.reason,
                since or sample.source_ts,
            )
        else:
            state = PointState(
                sample.point, value, sample.source_ts, utcnow(), sample.quality, sample.status, sample.reason
            )
        self.live.set(state)
        self.samples_applied += 1
        self.events.publish(state)
        for cb in self._state_listeners:
            cb(state)
        return state

    def state(self, point_id: str) -> PointState:
        """The current state of a point (``KeyError`` when unknown)."""
        return self.live.states[point_id]

    def states(self) -> Mapping[str, PointState]:
        """Current state of every point (read-only view)."""
        return self.live.states

    def subscribe(
        self, points: Iterable[str] | None = None, *, maxsize: int = 10_000, overflow: Overflow = "conflate"
    ) -> Subscription:
        """Change events of all points, or of the given ones."""
        return self.events.subscribe(points, maxsize=maxsize, overflow=overflow)

    # -- graph ----------------------------------------------------------------------------------------
    def _update(self, update: str) -> None:
        self.store.update(update)
        for cb in self._update_listeners:
            try:
                cb(update)
            except Exception:
                log.exception("update listener failed")

    def update_graph(self, update: str) -> None:
        """Apply a SPARQL update to a side graph (alarms, annotations) in order with the live flushes.

        The twin's own graphs are rebuilt from the mapping and the live table, so an update naming them is refused.
        """
        ids = self.ids
        for own in (ids.graph_model, ids.graph_live, ids.graph_ontology):
            if f"<{own}>" in update:
                raise ValueError(f"side-graph updates may not touch the twin's own graph <{own}>")
        with self._flush_lock:
            self._update(update)

    def flush(self) -> int:
        """Write changed live values to the graph now; returns how many points were written.

        Safe to call from any thread: the lock keeps updates in order, because each one deletes exactly the
        triples the previous one inserted.
        """
        with self._flush_lock:
            update, n = self.live.take_update()
            if update:
                t0 = time.perf_counter()
                self._update(update)
                self.flush_seconds += time.perf_counter() - t0
        return n

    async def run_flusher(self, interval: float) -> None:
        """Flush every ``interval`` seconds until cancelled, off the event loop.

        Oxigraph releases the GIL while it applies an update, so adapters keep ingesting on the loop meanwhile.
        """
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.flush)
            except Exception:
                log.exception("flushing live values failed")

    def query_sync(self, sparql: str, **kwargs: Any) -> Any:
        """Run a SPARQL query on a snapshot that includes every applied sample."""
        self.flush()
        kwargs.setdefault("use_default_graph_as_union", "default_graph" not in kwargs)
        return self.store.query(sparql, **kwargs)

    async def query(self, sparql: str, consume: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        """Run a query in a worker thread and return its materialized result.

        pyoxigraph result iterators must be consumed on the thread that created them, so ``consume`` (default:
        ``materialize``) runs there too: pass e.g. ``lambda r: r.serialize(format=...)`` to get bytes.
        """
        kwargs.setdefault("use_default_graph_as_union", "default_graph" not in kwargs)
        fn = consume or materialize

        def run() -> Any:
            self.flush()  # in the thread too: a flush in progress must not block the event loop
            return fn(self.store.query(sparql, **kwargs))

        return await asyncio.to_thread(run)

    def dump(self) -> bytes:
        """The whole dataset as N-Quads."""
        self.flush()
        return self.store.dump(format=ox.RdfFormat.N_QUADS) or b""

    @contextmanager
    def held_updates(self) -> Iterator[Callable[[], bytes]]:
        """Hold every graph update (flushes, run-time additions) while a replica starts.

        Yields a function returning the dataset as N-Quads: what it returns is exactly the state the next update
        passed to the update listeners applies to, so a replica loading it and then those updates misses none.
        """
        with self._flush_lock:
            yield lambda: self.store.dump(format=ox.RdfFormat.N_QUADS) or b""

    def add_update_listener(self, cb: Callable[[str], None]) -> None:
        """Call ``cb(sparql_update)`` after every change applied to the store (for replicas)."""
        self._update_listeners.append(cb)

    def remove_update_listener(self, cb: Callable[[str], None]) -> None:
        """Stop calling ``cb``."""
        if cb in self._update_listeners:
            self._update_listeners.remove(cb)

    def add_state_listener(self, cb: Callable[[PointState], None]) -> None:
        """Call ``cb(state)`` for every applied sample, on the applying thread: lossless, so keep it cheap."""
        self._state_listeners.append(cb)

    def add_model_listener(self, cb: Callable[[list[Asset], list[Point]], None]) -> None:
        """Call ``cb(assets, points)`` after assets/points are added at run time."""
        self._model_listeners.append(cb)

    # -- writes ---------------------------------------------------------------------------------------
    def set_writer(self, writer: Writer | None) -> None:
        """Install the function that routes raw values to adapters (the gateway runtime does this)."""
        self._writer = writer

    def coerce(self, point_id: str, value: Any) -> Value:
        """Validate a write against the model; ``WriteRefused`` says why not."""
        point = self.model.points.get(point_id)
        if point is None:
            raise WriteRefused("BadNodeIdUnknown", f"no point '{point_id}' in the twin")
        check_writable(point)
        return coerce_value(point, value)

    async def write(self, point_id: str, value: Any, *, actor: str = "api") -> WriteResult:
        """Validate, invert the transform and send a value to the point's device; returns the outcome."""
        from adapters.contract.adapter import WriteResult

        try:
            eng = self.coerce(point_id, value)
        except WriteRefused as exc:
            result = WriteResult(exc.status, exc.reason)
        else:
            point = self.model.points[point_id]
            if self._writer is None:
                result = WriteResult(NO_COMMUNICATION, "no adapters are running")
            else:
                result = await self._writer(point, to_raw(point, eng))
        self.writes[result.status] = self.writes.get(result.status, 0) + 1
        level = logging.INFO if result.ok else logging.WARNING
        log.log(
            level,
            "write %s = %r by %s: %s%s",
            point_id,
            value,
            actor,
            result.status,
            f" ({result.reason})" if result.reason else "",
        )
        return result

    def close(self) -> None:
        """Close subscriptions and flush (and release an on-disk store until ``reopen``)."""
        self.events.close_all()
        try:
            self.flush()
        finally:
            if self.store_path is not None and not self._closed:
                self.store.flush()
                # pyoxigraph has no close(): dropping the last reference releases the on-disk lock, so the
                # same process (tests, embedding) can open the store again.
                self.store = ox.Store()
                self._closed = True

    def reopen(self) -> None:
        """Open the on-disk store again after ``close`` (a gateway started a second time keeps its graph).

        The store holds exactly what the last flush wrote, so the live table's record of written triples
        still matches it and later flushes go on from there.
        """
        if self._closed:
            self.store = open_store(self.store_path)
            self._closed = False
