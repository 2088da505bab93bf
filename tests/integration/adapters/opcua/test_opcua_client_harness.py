"""The test plant server restarts on its port like a real one, even when that port is briefly taken.

test_opcua_client_faults restarts the server on the same port; it failed now and then with EADDRINUSE because an
outgoing connection (any process's) had been given that port as its local one while the server was down.
"""

from __future__ import annotations

import logging
import socket

import pytest
from asyncua import Client
from opcua_client_helpers import PlantServer, _ephemeral_range, free_port, log

pytestmark = [pytest.mark.integration]


def test_free_ports_are_never_handed_out_to_outgoing_connections() -> None:
    low, high = _ephemeral_range()
    assert all(1024 <= free_port() < low for _ in range(50)), (low, high)


async def test_the_server_restarts_once_its_port_is_free_again() -> None:
    srv = PlantServer()
    await srv.start()
    await srv.stop()
    # what an outgoing connection that got the port does: hold it, connected elsewhere, for a moment
    peer = socket.create_server(("127.0.0.1", 0))
    holder = socket.socket()
    holder.bind(("127.0.0.1", srv.port))
    holder.connect(peer.getsockname())
    accepted, _ = peer.accept()

    def release() -> None:  # the far end closes first, so the port is left without a TIME_WAIT of ours
        accepted.close()
        holder.close()

    class ReleaseOnRetry(logging.Handler):  # free the port once start() has found it taken
        def emit(self, record: logging.LogRecord) -> None:
            if "still in use" in record.getMessage():
                release()

    handler = ReleaseOnRetry()
    log.addHandler(handler)
    try:
        await srv.start()
        async with Client(srv.url, timeout=5) as client:
            assert await client.get_node(srv.node_id("Count")).read_value() == 7
    finally:
        log.removeHandler(handler)
        release()
        peer.close()
        await srv.stop()
