"""SPARQL latency on the live twin while values update, next to plain rdflib in memory with the same triples.

Three columns per query: the twin's store in-process (what the gateway's own code sees), the HTTP endpoint
(protocol + replica worker process + JSON serialization, what an app sees), and the baseline: rdflib's
in-memory Graph holding the same triples. Values keep updating during the twin measurements (a writer thread
applies samples to 5 % of the points every 250 ms and flushes).

A second table prices the replica that makes the time limit possible (queries run in a worker process holding
a copy of the store, see gateway/northbound/http/query_worker.py): dump and spawn, load, following a burst of
value changes, stopping an over-time query and answering the next one, and the worker's memory.

    python -m bench sparql [--quick]
"""

from __future__ import annotations

import asyncio
import random
import socket
import sys
import threading
import time
from collections.abc import Callable

import httpx
import pyoxigraph as ox
import rdflib

from adapters.contract.sample import PointState, Quality, utcnow
from bench.common import median, pct, synthetic_model, table
from gateway.northbound.http.config import HttpApiConfig
from gateway.northbound.http.service import HttpApi
from gateway.runtime import Gateway

P = """PREFIX tb: <https://w3id.org/twinbridge#> PREFIX brick: <https://brickschema.org/schema/Brick#>
PREFIX qudt: <http://qudt.org/schema/qudt/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX unit: <http://qudt.org/vocab/unit/> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
QUERIES = {
    "point value by label": P + 'SELECT ?v ?q WHERE { ?p rdfs:label "ahu7 Supply_Air_Temperature_Sensor" ; '
    "tb:value ?v ; tb:quality ?q }",
    "typed join + filter + units": P + "SELECT ?p ?v ?u ?eq WHERE { ?eq a brick:AHU . ?p brick:isPointOf ?eq ; "
    "a brick:Supply_Air_Temperature_Sensor ; qudt:hasUnit ?u ; tb:value ?v . FILTER(?v > 60) }",
    "aggregate per asset class": P + "SELECT ?cls (COUNT(?p) AS ?n) (AVG(?v) AS ?avg) WHERE { ?eq a ?cls . "
    "FILTER(STRSTARTS(STR(?cls), STR(brick:))) ?p brick:isPointOf ?eq ; tb:value ?v . "
    "FILTER(isNumeric(?v)) } GROUP BY ?cls",
    "hierarchy roll-up (path)": P + "SELECT ?area (SUM(?v) AS ?kw) WHERE { ?area a tb:Area . "
    "?p a brick:Power_Sensor ; brick:isPointOf/brick:isPartOf+ ?area ; tb:value ?v } GROUP BY ?area",
    "points per quality": P + "SELECT ?q (COUNT(?p) AS ?n) WHERE { ?p tb:quality ?q } GROUP BY ?q",
    "point with its device address": P + "PREFIX ref: <https://brickschema.org/schema/Brick/ref#> "
    "PREFIX hctl: <https://www.w3.org/2019/wot/hypermedia#> SELECT ?p ?v ?target WHERE { "
    '?p rdfs:label "ahu7 Supply_Air_Temperature_Sensor" ; tb:value ?v ; ref:hasExternalReference ?r . '
    "?r hctl:hasTarget ?target }",
    "bad or stale points": P + "SELECT ?p ?status WHERE { ?p tb:quality ?q ; tb:statusCode ?status ; "
    'tb:sourceTime ?t . FILTER(?q != tb:Good || ?t < NOW() - "PT5M"^^xsd:dayTimeDuration) }',
}


def _writer(gw: Gateway, stop: threading.Event, share: float) -> None:
    rng = random.Random(3)
    pids = [p for p in gw.model.points if not p.endswith(".p4")]
    while not stop.is_set():
        for pid in rng.sample(pids, int(len(pids) * share)):
            now = utcnow()
            gw.twin.live.set(PointState(pid, rng.uniform(0, 100), now, now, Quality.GOOD, "Good", None))
        gw.twin.flush()
        stop.wait(0.25)


def _times(fn: Callable[[], object], n: int, budget: float) -> list[float]:
    out: list[float] = []
    t_end = time.perf_counter() + budget
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        if time.perf_counter() > t_end:
            break
    return out


async def _http_times(
    gw: Gateway, n: int, stop_writer: Callable[[], None], quick: bool
) -> tuple[dict[str, list[float]], list[list[object]]]:
    """Latency of each query over HTTP while values update; then, with the writer stopped, the replica's costs."""
    api = HttpApi(HttpApiConfig(port=0, anonymous_read=True, query_timeout=120), gw.view)
    t0 = time.perf_counter()
    await api.start()
    out: dict[str, list[float]] = {}
    try:
        # TCP_NODELAY on the client: without it httpx's keep-alive requests wait ~40 ms on delayed ACKs
        transport = httpx.AsyncHTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}", timeout=120, transport=transport) as c:
            (await c.get("/sparql", params={"query": "ASK {}"})).raise_for_status()
            ready = time.perf_counter() - t0
            for name, q in QUERIES.items():
                ts = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    r = await c.get("/sparql", params={"query": q})
                    r.raise_for_status()
                    ts.append(time.perf_counter() - t0)
                out[name] = ts
            await asyncio.to_thread(stop_writer)
            replica = await _replica_costs(gw, api, c, ready, quick)
    finally:
        await api.stop()
    return out, replica


def _burst(gw: Gateway, batches: int, per_batch: int) -> tuple[float, str, float]:
    """Change ``batches`` x ``per_batch`` values, flushing after each batch; (flush seconds, last point, value)."""
    rng = random.Random(11)
    pids = [p for p in gw.model.points if not p.endswith(".p4")]
    spent = 0.0
    pid, value = pids[0], 0.0
    for _ in range(batches):
        for pid in rng.sample(pids, per_batch):
            now = utcnow()
            value = rng.uniform(0, 100)
            gw.twin.live.set(PointState(pid, value, now, now, Quality.GOOD, "Good", None))
        t0 = time.perf_counter()
        gw.twin.flush()
        spent += time.perf_counter() - t0
    return spent, pid, value


def _burst_size(quick: bool) -> tuple[int, int]:
    return (2, 100) if quick else (10, 2_000)


def _worker_mib(pid: int) -> tuple[float, float]:
    """(resident, peak resident) MiB of a process, from /proc."""
    got = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                got[line[:5]] = int(line.split()[1]) / 1024
    return got.get("VmRSS", 0.0), got.get("VmHWM", 0.0)


async def _replica_costs(
    gw: Gateway, api: HttpApi, c: httpx.AsyncClient, ready: float, quick: bool
) -> list[list[object]]:
    """What the query worker's replica costs, measured with no other load running."""
    worker = api.app.state.api.worker
    batches, per_batch = _burst_size(quick)
    changes = batches * per_batch
    rss, peak = _worker_mib(worker._proc.pid)
    rows: list[list[object]] = [
        ["dump + spawn (under the flush lock)", f"{worker.respawn_seconds * 1000:.0f} ms"],
        ["service start -> first answer (replica loaded)", f"{ready * 1000:.0f} ms"],
        ["worker memory: resident / peak while loading", f"{rss:.0f} / {peak:.0f} MiB"],
    ]
    t0 = time.perf_counter()
    followed, pid, value = _burst(gw, batches, per_batch)
    q = f"SELECT ?v WHERE {{ <{gw.twin.ids.point(pid)}> <https://w3id.org/twinbridge#value> ?v }}"
    r = await c.get("/sparql", params={"query": q})
    assert float(r.json()["results"]["bindings"][0]["v"]["value"]) == value  # the replica has the last change
    until = time.perf_counter() - t0
    rows.append([f"{changes:,} value changes: flushes while a replica follows", f"{followed * 1000:.0f} ms"])
    rows.append(["... until the replica answers with the last", f"{until * 1000:.0f} ms ({changes / until:,.0f}/s)"])

    worker.timeout = 2.0  # the over-time case, with a short limit
    t0 = time.perf_counter()
    r = await c.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"})
    assert r.status_code == 503, r.text
    rows.append(["over-time query (2 s limit) answered 503 after", f"{(time.perf_counter() - t0) * 1000:.0f} ms"])
    t0 = time.perf_counter()
    r = await c.get("/sparql", params={"query": "ASK {}"})
    rows.append([f"next query answered ({r.status_code}) after", f"{(time.perf_counter() - t0) * 1000:.0f} ms"])
    return rows


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    n_points = 500 if quick else 20_000
    reps = 3 if quick else 30
    model = synthetic_model(n_points)
    gw = Gateway(model)
    for pid in gw.twin.live.states:  # every point has a value, as in a running plant
        now = utcnow()
        gw.twin.live.set(
            PointState(
                pid, True if pid.endswith(".p4") else random.uniform(0, 100), now, now, Quality.GOOD, "Good", None
            )
        )
    gw.twin.flush()
    triples = len(gw.twin.store)
    alone, _, _ = _burst(gw, *_burst_size(quick))  # the twin's own flush cost, before any replica follows it

    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(gw, stop, 0.05), daemon=True)
    writer.start()
    twin_t = {
        name: _times(lambda q=q: len(gw.twin.query_sync(q) if "ASK" in q else list(gw.twin.query_sync(q))), reps, 20)
        for name, q in QUERIES.items()
    }

    def stop_writer() -> None:
        stop.set()
        writer.join()

    http_t, replica = asyncio.run(_http_times(gw, max(3, reps // 3), stop_writer, quick))
    batches, per_batch = _burst_size(quick)
    replica.insert(3, [f"{batches * per_batch:,} value changes: flushes alone (no replica)", f"{alone * 1000:.0f} ms"])

    # rdflib baseline: the same triples (all graphs merged) in a plain in-memory Graph
    flat = rdflib.Graph()
    merged = ox.Store()
    merged.extend(ox.Quad(q.subject, q.predicate, q.object) for q in gw.twin.store)
    flat.parse(data=merged.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).decode(), format="nt")
    base_t = {
        name: _times(lambda q=q: list(flat.query(q)), max(2, reps // 10), 30 if quick else 120)
        for name, q in QUERIES.items()
    }

    rows = []
    for name in QUERIES:
        tw, ht, bt = twin_t[name], http_t[name], base_t[name]
        rows.append(
            [
                name,
                f"{median(tw) * 1000:.2f}",
                f"{pct(tw, 95) * 1000:.2f}",
                f"{median(ht) * 1000:.1f}",
                f"{median(bt) * 1000:.1f}",
                f"{median(bt) / median(tw):.0f}x",
            ]
        )
    print(f"{n_points:,} points, {triples:,} triples; values of 5% of the points updated every 250 ms meanwhile")
    print(table(["query", "twin p50 ms", "twin p95 ms", "HTTP p50 ms", "rdflib p50 ms", "twin vs rdflib"], rows))
    print()
    print(f"query worker replica, {n_points:,} points ({triples:,} triples)")
    print(table(["replica cost", "measured"], replica))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
