"""A slow Modbus device for the late-reply tests: a loopback TCP relay in front of a real pymodbus server.

Requests go through at once; every reply is held back (``delay``, or the next value of ``plan``) and the replies
of one connection leave in order, the way a slow device or serial gateway answers. A relay is used rather than
``DeviceStore.delay`` because pymodbus 3.16's server labels a delayed reply with the transaction id of whatever
request arrived in the meantime (its handler reads ``last_pdu`` after the await), which no real device does.
"""

from __future__ import annotations

import asyncio
import contextlib


class SlowRelay:
    """Listens on an ephemeral loopback port and relays to ``127.0.0.1:target_port`` with delayed replies."""

    def __init__(self, target_port: int, delay: float = 0.0) -> None:
        self.target_port = target_port
        self.delay = delay
        self.plan: list[float] = []  # delays of the next replies, in order; then ``delay``
        self.replies = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url_tcp(self) -> str:
        """Modbus TCP url of the relay."""
        return f"tcp://127.0.0.1:{self.port}"

    async def start(self) -> SlowRelay:
        """Listen."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        """Close the listener and every relayed connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        try:
            await asyncio.gather(self._pipe(client_r, server_w), self._replies(server_r, client_w))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            server_w.close()
            client_w.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            writer.write(data)

    async def _replies(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        last_due = 0.0
        while data := await reader.read(4096):
            delay = self.plan.pop(0) if self.plan else self.delay
            last_due = max(loop.time() + delay, last_due)  # a reply never overtakes an earlier one
            loop.call_at(last_due, self._send, writer, data)

    def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if not writer.is_closing():
            writer.write(data)
            self.replies += 1
