"""Fixtures of the Modbus adapter integration tests: a real pymodbus server on loopback, a socat pty pair."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from modbus_helpers import DeviceStore, ModbusTestServer, PtyPair


@pytest.fixture
def store() -> DeviceStore:
    """Two unit ids, every address present and zero."""
    return DeviceStore(units={1, 2})


@pytest.fixture
async def tcp_server(store: DeviceStore) -> AsyncIterator[ModbusTestServer]:
    """A Modbus TCP server on an ephemeral loopback port."""
    server = ModbusTestServer(store, "tcp")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def pty() -> Iterator[PtyPair]:
    """A pseudo-terminal pair (a null-modem cable) from socat."""
    pair = PtyPair()
    pair.start()
    yield pair
    pair.stop()
