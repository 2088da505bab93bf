"""Fixtures of the OPC UA client adapter integration tests (helpers live in opcua_client_helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from opcua_client_helpers import PlantServer


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant() -> AsyncIterator[PlantServer]:
    """One unsecured plant server shared by a test module."""
    srv = PlantServer()
    await srv.start()
    yield srv
    await srv.stop()
