"""Gateways at work for ``bench scale_out``: the measuring window, the fleet of N gateways into one store with a
store restart mid-run, the edge-versus-store check once the load stops, and the cross-site query.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._dashboard_plant import process_cpu
from bench._scale_out_sites import BASE, GatewayProcess, metric
from bench._scale_out_store import (
    CROSS_SITE,
    CROSS_SITE_GRAPHS,
    LagProbe,
    Store,
    auth_of,
    live_graph,
    same_values,
    timed_query,
)
from bench.common import pct
from gateway.twin.vocab import TwinIRIs

SENT = "twinbridge_replication_changes_sent_total"
APPLIED = "twinbridge_samples_applied_total"
OLDEST = "twinbridge_replication_oldest_change_seconds"


def wait_until(what: str, done: Callable[[], bool], timeout: float, every: float = 0.5) -> float:
    """Seconds until ``done()``; RuntimeError naming ``what`` after ``timeout``."""
    t0 = time.perf_counter()
    while not done():
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)
    return time.perf_counter() - t0


def all_live(gateways: list[GatewayProcess]) -> Callable[[], bool]:
    return lambda: all(g.store_health()["state"] == "live" for g in gateways)


def probe_points(g: GatewayProcess, n: int) -> list[tuple[str, str]]:
    """``n`` of a site's points spread over its equipment, as (its live graph, point IRI)."""
    ids = TwinIRIs(BASE)
    equipment = max(1, g.points // 10)
    step = max(1, equipment // n)
    return [(live_graph(g.name), ids.point(f"{g.name}-ahu{e}.p0")) for e in range(0, equipment, step)][:n]


@dataclass
class Window:
    """What a set of gateways did over one measuring window."""

    seconds: float
    edge_rate: float  # changes/s the edges' twins applied
    sent_rate: float  # point updates/s the store applied
    lag_p50: float  # median of the replicators' 1 s readings of their recent p50
    lag_p95: float  # worst of their readings of p95
    e2e: list[float] = field(default_factory=list)  # end-to-end lags seen by the probe
    oldest: float = 0.0  # age of the oldest change not yet sent, at the end (worst gateway)
    gateway_cpu: float = 0.0  # CPU seconds per second, all gateways
    store_cpu: float = 0.0

    def e2e_pct(self, p: float) -> float:
        return pct(self.e2e, p)


def measure(
    gateways: list[GatewayProcess], store_pid: int, settings: dict[str, Any], seconds: float, probes: int = 25
) -> Window:
    """Watch the gateways for ``seconds``: rates from /metrics, lag readings every second, an end-to-end probe
    of ``probes`` points per gateway, CPU of the gateways and of the store."""
    points = [p for g in gateways for p in probe_points(g, probes)]
    probe = LagProbe(settings, points).start()
    before = [g.metrics() for g in gateways]
    cpu0, store0, t0 = sum(g.cpu_seconds() for g in gateways), process_cpu(store_pid), time.perf_counter()
    p50s: list[float] = []
    p95s: list[float] = []
    last = before
    while time.perf_counter() - t0 < seconds:
        time.sleep(1.0)
        last = [g.metrics() for g in gateways]
        for g, m in zip(gateways, last, strict=True):
            q = g.lag_quantiles(m)
            if q:
                p50s.append(q[0.5])
                p95s.append(q[0.95])
    elapsed = time.perf_counter() - t0
    cpu1, store1 = sum(g.cpu_seconds() for g in gateways), process_cpu(store_pid)
    lags = probe.stop()
    diff = [(metric(b, name), metric(a, name)) for b, a in zip(before, last, strict=True) for name in (SENT, APPLIED)]
    sent = sum(a - b for b, a in diff[0::2])
    applied = sum(a - b for b, a in diff[1::2])
    return Window(
        elapsed,
        applied / elapsed,
        sent / elapsed,
        statistics.median(p50s) if p50s else float("nan"),
        max(p95s) if p95s else float("nan"),
        lags,
        max(metric(m, OLDEST) for m in last),
        (cpu1 - cpu0) / elapsed,
        (store1 - store0) / elapsed,
    )


def quiet_and_compare(
    gateways: list[GatewayProcess], settings: dict[str, Any], timeout: float
) -> tuple[float, tuple[int, int, int]]:
    """Stop every gateway's sources, then compare each gateway with the store until they agree (a flush may
    still be in flight when a backlog reads 0) or ``timeout`` passes; (seconds until they agreed, the last
    comparison)."""
    for g in gateways:
        g.quiet()
    t0 = time.perf_counter()
    while True:
        found = compare(gateways, settings)
        if (found[1] == 0 and found[2] == 0) or time.perf_counter() - t0 > timeout:
            return time.perf_counter() - t0, found
        time.sleep(1.0)


def compare(gateways: list[GatewayProcess], settings: dict[str, Any]) -> tuple[int, int, int]:
    """(points compared, points whose value or time differs in the store, model graphs whose triple count
    differs): each gateway's own SPARQL answer against the store's."""
    store = Store(settings)
    try:
        points = differ = models = 0
        for g in gateways:
            edge = g.live_values()
            theirs = store.live_values(live_graph(g.name))
            d, extra = same_values(edge, theirs)
            points += len(edge)
            differ += d + extra
            if store.count(f"{BASE}gateway/{g.name}/model") != g.model_triples():
                models += 1
        return points, differ, models
    finally:
        store.close()


# -- the fleet: N gateways into one store, and a restart of the store mid-run ---------------------------------


@dataclass
class FleetResult:
    rows: list[tuple[int, int, Window]]  # (N, points, window)
    outage_s: float
    catch_up_s: float
    settle_s: float
    compared: tuple[int, int, int]
    gateways: list[GatewayProcess]


def fleet(
    server: Any,
    folder: Path,
    mapping: Callable[[str], dict[str, Any]],
    counts: list[int],
    *,
    ramp: float,
    seconds: float,
    outage: float,
) -> FleetResult:
    """Gateways site0..site<max N - 1> added step by step; one window per N once the newcomers' sources all
    tick (``ramp``: their staggered start); then the store killed and restarted under load, the catch-up timed,
    the load stopped and every gateway compared with the store. The gateways are left running (for the
    cross-site query): stop them."""
    settings = server.settings()
    gateways: list[GatewayProcess] = []
    rows = []
    try:
        for n in counts:
            started = time.perf_counter()
            new = [GatewayProcess(mapping(f"site{i}"), folder / f"site{i}") for i in range(len(gateways), n)]
            gateways += new
            for g in new:
                g.wait_started()
            wait_until(f"{n} gateways replicating", all_live(gateways), 300)
            time.sleep(max(0.0, ramp - (time.perf_counter() - started)) + 1.0)  # every newcomer's source ticking
            rows.append((n, sum(g.points for g in gateways), measure(gateways, server.pid, settings, seconds)))
        server.kill()
        time.sleep(outage)
        server.restart()

        def caught_up() -> bool:
            states = [g.store_health() for g in gateways]
            return all(s["state"] == "live" and (s["oldest_change_s"] or 0) < 2.0 for s in states)

        time.sleep(1.0)  # the replicators notice the store back at their next flush
        catch_up = wait_until("every gateway caught up after the store restart", caught_up, 300) + 1.0
        settle, compared = quiet_and_compare(gateways, settings, 60)
        return FleetResult(rows, outage, catch_up, settle, compared, gateways)
    except BaseException:
        for g in gateways:
            g.stop()
        raise


# -- the cross-site query ---------------------------------------------------------------------------------------


@dataclass
class CrossSite:
    central_s: list[float]
    store_s: list[float]
    sites: int
    sensors: int
    max_diff: float  # largest relative difference of a site's total from the sum of its edge's own values


def cross_site(central: GatewayProcess, settings: dict[str, Any], gateways: list[GatewayProcess]) -> CrossSite:
    """Every site's total electric power, on the central view (its /sparql, the gateways' graphs as default
    graph) and on the store itself (GRAPH patterns); both checked against the sum of each edge's own values."""
    central_s, rows = timed_query(f"{central.url}/sparql", CROSS_SITE)
    store_s, direct = timed_query(settings["url"], CROSS_SITE_GRAPHS, auth_of(settings))
    totals = {r["site"]["value"]: float(r["kw"]["value"]) for r in rows}
    sensors = sum(int(r["sensors"]["value"]) for r in rows)
    ids = TwinIRIs(BASE)
    worst = 0.0
    for g in gateways:
        values = g.live_values()
        power = [p for p in values if p.endswith(".p6")]  # each equipment's Electric_Power_Sensor
        expected = sum(values[p][0] for p in power)
        worst = max(worst, _relative(totals.get(ids.asset(g.name)), expected))
    direct_totals = {r["site"]["value"]: float(r["kw"]["value"]) for r in direct}
    for site, kw in totals.items():
        worst = max(worst, _relative(direct_totals.get(site), kw))
    return CrossSite(central_s, store_s, len(rows), sensors, worst)


def _relative(got: float | None, expected: float) -> float:
    return float("inf") if got is None else abs(got - expected) / max(abs(expected), 1e-9)
