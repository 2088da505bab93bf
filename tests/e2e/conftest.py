"""The whole demo plant on ephemeral ports: simulated devices, a broker, the gateway and its services."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from gateway.demo_plant.runner import Demo, Ports
from gateway.demo_plant.sensors import BrokerChoice

StartDemo = Callable[..., Awaitable[Demo]]


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (bound together, so no two are the same)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, grandchildren...), read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in status.lower()


@pytest.fixture
async def start_demo() -> AsyncIterator[StartDemo]:
    """Start demo plants on free ports; every one is stopped at teardown."""
    started: list[Demo] = []

    async def start(broker: BrokerChoice = "auto", mqtt_url: str | None = None) -> Demo:
        demo = Demo(Ports(*free_ports(5)), broker=broker, mqtt_url=mqtt_url)
        started.append(demo)
        await demo.start()
        return demo

    yield start
    for demo in reversed(started):
        await demo.stop()


@pytest.fixture
async def demo(start_demo: StartDemo) -> Demo:
    """The demo plant with its default broker choice (mosquitto when installed, else amqtt)."""
    return await start_demo()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant() -> AsyncIterator[Demo]:
    """One default demo plant for a whole test module (a start costs about 5 s): its tests run on the module's
    loop (``pytest.mark.asyncio(loop_scope="module")``) and each puts back what it changes."""
    demo = Demo(Ports(*free_ports(5)))
    try:
        await demo.start()
        yield demo
    finally:
        await demo.stop()
