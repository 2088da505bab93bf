"""Scale-out: gateways mirroring their twins into a shared SPARQL store (``twin: replicate:``, docs/scale-out.md).

Stores: Virtuoso 7 (Debian's ``virtuoso-opensource``) and Oxigraph server (PyPI ``oxigraph``), each started by
the bench on free loopback ports (bench/_sparql_stores.py); gateways are real ones in processes of their own
(bench/_scale_out_sites.py), with their HTTP service, read over /health, /metrics and /sparql.

1. Model push: a generated 20,000-point site's model graph (as the replicator pushes it: skolemized, sorted,
   hashed) into each store by the gateway's client (``push_model``: Graph Store Protocol PUT, or DROP + chunked
   INSERT DATA when the store has no GSP endpoint), into a fresh graph each time. Baseline: the same requests
   (one PUT of the same bytes; the same chunks) sent by bare httpx, so the difference is the gateway's own
   overhead; for scale, the same triples bulk-loaded into an in-process pyoxigraph Store (no server, no HTTP).
2. Live replication per gateway: one gateway whose sim points all change every second (random walks), with the
   default ``flush_interval`` (1 s), ``batch`` (4,000 triples) and ``parallel`` (4). Over the window: changes
   the edge's twin applied per second, point updates the store applied per second (a point changed twice
   between flushes is sent once), the replicator's own lag (change -> store acknowledged; median of its p50
   readings, worst p95 reading), the end-to-end lag (a probe polls 50 points' ``tb:gatewayTime`` in the store
   every 100 ms: first seen - gateway time), the oldest change not yet sent at the end (growing: the replicator
   cannot keep up), CPU of the gateway (every thread and its SPARQL worker) and of the store. Baseline: a bare
   httpx loop sending the same DELETE DATA / INSERT DATA of the same triples, in requests of the same size and
   parallelism, as fast as the store takes them (no gateway, no twin): what the store itself sustains.
3. N = 1, 2, 4, 8 gateways (2,500 points each, 5 % changing per second) into one Virtuoso, added step by step:
   rates, lags and CPU per N; then the store SIGKILLed under load and restarted after a few seconds: the time
   until every gateway caught up (live again, nothing older than 2 s waiting); then the load stopped (the
   gateways' sources stopped, replication going on) and each gateway's own SPARQL answer (every point's value
   and gateway time; its model graph's size) compared with the store's.
4. At N = 8: every site's total electric power (the sum of its ``brick:Electric_Power_Sensor`` values) on the
   central view (``twin: remote:``, its /sparql over the gateways' graphs), and the same query with GRAPH
   patterns on the store itself; both checked against the sum of each edge's own values.

    python -m bench scale_out [--quick]     (quick: tiny sizes, N = 1, 2, one store: Virtuoso, else Oxigraph)
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml

from bench._dashboard_plant import process_cpu
from bench._scale_out_fleet import all_live, cross_site, fleet, measure, wait_until
from bench._scale_out_sites import BASE, GatewayProcess, site_mapping
from bench._scale_out_store import Store, raw_insert, raw_put, raw_updates
from bench._sparql_stores import OxigraphServer, StoreNotInstalled, StoreServer, VirtuosoServer
from bench.common import median, pct, table
from gateway.remote_store.client import SparqlStore
from gateway.remote_store.graphs import GatewayGraphs
from gateway.remote_store.settings import ReplicaSettings
from gateway.replication.sync import GraphText, local_graph, push_model
from gateway.runtime import Gateway

FULL: dict[str, Any] = {
    "push_points": 20_000, "live_loads": (2_000, 20_000), "live_window": 12.0, "live_warm": 3.0, "raw_s": 6.0,
    "fleet_points": 2_500, "fleet_period": 20.0, "fleet_sources": 20, "counts": [1, 2, 4, 8], "fleet_window": 12.0,
    "outage": 5.0,
}  # fmt: skip
QUICK: dict[str, Any] = {
    "push_points": 300, "live_loads": (300,), "live_window": 3.0, "live_warm": 1.0, "raw_s": 2.0,
    "fleet_points": 100, "fleet_period": 2.0, "fleet_sources": 2, "counts": [1, 2], "fleet_window": 3.0,
    "outage": 1.0,
}  # fmt: skip


def _stores(quick: bool) -> tuple[list[type[StoreServer]], list[str]]:
    """The store kinds on this machine (quick: the first one), and a note per missing one."""
    found: list[type[StoreServer]] = []
    notes: list[str] = []
    for kind in (VirtuosoServer, OxigraphServer):
        try:
            kind.find()
            found.append(kind)
        except StoreNotInstalled as exc:
            notes.append(f"{kind.name} skipped: {exc}")
    return (found[:1] if quick else found), notes


def _disk(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _pct(v: float) -> str:
    return f"{100 * v:.0f}"


def _s(v: float) -> str:
    return f"{v:.2f}"


# -- 1. model push ------------------------------------------------------------------------------------------------


def site_model(points: int, folder: Path) -> tuple[GraphText, float]:
    """The site's model graph as the replicator reads and pushes it, and the seconds that preparation took."""
    path = folder / "push.yaml"
    path.write_text(yaml.safe_dump(site_mapping("push", points, period=1.0, sources=1, replicate=None)))
    gw = Gateway.from_files([path])
    t0 = time.perf_counter()
    model = asyncio.run(local_graph(gw.view, gw.view.ids.graph_model, f"{BASE}.well-known/genid/"))
    took = time.perf_counter() - t0
    gw.twin.close()
    return model, took


async def _push(settings: dict[str, Any], name: str, model: GraphText) -> float:
    store = SparqlStore(ReplicaSettings(**settings))
    try:
        t0 = time.perf_counter()
        await push_model(store, GatewayGraphs(BASE, name), model)
        return time.perf_counter() - t0
    finally:
        await store.aclose()


def push_rows(server: StoreServer, model: GraphText) -> list[list[object]]:
    n = len(model.lines)
    gsp = server.settings()
    bare = Store(gsp)
    body = model.text.encode()
    rows: list[list[object]] = []
    try:
        for method, settings, baseline in (
            ("GSP PUT", gsp, lambda: raw_put(bare, f"{BASE}raw/put", body)),
            ("INSERT DATA, 2,000 per request", server.settings(graph_store_url=None),
             lambda: raw_insert(bare, f"{BASE}raw/insert", model.lines)),
        ):  # fmt: skip
            ours = asyncio.run(_push(settings, f"push-{len(rows)}", model))
            theirs = baseline()
            rows.append([server.name, method, f"{n:,}", _s(ours), f"{n / ours:,.0f}", _s(theirs), f"{n / theirs:,.0f}",
                         f"{ours / theirs:.2f}"])  # fmt: skip
    finally:
        bare.close()
    return rows


def bulk_row(model: GraphText) -> list[object]:
    n, body = len(model.lines), model.text.encode()
    t0 = time.perf_counter()
    ox.Store().bulk_load(body, ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(f"{BASE}bulk"))
    took = time.perf_counter() - t0
    return [
        "pyoxigraph in-process",
        "baseline: bulk_load, no server",
        f"{n:,}",
        "-",
        "-",
        _s(took),
        f"{n / took:,.0f}",
        "-",
    ]


# -- 2. live replication per gateway ---------------------------------------------------------------------------


def live_rows(server: StoreServer, folder: Path, size: dict[str, Any]) -> tuple[list[list[object]], list[str]]:
    settings = server.settings()
    assert server.pid is not None
    rows: list[list[object]] = []
    notes: list[str] = []
    for n in size["live_loads"]:
        mapping = site_mapping(f"live{n}", n, period=1.0, sources=4, replicate=settings)
        g = GatewayProcess(mapping, folder / f"live{n}")
        try:
            g.wait_started()
            wait_until(f"gateway live{n} replicating", all_live([g]), 600)
            time.sleep(size["live_warm"])
            w = measure([g], server.pid, settings, size["live_window"], probes=50)
            push = g.model_push()
            if push:
                notes.append(f"{server.name}, {n:,} points: the gateway's own model push at start: {push[0]:,} "
                              f"triples in {push[1]:.1f} s ({push[0] / push[1]:,.0f} triples/s)")  # fmt: skip
        finally:
            g.stop()
        rows.append([
            server.name, f"twinbridge, {n:,} points x 1/s", f"{w.edge_rate:,.0f}", f"{w.sent_rate:,.0f}",
            f"{_s(w.lag_p50)} / {_s(w.lag_p95)}", f"{_s(w.e2e_pct(50))} / {_s(w.e2e_pct(95))}", f"{w.oldest:.1f}",
            _pct(w.gateway_cpu), _pct(w.store_cpu),
        ])  # fmt: skip
    n = max(size["live_loads"])
    for lean in (False, True):
        cpu0, store0 = time.process_time(), process_cpu(server.pid)
        changes, took, requests = asyncio.run(
            raw_updates(settings, n, seconds=size["raw_s"], batch=4000, parallel=4, lean=lean)
        )
        cpu, store = (time.process_time() - cpu0) / took, (process_cpu(server.pid) - store0) / took
        shape = "3 triples a point: standard_values false" if lean else "7 triples a point, as the gateway"
        rows.append([
            server.name, f"baseline: bare httpx loop, {n:,} points a round ({shape})", "-", f"{changes / took:,.0f}",
            f"request {_s(median(requests))} / {_s(pct(requests, 95))}", "-", "-", _pct(cpu), _pct(store),
        ])  # fmt: skip
    return rows, notes


# -- 3 and 4. the fleet and the cross-site query --------------------------------------------------------------


def fleet_part(kind: type[StoreServer], folder: Path, size: dict[str, Any]) -> tuple[list[str], bool]:
    """Parts 3 and 4: the printed lines, and whether the store agreed with the edges and the central view's
    totals with the edges' own sums."""
    server = kind(folder / "fleet-store")
    server.start()
    empty = _disk(server.folder)
    settings = server.settings()
    period, sources, points = size["fleet_period"], size["fleet_sources"], size["fleet_points"]

    def mapping(name: str) -> dict[str, Any]:
        return site_mapping(name, points, period=period, sources=sources, replicate=settings)

    out: list[str] = []
    ok = False
    central: GatewayProcess | None = None
    result = None
    try:
        result = fleet(server, folder, mapping, size["counts"], ramp=period, seconds=size["fleet_window"],
                       outage=size["outage"])  # fmt: skip
        rows = [
            [n, f"{pts:,}", f"{w.edge_rate:,.0f}", f"{w.sent_rate:,.0f}", f"{_s(w.lag_p50)} / {_s(w.lag_p95)}",
             f"{_s(w.e2e_pct(50))} / {_s(w.e2e_pct(95))}", _pct(w.store_cpu), _pct(w.gateway_cpu)]
            for n, pts, w in result.rows
        ]  # fmt: skip
        out.append(f"{server.name}, each gateway {points:,} points, {100 / period:g} % changing per second:")
        out.append(table(["gateways", "points", "edge changes/s", "store applied updates/s",
                          "replicator lag p50 / p95 s", "end-to-end lag p50 / p95 s", "store CPU %",
                          "gateways CPU %"], rows))  # fmt: skip
        compared, differ, models = result.compared
        agreed = "equal" if not differ and not models else "NOT equal"
        out.append(
            f"\nstore SIGKILLed under load, restarted {result.outage_s:g} s later: every gateway caught up "
            f"{result.catch_up_s:.1f} s after the restart; load stopped: edge vs store {agreed}"
            f" {result.settle_s:.1f} s later ({compared:,} points compared, {differ} differ; model graphs of another "
            f"size: {models})"
        )
        total = sum(int(Store(settings).count(f"{BASE}gateway/{g.name}/{k}")) for g in result.gateways
                    for k in ("model", "live"))  # fmt: skip
        disk = _disk(server.folder)
        out.append(f"store size: {total:,} triples in the gateways' graphs; its folder {disk / 2**20:,.0f} MiB "
                   f"({empty / 2**20:,.0f} MiB empty)")  # fmt: skip
        central = GatewayProcess(
            {"twin": {"name": "central", "base_iri": BASE, "remote": {**settings, "poll_interval": "1s"}},
             "gateway": {"http": {"host": "127.0.0.1", "port": 0, "anonymous_read": True}}},
            folder / "central",
        )  # fmt: skip
        central.wait_started()
        expected = sum(g.points for g in result.gateways)
        wait_until("the central view's model", lambda: central.health()["points"] >= expected, 300)
        cs = cross_site(central, settings, result.gateways)
        ok = agreed == "equal" and cs.max_diff < 1e-4
        out.append(f"\ncross-site query at N = {len(result.gateways)} ({cs.sites} sites, {cs.sensors:,} "
                   f"Electric_Power_Sensor points; largest relative difference from the edges' own sums "
                   f"{cs.max_diff:.1e}):")  # fmt: skip
        out.append(table(["query on", "runs", "median ms", "max ms"], [
            ["central view /sparql (twin: remote:)", len(cs.central_s), f"{1000 * median(cs.central_s):.0f}",
             f"{1000 * max(cs.central_s):.0f}"],
            [f"baseline: the store itself ({server.name}, GRAPH patterns)", len(cs.store_s),
             f"{1000 * median(cs.store_s):.0f}", f"{1000 * max(cs.store_s):.0f}"],
        ]))  # fmt: skip
    finally:
        if central is not None:
            central.stop()
        for g in result.gateways if result else []:
            g.stop()
        server.stop()
    return out, ok


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    size = QUICK if quick else FULL
    kinds, notes = _stores(quick)
    if not kinds:
        print("\n".join(notes))
        return 1
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-out-"))
    try:
        model, prepare_s = site_model(size["push_points"], folder)
        push, live, live_notes = [], [], []
        for kind in kinds:
            server = kind(folder / f"{kind.name}-store")
            server.start()
            try:
                push += push_rows(server, model)
                rows, more = live_rows(server, folder, size)
                live += rows
                live_notes += more
            finally:
                server.stop()
        push.append(bulk_row(model))
        fleet_out, ok = fleet_part(kinds[0], folder, size)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for note in notes:
        print(note)
    print(f"1. model push: a {size['push_points']:,}-point site's model graph into a fresh graph; preparing it "
          f"(CONSTRUCT of the twin's model graph, skolemize, sort, hash) took {prepare_s:.2f} s")  # fmt: skip
    print(table(["store", "method", "triples", "twinbridge s", "twinbridge triples/s", "baseline s",
                 "baseline triples/s", "twinbridge / baseline"], push))  # fmt: skip
    print("\n2. live replication, one gateway, every point changing every second (baseline row: request "
          "latency in the lag column, the loop's own CPU as gateway CPU)")  # fmt: skip
    print(table(["store", "sender", "edge changes/s", "store applied updates/s", "replicator lag p50 / p95 s",
                 "end-to-end lag p50 / p95 s", "oldest unsent s", "gateway CPU %", "store CPU %"], live))  # fmt: skip
    for note in live_notes:
        print(f"- {note}")
    print("\n3. N gateways into one store\n")
    print("\n".join(fleet_out))
    if not ok:
        print("FAILED: the store did not equal the edges' twins, or the cross-site totals their own sums")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
