"""Shared Modbus connections: one pymodbus client per endpoint, used by every source that talks through it.

Many devices (and every serial bus and TCP-to-RTU gateway) accept a single master connection, so sources with
the same endpoint (``tcp://host:port``, ``rtu+tcp://host:port`` or a serial port) share one ``Link``. A link
runs one request at a time in arrival order (asyncio locks are FIFO, so the sources on a bus take turns) and
keeps a quiet gap between frames on serial lines. It never reconnects by itself: pymodbus' auto-reconnect is
off (``reconnect_delay=0``) and its own give-up-after-N-timeouts is disabled, so the gateway's supervisor owns
backoff. Every failure is turned into a ``ModbusFault`` whose ``status`` is an OPC UA status name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerRTU, FramerSocket, FramerType
from pymodbus.pdu import DecodePDU, ModbusPDU

from adapters.modbus.endpoint import LinkSpec

log = logging.getLogger(__name__)

Counters = dict[str, int | float]

# Modbus exception code -> (name from the specification, OPC UA status of the affected points)
EXCEPTIONS: dict[int, tuple[str, str]] = {
    1: ("IllegalFunction", "BadNotSupported"),
    2: ("IllegalDataAddress", "BadOutOfRange"),
    3: ("IllegalDataValue", "BadOutOfRange"),
    4: ("ServerDeviceFailure", "BadDeviceFailure"),
    5: ("Acknowledge", "BadWaitingForResponse"),
    6: ("ServerDeviceBusy", "BadResourceUnavailable"),
    7: ("NegativeAcknowledge", "BadDeviceFailure"),
    8: ("MemoryParityError", "BadDeviceFailure"),
    10: ("GatewayPathUnavailable", "BadNoCommunication"),
    11: ("GatewayTargetDeviceFailedToRespond", "BadTimeout"),
}


class ModbusFault(Exception):
    """Base of request failures; ``status`` is the OPC UA status name of the affected points."""

    status = "BadCommunicationError"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LinkDown(ModbusFault):
    """The connection is gone (or could not be opened): every source on it is disconnected."""

    status = "BadCommunicationError"


class LinkConflict(ModbusFault):
    """Two sources name the same serial port with different line settings."""

    status = "BadConfigurationError"


class RequestTimeout(ModbusFault):
    """The device did not answer (after the retries)."""

    status = "BadTimeout"


class Garbled(ModbusFault):
    """The reply could not be used: undecodable, wrong function, too short, CRC error, wrong unit id."""

    status = "BadCommunicationError"


class ExceptionReply(ModbusFault):
    """The device answered with a Modbus exception response."""

    def __init__(self, code: int, request: Request) -> None:
        name, status = EXCEPTIONS.get(code, (f"Exception{code}", "BadDeviceFailure"))
        super().__init__(f"Modbus exception {code} ({name}) to {request.describe()}")
        self.code = code
        self.name = name
        self.status = status


class _GarbledFrame(Exception):
    """Raised into pymodbus' pending response future when the framer meets a frame it cannot use."""


@dataclass(frozen=True, slots=True)
class Request:
    """One Modbus request: a function code, its address and either a count (reads) or values (writes)."""

    fc: int
    unit: int
    address: int
    count: int = 1
    values: tuple[int, ...] | tuple[bool, ...] = ()

    def describe(self) -> str:
        """``FC3 unit 1 address 100 count 10``."""
        what = f"count {self.count}" if self.fc in (1, 2, 3, 4) else f"{len(self.values)} value(s)"
        return f"FC{self.fc} unit {self.unit} address {self.address} {what}"


# function code -> the pymodbus client call (one lookup table for every request kind)
_CALLS: dict[int, Callable[[Any, Request], Awaitable[ModbusPDU]]] = {
    1: lambda c, r: c.read_coils(r.address, count=r.count, device_id=r.unit),
    2: lambda c, r: c.read_discrete_inputs(r.address, count=r.count, device_id=r.unit),
    3: lambda c, r: c.read_holding_registers(r.address, count=r.count, device_id=r.unit),
    4: lambda c, r: c.read_input_registers(r.address, count=r.count, device_id=r.unit),
    5: lambda c, r: c.write_coil(r.address, bool(r.values[0]), device_id=r.unit),
    6: lambda c, r: c.write_register(r.address, int(r.values[0]), device_id=r.unit),
    15: lambda c, r: c.write_coils(r.address, [bool(v) for v in r.values], device_id=r.unit),
    16: lambda c, r: c.write_registers(r.address, [int(v) for v in r.values], device_id=r.unit),
}


class _Guard:
    """Framer mix-in: a frame that cannot be used fails the waiting request at once instead of the connection.

    Unpatched, pymodbus raises out of ``data_received`` (asyncio then closes the socket) or silently drops the
    frame (the request then waits for its timeout).
    """

    link: Link | None = None

    def handleFrame(self, data: bytes, exp_devid: int, exp_tid: int) -> tuple[int, ModbusPDU | None]:
        try:
            return super().handleFrame(data, exp_devid, exp_tid)  # type: ignore[misc]
        except ModbusIOException:
            if self.link is not None:
                self.link.garbled("undecodable reply (wrong byte count or unknown function)")
            return len(data), None


class _GuardedSocket(_Guard, FramerSocket):
    """Modbus TCP (MBAP) framing with the guard."""


class _GuardedRTU(_Guard, FramerRTU):
    """RTU framing with the guard; a CRC failure is reported too."""

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        used, dev_id, tid, frame = super().decode(data)
        if used and not frame and self.link is not None:  # FramerRTU consumes a frame without payload on CRC error
            self.link.garbled("CRC error")
        return used, dev_id, tid, frame


class _QuietPymodbus(logging.Filter):
    """Drop pymodbus' per-request warnings: the adapter logs each fault once per state change instead."""

    _NOISE = (
        "No response received",
        "Failed to connect",
        "Cancel send",
        "Unable to decode",
        "ERROR: request ask for",
        "ERROR: received pdu without",
        "Not connected, trying to connect",
        "Invalid Modbus protocol id",
        "Repeating",  # pymodbus' own "same message again" marker
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL or not str(record.msg).startswith(self._NOISE)


_pymodbus_log = logging.getLogger("pymodbus.logging")
if not any(isinstance(f, _QuietPymodbus) for f in _pymodbus_log.filters):
    _pymodbus_log.addFilter(_QuietPymodbus())


def serial_frame_gap(baudrate: int) -> float:
    """The Modbus RTU inter-frame silence: 3.5 characters of 11 bits, 1.75 ms above 19200 baud."""
    return 0.00175 if baudrate > 19200 else 3.5 * 11 / baudrate


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
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._listeners: set[Callable[[str], None]] = set()
        self._last_end = 0.0
        self._silent = 0  # unanswered requests in a row
        self.discarded = 0  # unusable frames that arrived with no request waiting

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

    def garbled(self, detail: str) -> None:
        """Fail the waiting request with ``detail`` (called by the framer on an unusable frame)."""
        client = self._client
        future = getattr(getattr(client, "ctx", None), "response_future", None)
        if future is not None and not future.done():
            future.set_exception(_GarbledFrame(detail))
        else:
            self.discarded += 1

    # -- connect / close ----------------------------------------------------------------------------------------
    def _make_client(self, connect_timeout: float) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        spec = self.spec
        common: dict[str, Any] = {
            "name": self.url,
            "reconnect_delay": 0,  # no auto-reconnect: the supervisor owns backoff
            "timeout": connect_timeout,
            "retries": 0,  # retries are ours, per request, so each attempt is counted
            "trace_connect": self._trace_connect,
        }
        client: AsyncModbusTcpClient | AsyncModbusSerialClient
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
        guarded = (_GuardedRTU if spec.rtu_framing else _GuardedSocket)(DecodePDU(False))
        guarded.link = self
        client.ctx.framer = guarded
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
        if self.frame_gap:
            wait = self._last_end + self.frame_gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        attempts = 0
        while True:
            attempts += 1
            counters["requests"] += 1
            client.ctx.comm_params.timeout_connect = timeout  # pymodbus uses it as the response timeout too
            try:
                resp = await _CALLS[req.fc](client, req)
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
                if attempts <= retries:
                    continue
                self._silent += 1
                if not self.spec.is_serial and self.reconnect_after and self._silent >= self.reconnect_after:
                    self.drop(f"no reply to {self._silent} requests in a row; reconnecting ({self.url})")
                    raise LinkDown(self.down_reason or "no reply") from None
                tries = f" ({attempts} attempts)" if attempts > 1 else ""
                raise RequestTimeout(f"no reply within {timeout:g} s{tries} to {req.describe()}") from None
            finally:
                self._last_end = time.monotonic()
            self._silent = 0
            return self._check(req, resp, counters)

    @staticmethod
    def _check(req: Request, resp: ModbusPDU, counters: Counters) -> ModbusPDU:
        if resp.isError():
            counters["exceptions"] += 1
            raise ExceptionReply(int(getattr(resp, "exception_code", 0)), req)
        problem = None
        if resp.function_code != req.fc:
            problem = f"reply has function code {resp.function_code}"
        elif req.fc in (3, 4) and len(resp.registers) < req.count:
            problem = f"reply holds {len(resp.registers)} registers"
        elif req.fc in (1, 2) and len(resp.bits) < req.count:
            problem = f"reply holds {len(resp.bits)} bits"
        if problem is not None:
            counters["garbled"] += 1
            raise Garbled(f"{problem} (asked {req.describe()})")
        counters["responses"] += 1
        return resp

    def describe(self) -> dict[str, Any]:
        """State for the API."""
        return {
            "url": self.url,
            "connected": self.connected,
            "sources": self.users,
            "connects": self.connects,
            "down_reason": self.down_reason,
            "discarded_frames": self.discarded,
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
