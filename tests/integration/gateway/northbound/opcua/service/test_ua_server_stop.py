"""Stopping the OPC UA service does not wait for asyncua's server clock, which sets CurrentTime and then sleeps
1 s: asyncua's own ``Server.stop()`` waits for that sleep to end (up to a second per stop, for every gateway
shutdown and every test that stops a server)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.integration.gateway.northbound.opcua.service.conftest import mapping_text

pytestmark = [pytest.mark.integration]


async def test_stop_ends_the_server_clock_at_once(tmp_path: Path) -> None:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": mapping_text(tmp_path / "pki")}))
    await gw.start()
    svc = gw.services["opcua"]
    server = svc.server  # type: ignore[attr-defined]
    clock = server.iserver.time_task
    try:
        assert clock is not None and not clock.done()
        await asyncio.sleep(0.1)  # the clock has set the time and sleeps for about 0.9 s more
        t0 = time.perf_counter()
        await svc.stop()
        stopped_in = time.perf_counter() - t0
    finally:
        await gw.stop()
    assert stopped_in < 0.5, stopped_in  # asyncua alone: about 0.9 s here
    assert clock.done() and server.iserver.time_task is None
