"""Debian's Chromium, headless through Playwright, pointed at the bench's gateway: the measuring runs.

``chromium_path`` is the one lookup of the browser to drive (the dashboard's browser tests can use it too).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench._dashboard_probes import INIT, TIMINGS
from bench._dashboard_trace import main_thread_profile

INSTALL_LINE = "apt-get install chromium"
VIEWPORT = {"width": 1440, "height": 900}


def chromium_path() -> str | None:
    """The browser to drive: TWINBRIDGE_CHROMIUM, else Debian's chromium (or another Chromium on PATH)."""
    given = os.environ.get("TWINBRIDGE_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_version(path: str) -> str:
    import subprocess

    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=30)
    return out.stdout.strip() or "unknown"


@contextmanager
def browser(path: str) -> Iterator[Any]:
    """Headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def page_on(chromium: Any, base_url: str, prepare: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """A page in a fresh context (cold HTTP cache, own sessionStorage) with the probes in every document.

    ``prepare(context)`` runs before the page opens (the bench's own checks swap in files with it)."""
    context = browser_context(chromium, base_url)
    try:
        if prepare is not None:
            prepare(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.bench_errors = errors
        yield page
    finally:
        context.close()


def browser_context(chromium: Any, base_url: str) -> Any:
    context = chromium.new_context(viewport=VIEWPORT, base_url=base_url)
    context.set_default_timeout(60_000)
    context.add_init_script(INIT)
    return context


@dataclass
class TreeLoad:
    """One page load of ``#/plant`` (ms since navigation start)."""

    painted: float  # the first tree item visible, after the frame that drew it
    inserted: float  # the first tree item in the DOM
    dcl: float  # DOMContentLoaded finished
    fcp: float | None  # the browser's first contentful paint
    api: list[dict[str, Any]]  # fetches started before the tree was painted: path, start, end, bytes
    nodes: int  # tree items in the DOM once painted
    errors: list[str] = field(default_factory=list)  # what the page reported (console errors, HTTP >= 400)


def tree_load(chromium: Any, base_url: str, prepare: Callable[[Any], None] | None = None) -> TreeLoad:
    with page_on(chromium, base_url, prepare) as page:
        page.goto("/#/plant")
        page.wait_for_function("() => window.__bench && window.__bench.tree !== null", polling=50)
        t = page.evaluate(TIMINGS)
        errors = list(page.bench_errors)
    return TreeLoad(t["tree"]["painted"], t["tree"]["inserted"], t["dcl"], t["fcp"], t["api"], t["nodes"], errors)


@dataclass
class LiveRun:
    """Lags (ms, wall clock minus source time) over ``seconds``: the dashboard's cells after paint, and the
    bare reader's changes at JSON parse, in the same page at the same time."""

    seconds: float
    dash: list[float]
    base: list[float]
    cells: int
    base_dropped: int
    frames: int
    long_tasks: int
    long_task_ms: float
    table_ready_s: float
    errors: list[str] = field(default_factory=list)
    profile: dict[str, float] = field(default_factory=dict)  # main thread ms/s by kind of work, after the window


class Meter(Protocol):
    """Told when a measuring window opens and closes (the bench counts CPU seconds in between)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


def live_run(
    chromium: Any,
    base_url: str,
    asset: str,
    points: int,
    seconds: float,
    meter: Meter,
    prepare: Callable[[Any], None] | None = None,
    trace_s: float = 0.0,
) -> LiveRun:
    """Open ``#/asset/<asset>``, wait for its ``points`` value cells, measure for ``seconds``; then trace the main
    thread for ``trace_s`` seconds."""
    with page_on(chromium, base_url, prepare) as page:
        t0 = time.perf_counter()
        page.goto(f"/#/asset/{asset}")
        page.wait_for_function(
            f"() => document.querySelectorAll('table#points td.value[data-source-time]').length >= {points}",
            polling=100,
        )
        ready = time.perf_counter() - t0
        time.sleep(1.0)  # the first second after drawing the table (sparklines, late fetches) is not measured
        page.evaluate("(asset) => window.__bench.startLive(asset)", asset)
        meter.start()
        time.sleep(seconds)
        meter.stop()
        r = page.evaluate("() => window.__bench.stopLive()")
        if r["error"]:
            raise RuntimeError(f"the bare stream reader failed: {r['error']}")
        profile = main_thread_profile(chromium, page, trace_s) if trace_s else {}
        return LiveRun(
            r["seconds"], r["dash"], r["base"], r["dashCells"], r["baseDropped"], r["frames"], r["longTasks"],
            r["longTaskMs"], ready, list(page.bench_errors), profile,
        )  # fmt: skip


def bare_run(chromium: Any, base_url: str, asset: str, seconds: float, meter: Meter) -> LiveRun:
    """The bare reader alone, in a page of the same origin without the dashboard (``/health``)."""
    context = browser_context(chromium, base_url)
    try:
        page = context.new_page()
        page.goto("/health")
        page.evaluate("(asset) => window.__bench.startLive(asset)", asset)
        meter.start()
        time.sleep(seconds)
        meter.stop()
        r = page.evaluate("() => window.__bench.stopLive()")
    finally:
        context.close()
    return LiveRun(r["seconds"], [], r["base"], 0, r["baseDropped"], r["frames"], r["longTasks"], r["longTaskMs"], 0.0)
