"""The whole demo plant on ephemeral ports: simulated devices, a broker, the gateway and its services."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest

from gateway.demo_plant.runner import Demo, Ports
from gateway.demo_plant.sensors import find_mosquitto


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(0.05)


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    if find_mosquitto() is None:
        pytest.skip("the demo's embedded broker needs the mosquitto binary")
    d = Demo(Ports(*free_ports(5)))
    await d.start()
    yield d
    await d.stop()
