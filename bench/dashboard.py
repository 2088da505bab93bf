"""The web dashboard in a real browser: the asset tree's first paint on a twin of 10,000 points, and the lag of a
points table of 500 values changing at 10 Hz.

A real gateway (``gateway.runtime.Gateway``, the HTTP service on a free loopback port, history on) runs a
generated mapping in a process of its own (``bench._dashboard_plant``): sites > areas > lines > 950 AHUs with 10
points each on a sim source ticking every 5 s, and the asset ``hot`` with 500 counters ticking every 100 ms —
10,000 points, every one changing at each tick. Debian's Chromium, headless through Playwright, loads the page;
the browser's clock measures (``bench._dashboard_probes``):

* Tree first paint: navigation start -> the first ``#tree li[data-asset]`` visible, stamped in the task after
  the frame that drew it; over several loads of ``#/plant``, each in a fresh browser context (cold cache, as a
  new visitor), after one load that is not counted. Context: DOMContentLoaded, first contentful paint, when
  ``GET /assets`` answered. Baseline: ``GET /assets`` fetched and parsed in a bare page of the same origin.
* Live update lag: ``#/asset/hot`` open, for 20 s every change of a value cell's ``data-source-time``: lag =
  wall clock after the paint minus the value's source time (the gateway's clock: one machine). Baselines: a
  bare ``fetch`` reader of the same ``/stream?asset=hot`` in the same page at the same time (lag at
  ``JSON.parse``, no DOM work), and the same reader alone in a page without the dashboard.

The gateway and the browser share the machine's cores; the CPU each used during the live window is printed.

    python -m bench dashboard [--quick]        (or python -m bench.dashboard)
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._dashboard_browser import (
    INSTALL_LINE,
    LiveRun,
    TreeLoad,
    bare_run,
    browser,
    browser_context,
    chromium_path,
    chromium_version,
    live_run,
    tree_load,
)
from bench._dashboard_plant import PLANT_INTERVAL, GatewayProcess, PlantSize, children, process_cpu, tree_cpu
from bench._dashboard_probes import ASSETS_FETCH
from bench._dashboard_trace import KINDS
from bench.common import median, pct, table

TREE_GOAL_MS = 1000.0
LAG_GOAL_MS = 250.0
RATE_HZ = 10


@dataclass(frozen=True)
class RunSize:
    plant: PlantSize
    loads: int  # counted page loads of the tree
    live_s: float  # seconds of the live window
    bare_s: float  # seconds of the bare reader alone
    trace_s: float  # seconds of main-thread tracing after the live window


QUICK = RunSize(PlantSize(tree_points=1_500, hot_points=100), loads=3, live_s=3.0, bare_s=2.0, trace_s=1.0)
FULL = RunSize(PlantSize(tree_points=9_500, hot_points=500), loads=10, live_s=20.0, bare_s=10.0, trace_s=5.0)


def _ms(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:,.0f}"


def _assets_fetch(loads: Sequence[TreeLoad]) -> tuple[list[float], list[float]]:
    """When each load's first ``/assets`` request answered, and how long it took."""
    ends, took = [], []
    for load in loads:
        first = next((a for a in load.api if a["path"].startswith("/assets")), None)
        if first is not None:
            ends.append(first["end"])
            took.append(first["end"] - first["start"])
    return ends, took


def tree_rows(loads: Sequence[TreeLoad], baseline: Sequence[float]) -> list[list[object]]:
    def row(name: str, xs: Sequence[float], goal: str = "") -> list[object]:
        return [name, len(xs), _ms(median(xs)), _ms(pct(xs, 95)), _ms(max(xs) if xs else None), goal]

    ends, took = _assets_fetch(loads)
    return [
        row("tree first paint (first `#tree li` visible)", [x.painted for x in loads], f"< {TREE_GOAL_MS:,.0f}"),
        row("first `#tree li` in the DOM", [x.inserted for x in loads]),
        row("DOMContentLoaded", [x.dcl for x in loads]),
        row("first contentful paint", [x.fcp for x in loads if x.fcp is not None]),
        row("`GET /assets` answered", ends),
        row("`GET /assets` request -> response", took),
        row("baseline: `GET /assets` fetched + parsed in a bare page", baseline),
    ]


def lag_row(name: str, lags: Sequence[float], meter: Meter, goal: str = "") -> list[object]:
    return [
        name, f"{len(lags):,}", f"{meter.produced:,}", _ms(median(lags)), _ms(pct(lags, 95)), _ms(pct(lags, 99)),
        _ms(max(lags) if lags else None), f"{meter.gateway:.0%}", f"{meter.browser:.0%}", f"{meter.others:.0%}", goal,
    ]  # fmt: skip


def bare_assets(chromium: Any, base_url: str) -> float:
    """ms to fetch and parse ``/assets`` in a page of the same origin without the dashboard."""
    context = browser_context(chromium, base_url)
    try:
        page = context.new_page()
        page.goto("/health")
        return float(page.evaluate(ASSETS_FETCH))
    finally:
        context.close()


@dataclass
class Results:
    loads: list[TreeLoad]
    assets_baseline: list[float]
    live: LiveRun
    bare: LiveRun
    tree_meter: Meter
    live_meter: Meter
    bare_meter: Meter
    gateway_start_s: float
    gateway_errors: list[str]


def run(size: RunSize, prepare: Callable[[Any], None] | None = None) -> Results:
    """Everything measured; ``prepare(context)`` runs on each dashboard page's browser context before it opens
    (e.g. ``context.route`` to try a changed view file without installing it)."""
    path = chromium_path()
    assert path is not None
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        gw = GatewayProcess(size.plant, Path(folder))
        try:
            with browser(path) as chromium:
                tree_load(chromium, gw.url, prepare)  # warm-up: not counted
                tree_meter = Meter(gw)
                tree_meter.start()
                loads = [tree_load(chromium, gw.url, prepare) for _ in range(size.loads)]
                tree_meter.stop()
                assets_baseline = [bare_assets(chromium, gw.url) for _ in range(size.loads)]
                meter, bare_meter = Meter(gw), Meter(gw)
                hot = size.plant.hot_points
                live = live_run(chromium, gw.url, "hot", hot, size.live_s, meter, prepare, size.trace_s)
                bare = bare_run(chromium, gw.url, "hot", size.bare_s, bare_meter)
            gateway_errors = gw.errors()
        finally:
            gw.stop()
    return Results(loads, assets_baseline, live, bare, tree_meter, meter, bare_meter, gw.started_s, gateway_errors)


class Meter:
    """Over a window: the values the hot source produced (its ``samples_in`` on ``GET /sources``), and the cores
    used by the gateway's process and by every other process below this one (Chromium's, Playwright's driver)."""

    def __init__(self, gw: GatewayProcess) -> None:
        self.gw, self.pid = gw, gw.proc.pid
        self.gateway = self.browser = 0.0
        self.produced = 0
        self.others = 0.0  # cores used by everything else on the machine
        self._t0 = self._g0 = self._b0 = self._m0 = self._me0 = 0.0
        self._s0 = 0

    def _samples(self) -> int:
        with urllib.request.urlopen(self.gw.url + "/sources", timeout=30) as r:
            return int(next(s["samples_in"] for s in json.load(r) if s["id"] == "hot"))

    def _browser_cpu(self) -> float:
        return sum(tree_cpu(p) for p in children(os.getpid()) if p != self.pid)

    def start(self) -> None:
        self._s0 = self._samples()
        self._m0, self._me0 = machine_cpu(), process_cpu(os.getpid())
        self._g0, self._b0, self._t0 = self.gw.cpu_seconds(), self._browser_cpu(), time.perf_counter()

    def stop(self) -> None:
        wall = time.perf_counter() - self._t0
        self.gateway = (self.gw.cpu_seconds() - self._g0) / wall
        self.browser = max(0.0, self._browser_cpu() - self._b0) / wall
        me = (process_cpu(os.getpid()) - self._me0) / wall
        self.others = max(0.0, (machine_cpu() - self._m0) / wall - self.gateway - self.browser - me)
        self.produced = self._samples() - self._s0


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (every core), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def report(size: RunSize, r: Results, chromium: str) -> None:
    n, hot = size.plant.points, size.plant.hot_points
    cpus = os.cpu_count()
    print(
        f"{chromium} headless via Playwright {metadata.version('playwright')}; viewport 1440x900; this machine's "
        f"{cpus} cores are shared by the gateway and the browser (other work on the machine, which skews every "
        f"figure: {r.tree_meter.others:.0%} of a core during the tree loads, {r.live_meter.others:.0%} and "
        f"{r.bare_meter.others:.0%} in the live windows). Gateway ready in {r.gateway_start_s:.1f} s."
    )
    print(
        f"\nTree first paint: a twin of {n:,} points ({size.plant.equipment:,} equipment under sites, areas and "
        f"lines; {size.plant.tree_points:,} points changing every {PLANT_INTERVAL:g} s and {hot} at {RATE_HZ} Hz), "
        f"`#/plant` loaded {size.loads} times, each in a fresh browser context (cold cache), ms since navigation "
        "start:\n"
    )
    print(
        table(["measure", "loads", "median ms", "p95 ms", "max ms", "goal ms"], tree_rows(r.loads, r.assets_baseline))
    )
    last = r.loads[-1]
    calls = ", ".join(f"{a['path']} {a['end'] - a['start']:,.0f} ms {a['bytes'] / 1024:,.0f} KiB" for a in last.api)
    print(f"\n(last load: {last.nodes:,} tree items in the DOM at the first paint; requests before it: {calls})")
    live, bare, lm, bm = r.live, r.bare, r.live_meter, r.bare_meter
    print(
        f"\nLive update lag: `#/asset/hot`, {hot} points changing at {RATE_HZ} Hz ({hot * RATE_HZ:,} values/s "
        f"nominal), {live.cells} value cells shown, {live.seconds:.0f} s; lag = browser wall clock minus the value's "
        "source time; produced = what the source made in the window (`GET /sources`); the server keeps only the "
        "newest value per point for a client that reads late, so seen < produced means values were skipped:\n"
    )
    rows = [
        lag_row("dashboard points table (cell updated, after paint)", live.dash, lm, f"p95 < {LAG_GOAL_MS:g}"),
        lag_row("baseline: bare stream reader, same page, same time (at JSON parse)", live.base, lm),
        lag_row("baseline: bare stream reader alone, no dashboard (at JSON parse)", bare.base, bm),
    ]
    heads = ["reader", "updates seen", "produced", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    print(table([*heads, "gateway CPU", "browser CPU", "other CPU", "goal"], rows))
    print(
        f"\n(CPU: share of one core over the window; browser = Chromium's processes and Playwright's driver; other "
        f"= the rest of the machine. Dashboard window: {live.frames / live.seconds:.0f} frames/s, main-thread long "
        f"tasks {live.long_tasks} totalling {live.long_task_ms:,.0f} ms; the stream told the bare reader of "
        f"{live.base_dropped} dropped changes; table drawn {live.table_ready_s:.1f} s after navigation)"
    )
    if live.profile:
        p = live.profile
        print(f"\nThe dashboard page's main thread, traced for {size.trace_s:g} s after the window, ms per second:\n")
        kinds = ["busy", *KINDS]
        print(table([*kinds, "frames with updates/s"], [[f"{p[k]:.0f}" for k in kinds] + [f"{p['frames']:.0f}"]]))
    errors = sorted({e for load in r.loads for e in load.errors} | set(live.errors))
    if errors:
        print(f"(the page reported: {'; '.join(errors[:5])})")
    if r.gateway_errors:
        print(f"(the gateway logged {len(r.gateway_errors)} error lines, e.g. {'; '.join(r.gateway_errors[:3])})")


def main(argv: list[str]) -> int:
    size = QUICK if "--quick" in argv else FULL
    path = chromium_path()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        print(table(["benchmark", "result"], [["dashboard", f"skipped: needs Chromium ({INSTALL_LINE})"]]))
        return 0
    r = run(size)
    report(size, r, chromium_version(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
