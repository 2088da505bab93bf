"""The dashboard in a real browser: Debian's Chromium driven headless by Playwright, against the demo plant
(simulated PLC, OPC UA machine, MQTT sensors, the gateway with history and analytics) running on free ports in a
thread of its own. One demo and one browser serve the whole module; each test gets a fresh browser context (its
own sessionStorage, so its own sign-in).

Screenshots go to build/screenshots/ (TWINBRIDGE_SCREENSHOTS to change it); docs/dashboard.md shows copies.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bench._dashboard_browser import INSTALL_LINE, chromium_path
from bench._dashboard_browser import browser as headless_chromium
from gateway.demo_plant.runner import Demo, Ports
from tests.conftest import skip_unless_ci
from tests.e2e.conftest import free_ports

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

pytestmark = pytest.mark.integration


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("TWINBRIDGE_SCREENSHOTS", ROOT / "build" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class DemoThread:
    """The demo plant on its own event loop in a thread, so the synchronous Playwright API can drive a browser
    against it from the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="demo-loop", daemon=True)
        self.demo = Demo(Ports(*free_ports(5)))

    def start(self) -> None:
        self.thread.start()
        self.run(self.demo.start(), timeout=90)

    def run(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the demo's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 10) -> T:
        """Call ``fn`` on the demo's loop (device memory and the twin are not thread-safe) and return its result."""
        done: Future[T] = Future()

        def invoke() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # handed to the test's thread
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(invoke)
        return done.result(timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.demo.ports.http}"

    def stop(self) -> None:
        try:
            self.run(self.demo.stop(), timeout=60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


@pytest.fixture(scope="module")
def plant() -> Iterator[DemoThread]:
    """The running demo plant (one per test module)."""
    running = DemoThread()
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), one per test module: Playwright's synchronous API keeps an event loop running
    in this thread while it is open, so it must be closed before the asyncio tests of other folders run."""
    path = chromium_path()
    if path is None:
        skip_unless_ci("Chromium for the dashboard tests", INSTALL_LINE)
    with headless_chromium(path) as chromium:
        yield chromium


class Screen:
    """A fresh browser context on the demo's dashboard, with its console errors collected."""

    def __init__(self, browser: Any, plant: DemoThread) -> None:
        self.plant = plant
        self.context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=plant.url)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, hash_: str = "") -> Any:
        """Load the dashboard at ``#<hash_>`` and wait for the frame to be drawn."""
        self.page.goto(f"/{'#' + hash_ if hash_ else ''}")
        self.page.wait_for_selector("#who-name:not(:empty)")
        return self.page

    def sign_in(self, token: str) -> None:
        """Sign in through the page's own dialog (the token ends up in sessionStorage only)."""
        self.page.click("#login-open")
        self.page.fill("#login-token", token)
        self.page.click("#login-submit")
        self.page.wait_for_selector("#who-name[data-role='operator']")

    def shot(self, name: str) -> Path:
        """Save a screenshot of the page as build/screenshots/<name>.png."""
        path = screenshot_dir() / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def screen(browser: Any, plant: DemoThread) -> Iterator[Screen]:
    """A viewer (the demo reads without a token)."""
    s = Screen(browser, plant)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def operator(browser: Any, plant: DemoThread) -> Iterator[Screen]:
    """An operator, signed in with the demo's token through the login dialog."""
    s = Screen(browser, plant)
    try:
        s.open()
        s.sign_in(plant.demo.token)
        yield s
    finally:
        s.close()
