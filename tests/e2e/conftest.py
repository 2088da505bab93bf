"""The whole demo plant on ephemeral ports: simulated devices, a broker, the gateway and its services."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

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


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    if find_mosquitto() is None:
        pytest.skip("the demo's embedded broker needs the mosquitto binary")
    d = Demo(Ports(*free_ports(5)))
    await d.start()
    yield d
    await d.stop()
