"""An asyncua server whose connections answer Write requests without holding up the session's other requests.

Why: asyncua 2.1 handles the requests of one connection strictly one after another (``OPCUAProtocol`` awaits
``UaProcessor.process`` per message). A client Write to a point awaits the device, for up to
``twin.write_timeout``, so a slow PLC used to delay every Read and Publish of the writing client's session.

How: the Write still returns the device's outcome (Good only once the device accepted it, ``BadTimeout``,
``BadCommunicationError``...), as Kepware and other gateways do; only its processing moves to a task, so the
connection goes on reading the next requests. Responses carry the request's id and handle, so a client
matches them whatever their order. A connection's writes still run one at a time in arrival order (two writes
of a setpoint reach the device in the order sent), and past ``MAX_DETACHED_WRITES`` waiting writes a new one is
processed in line again, which stops reading from that client (back-pressure as before).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

from asyncua import Server, ua
from asyncua.common.utils import Buffer
from asyncua.crypto import uacrypto
from asyncua.server.binary_server_asyncio import BinaryServer, OPCUAProtocol
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua.ua_binary import nodeid_from_binary

from gateway.northbound.opcua.uatypes import node_id

log = logging.getLogger("twinbridge.opcua.server")
MAX_DETACHED_WRITES = 64
_WRITE = node_id(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)


def is_write_request(body: Buffer) -> bool:
    """Whether a decoded message body is a WriteRequest (the body itself is not consumed)."""
    try:
        return bool(nodeid_from_binary(body.copy()) == _WRITE)
    except Exception:  # malformed: let asyncua's own processing answer it
        return False


class DetachedWriteProcessor(UaProcessor):
    """A connection's processor that runs Write requests in a task, in order, and the rest in line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writes: set[asyncio.Task[None]] = set()
        self._write_order = asyncio.Lock()  # FIFO: writes reach the twin in the order they arrived

    async def process_message(self, seqhdr: Any, body: Buffer) -> bool | None:
        session = self.session
        if (
            session is not None
            and session.is_activated()
            and len(self._writes) < MAX_DETACHED_WRITES
            and is_write_request(body)
        ):
            task = asyncio.create_task(self._write(seqhdr, body), name="opcua-server-write")
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)
            return True
        result: bool | None = await super().process_message(seqhdr, body)
        return result

    async def _write(self, seqhdr: Any, body: Buffer) -> None:
        async with self._write_order:
            try:  # asyncua answers errors itself (ServiceFault); this is for a channel gone meanwhile
                await super().process_message(seqhdr, body)
            except Exception as exc:
                log.debug("could not answer a Write request: %s", exc)

    async def close(self) -> None:
        for task in list(self._writes):  # the client is gone: nobody waits for these answers
            task.cancel()
        for task in list(self._writes):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().close()


class _Protocol(OPCUAProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.processor is not None:  # None: refused (too many connections)
            self.processor = DetachedWriteProcessor(self.iserver, self.transport, self.limits)
            self.processor.set_policies(self.policies)


class _BinaryServer(BinaryServer):
    def _make_protocol(self) -> OPCUAProtocol:
        return _Protocol(
            iserver=self.iserver,
            policies=self._policies,
            clients=self.clients,
            closing_tasks=self.closing_tasks,
            limits=self.limits,
        )


async def end_clock(server: Server) -> None:
    """End asyncua's server clock loop (it sets CurrentTime, then sleeps 1 s) at once: ``Server.stop()`` waits for
    that sleep to end, up to a second per stop. Call before ``stop()``."""
    clock = server.iserver.time_task
    if clock is not None:
        clock.cancel()
        await asyncio.wait([clock])
        server.iserver.time_task = None


class TwinUaServer(Server):
    """asyncua's ``Server`` with connections that detach Write requests (``DetachedWriteProcessor``)."""

    async def stop(self) -> None:
        await end_clock(self)
        await super().stop()

    async def start(self) -> None:
        # asyncua 2.1 Server.start, with its BinaryServer replaced (it offers no factory to override)
        if self.iserver.certificate is not None:
            uacrypto.check_certificate(self.iserver.certificate, self._application_uri, socket.gethostname())
        await self._setup_server_nodes()
        await self.iserver.start()
        try:
            host, port = self._get_bind_socket_info()
            # as asyncua passes them (None: every interface / from the endpoint)
            self.bserver = _BinaryServer(self.iserver, host, port, self.limits)  # type: ignore[arg-type]
            self.bserver.set_policies(self._policies)
            await self.bserver.start()
        except Exception:
            await self.iserver.stop()
            raise
