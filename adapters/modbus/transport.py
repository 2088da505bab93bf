"""Shared Modbus connections: one pymodbus client per endpoint, used by every source that talks through it.

Many devices (and every serial bus and TCP-to-RTU gateway) accept a single master connection, so sources with
the same endpoint (``tcp://host:port``, ``rtu+tcp://host:port`` or a serial port) share one ``Link``. A link
runs one request at a time in arrival order (asyncio locks are FIFO, so the sources on a bus take turns) and
keeps a quiet gap between frames on serial lines. It never reconnects by itself: pymodbus' auto-reconnect is
off (``reconnect_delay=0``) and its own give-up-after-N-timeouts is disabled, so the gateway's supervisor owns
backoff. Every failure is turned into a ``ModbusFault`` (see ``protocol``) whose ``status`` is an OPC UA
status name.

Late replies: a reply that comes after its request timed out is discarded (see ``framing``), counted as a
``stale_replies`` of the source that sent the request, and proves the link alive. Modbus TCP tells it apart by
transaction id; RTU has none, so after a timeout the next request first waits for the late reply (at most
the timeout again) and drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from adapters.modbus.endpoint import LinkSpec
from adapters.modbus.framing import guarded_framer, serial_frame_gap
from adapters.modbus.protocol import (
    CALLS,
    Counters,
    Garbled,
    LinkConflict,
    LinkDown,
    Request,
    RequestTimeout,
    check_reply,
)

Client = AsyncModbusTcpClient | AsyncModbusSerialClient


class _GarbledFrame(Exception):
    """Raised into pymodbus' pending response future when the framer meets a frame it cannot use."""


class _NoReply(Exception):
    """One attempt timed out."""


class Link:
    """One connection shared by every source on an endpoint; requests run one at a time."""

    def __init__(self, spec: LinkSpec, loop: asyncio.AbstractEventLoop) -> None:
        self.spec = spec
        self.loop = loop
        self.url = spec.url()
        self.users = 0
        self.generation = 0  # bumped on every successful connect
        self.connects = 0
        self.frame_gap = serial_frame_gap(spec.baudrate) if spec.is_serial else 0.0
        self.reconnect_after = 3
        self.closed = False
        self.down_reason: str | None = "not connected yet"
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._listeners: set[Callable[[str], None]] = set()
        self._last_end = 0.0
        self._silent = 0  # unanswered requests in a row
        self.discarded = 0  # unusable frames that arrived with no request waiting
        self.stale_replies = 0  # whole replies that answered no waiting request (late ones)
        self._waiting: Counters | None = None  # counters of the request waiting for its reply
        self._owed: deque[tuple[int, Counters]] = deque(maxlen=64)  # (tid, counters) of requests that timed out
        self._late_window = 0.0  # RTU: how long the next request waits for an owed late reply
        self._owed_paid = asyncio.Event()

    # -- state --------------------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while the transport is open."""
        return self._client is not None and self._client.connected

    def listen(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(reason)`` when the connection is lost."""
        self._listeners.add(callback)

    def unlisten(self, callback: Callable[[str], None]) -> None:
        """Stop calling ``callback``."""
        self._listeners.discard(callback)

    def _lost(self, reason: str) -> None:
        if self.down_reason is None:
            self.down_reason = reason
            for cb in list(self._listeners):
                cb(reason)

    def _trace_connect(self, connected: bool) -> None:
        # pymodbus calls this when the peer closes (not when we close: close() sets is_closing first)
        if not connected:
            self._lost(f"connection lost ({self.url})")

    # -- what the framer reports (see ``framing.FrameSink``) ------------------------------------------------------
    def _future(self) -> asyncio.Future[Any] | None:
        future = getattr(getattr(self._client, "ctx", None), "response_future", None)
        return future if future is not None and not future.done() else None

    def waiting(self) -> bool:
        """True while a request waits for its reply."""
        return self._future() is not None

    def garbled(self, detail: str) -> None:
        """Fail the waiting request with ``detail`` (called by the framer on an unusable frame)."""
        if (future := self._future()) is not None:
            future.set_exception(_GarbledFrame(detail))
        else:
            self.discarded += 1

    def stale(self, tid: int) -> None:
        """A reply that answers no waiting request: count it for the source whose request gave up."""
        self.stale_replies += 1
        self._silent = 0  # the device is alive, only slow: not a half-open socket
        self._last_end = time.monotonic()  # serial: the frame gap counts from this frame
        owner = next((o for o in self._owed if o[0] == tid), None) if tid else None
        if owner is None and self._owed and not tid:  # RTU: replies come in order, the oldest owed is paid
            owner = self._owed[0]
        if owner is not None:
            self._owed.remove(owner)
        counters = owner[1] if owner is not None else self._waiting
        if counters is not None:
            counters["stale_replies"] = counters.get("stale_replies", 0) + 1
        if not self._owed:
            self._owed_paid.set()

    # -- connect / close ----------------------------------------------------------------------------------------
    def _make_client(self, connect_timeout: float) -> Client:
        spec = self.spec
        common: dict[str, Any] = {
            "name": self.url,
            "reconnect_delay": 0,  # no auto-reconnect: the supervisor owns backoff
            "timeout": connect_timeout,
            "retries": 0,  # retries are ours, per request, so each attempt is counted
            "trace_connect": self._trace_connect,
        }
        client: Client
        if spec.is_serial:
            client = AsyncModbusSerialClient(
                spec.device,
                framer=FramerType.RTU,
                baudrate=spec.baudrate,
                bytesize=spec.bytesize,
                parity=spec.parity,
                stopbits=spec.stopbits,
                **common,
            )
        else:
            framer = FramerType.RTU if spec.rtu_framing else FramerType.SOCKET
            client = AsyncModbusTcpClient(spec.host, port=spec.port, framer=framer, **common)
        client.set_max_no_responses(2**31)  # pymodbus would otherwise close the socket after retries+3 silences
        client.ctx.framer = guarded_framer(spec.rtu_framing, self)
        return client

    async def open(self, connect_timeout: float) -> None:
        """Connect unless already connected (another source may have reconnected it); ``LinkDown`` on failure."""
        async with self._connect_lock:
            if self.closed:
                raise LinkDown(f"{self.url} is closed")
            if self.connected:
                return
            if self._client is not None:
                self._client.close()
                self._client = None
            client = self._make_client(connect_timeout)
            if not await client.connect():
                client.close()
                raise LinkDown(f"cannot connect to {self.url}: {await self._why_not(connect_timeout)}")
            self._client = client
            self.generation += 1
            self.connects += 1
            self.down_reason = None
            self._silent = 0
            self._owed.clear()  # late replies of the old connection cannot arrive on this one

    async def _why_not(self, timeout: float) -> str:
        """The OS's reason a connection fails (pymodbus only returns False)."""
        if self.spec.is_serial:
            import serial  # pyserial, a pymodbus serial dependency

            try:
                port = serial.serial_for_url(self.spec.device, do_not_open=True)
                port.open()
                port.close()
            except (serial.SerialException, OSError, ValueError) as exc:
                return str(exc)
            return "the port opened but pymodbus could not use it"
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.spec.host, self.spec.port), timeout)
        except TimeoutError:
            return f"no answer within {timeout:g} s"
        except OSError as exc:  # asyncio words it "Connect call failed"; the errno says why
            return os.strerror(exc.errno) if exc.errno else str(exc)
        writer.close()
        return "connection failed (it succeeded on a second try; the device may be refusing extra clients)"

    def drop(self, reason: str) -> None:
        """Close the connection because it is unusable; listeners hear ``reason``."""
        if self._client is not None:
            self._client.close()
        self._lost(reason)

    def close(self) -> None:
        """Close for good (the last source released it)."""
        self.closed = True
        if self._client is not None:
            self._client.close()
            self._client = None
        self._listeners.clear()

    # -- requests -----------------------------------------------------------------------------------------------
    async def execute(self, req: Request, *, timeout: float, retries: int, counters: Counters) -> ModbusPDU:
        """Run one request (waiting for the link's turn); raise a ``ModbusFault`` on any failure."""
        async with self._lock:
            return await self._run(req, timeout, retries, counters)

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[Callable[[Request, float, int, Counters], Awaitable[ModbusPDU]]]:
        """Hold the link for several requests in a row (read-modify-write); yields the request runner."""
        async with self._lock:
            yield self._run

    async def _run(self, req: Request, timeout: float, retries: int, counters: Counters) -> ModbusPDU:
        client = self._client
        if client is None or not client.connected:
            raise LinkDown(self.down_reason or f"not connected ({self.url})")
        attempts = 0
        while True:
            attempts += 1
            await self._quiet()
            try:
                resp = await self._attempt(client, req, timeout, counters)
            except _NoReply:
                # the reply may still come: remember whose it is (TCP by transaction id, RTU in order)
                self._owed.append((client.ctx.request_transaction_id, counters))
                self._late_window = timeout
                if attempts <= retries:
                    continue
                self._gave_up(req, timeout, attempts)
            self._silent = 0
            return check_reply(req, resp, counters)

    async def _quiet(self) -> None:
        """Serial lines and RTU framing: drop an owed late reply (no transaction id tells it apart), keep the gap."""
        if self.spec.rtu_framing and self._owed:
            self._owed_paid.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._late_window):
                    await self._owed_paid.wait()
            self._owed.clear()  # a reply later than this cannot be told from the next one's (see docs/modbus.md)
        if self.frame_gap:
            wait = self._last_end + self.frame_gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)

    async def _attempt(self, client: Client, req: Request, timeout: float, counters: Counters) -> ModbusPDU:
        """Send once and wait for the reply; ``_NoReply`` on a timeout, a ``ModbusFault`` on anything else."""
        counters["requests"] += 1
        client.ctx.comm_params.timeout_connect = timeout  # pymodbus uses it as the response timeout too
        self._waiting = counters
        try:
            return await CALLS[req.fc](client, req)
        except _GarbledFrame as exc:
            counters["garbled"] += 1
            raise Garbled(f"{exc} in reply to {req.describe()}") from None
        except ConnectionException:
            self._lost(f"connection lost ({self.url})")
            raise LinkDown(self.down_reason or f"connection lost ({self.url})") from None
        except ModbusIOException as exc:
            if not client.connected:
                self._lost(f"connection lost ({self.url})")
                raise LinkDown(self.down_reason or f"connection lost ({self.url})") from None
            if "No response received" not in str(exc):  # pymodbus: reply from another unit/transaction
                counters["garbled"] += 1
                raise Garbled(f"mismatched reply to {req.describe()}") from None
            counters["timeouts"] += 1
            raise _NoReply from None
        finally:
            self._waiting = None
            self._last_end = time.monotonic()

    def _gave_up(self, req: Request, timeout: float, attempts: int) -> None:
        """After the last attempt timed out: ``RequestTimeout``, or ``LinkDown`` when too many went unanswered."""
        self._silent += 1
        if not self.spec.is_serial and self.reconnect_after and self._silent >= self.reconnect_after:
            self.drop(f"no reply to {self._silent} requests in a row; reconnecting ({self.url})")
            raise LinkDown(self.down_reason or "no reply")
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        raise RequestTimeout(f"no reply within {timeout:g} s{tries} to {req.describe()}")

    def describe(self) -> dict[str, Any]:
        """State for the API."""
        return {
            "url": self.url,
            "connected": self.connected,
            "sources": self.users,
            "connects": self.connects,
            "down_reason": self.down_reason,
            "discarded_frames": self.discarded,
            "stale_replies": self.stale_replies,
        }


# -- the registry of shared links ---------------------------------------------------------------------------------

_LINKS: dict[tuple[str, str, int], Link] = {}


def acquire(spec: LinkSpec) -> Link:
    """The shared link of ``spec``'s endpoint (created on first use); pair every call with ``release``."""
    loop = asyncio.get_running_loop()
    link = _LINKS.get(spec.key)
    if link is not None and (link.loop is not loop or link.closed):
        link = None  # left over from another event loop
    if link is None:
        link = Link(spec, loop)
        _LINKS[spec.key] = link
    elif link.spec != spec:
        raise LinkConflict(
            f"{spec.device or spec.url()} is already in use as {link.url}; every source on one line must use the "
            f"same settings (got {spec.url()})"
        )
    link.users += 1
    return link


def release(link: Link) -> None:
    """Give a link back; the last user closes it."""
    link.users -= 1
    if link.users <= 0:
        link.close()
        if _LINKS.get(link.spec.key) is link:
            del _LINKS[link.spec.key]


def links() -> list[Link]:
    """Every open link (for tests and the API)."""
    return list(_LINKS.values())
