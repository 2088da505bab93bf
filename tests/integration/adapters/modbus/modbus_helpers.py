"""A real pymodbus server for the Modbus adapter tests, with a datastore that can misbehave on demand.

``DeviceStore`` holds the four tables of any number of unit ids and can refuse addresses (illegal data
address), answer chosen units with an exception code, stay silent for a unit (timeouts), delay replies, and
garble outgoing frames. ``ModbusTestServer`` runs it as a TCP, RTU-over-TCP or serial (pty) server and can be
stopped and restarted on the same port. Run as a script it serves one store in its own process (killable).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerRTU, FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

_TABLE_OF_FC = {
    1: "coil",
    5: "coil",
    15: "coil",
    2: "discrete_input",
    3: "holding",
    6: "holding",
    16: "holding",
    4: "input",
}
SIZE = 2000  # addresses 0..SIZE-1 exist in every table unless refused


@dataclass
class DeviceStore(ModbusServerContext):
    """Tables of several unit ids, plus fault switches the tests flip while the server runs."""

    units: set[int] = field(default_factory=lambda: {1})
    values: dict[tuple[int, str, int], int] = field(default_factory=dict)
    missing: set[tuple[int, str, int]] = field(default_factory=set)  # -> IllegalDataAddress
    fail_units: dict[int, int] = field(default_factory=dict)  # unit -> exception code for every request
    silent_units: set[int] = field(default_factory=set)  # never answer (client times out)
    delay: float = 0.0  # a TCP client that times out and sends again gets mislabeled tids: see slow_device.py
    delays: list[float] = field(default_factory=list)  # delays of the next requests, in order; then ``delay``
    garble: str | None = None  # "byte_count" | "function" | "tid" | "crc"
    requests: list[tuple[int, int, int, int]] = field(default_factory=list)  # (unit, fc, address, count)
    _busy: asyncio.Lock = field(default_factory=asyncio.Lock)  # one request at a time, like a real device

    def __post_init__(self) -> None:
        # skip ModbusServerContext.__init__ (deprecated path); the server only needs these two attributes
        self.old_simulator = True
        self.simdevices: list[Any] = []

    # -- test API ------------------------------------------------------------------------------------------------
    def set(self, unit: int, table: str, address: int, *regs: int) -> None:
        """Store registers (or bits as 0/1) from ``address`` on."""
        for i, v in enumerate(regs):
            self.values[(unit, table, address + i)] = int(v)

    def get(self, unit: int, table: str, address: int, count: int = 1) -> list[int]:
        """Registers (or bits) as stored."""
        return [self.values.get((unit, table, address + i), 0) for i in range(count)]

    def refuse(self, unit: int, table: str, first: int, last: int | None = None) -> None:
        """Answer IllegalDataAddress for any request touching [first, last]."""
        for a in range(first, (first if last is None else last) + 1):
            self.missing.add((unit, table, a))

    def fcs(self) -> list[int]:
        """Function codes received, in order."""
        return [r[1] for r in self.requests]

    # -- pymodbus datastore interface ---------------------------------------------------------------------------
    def device_ids(self) -> list[int]:
        return sorted(self.units)

    async def _check(self, unit: int, fc: int, address: int, count: int) -> ExcCodes | None:
        if unit in self.silent_units or unit not in self.units:
            raise NoSuchIdException(f"unit {unit}")  # with ignore_missing_devices: no reply at all
        if delay := self.delays.pop(0) if self.delays else self.delay:
            await asyncio.sleep(delay)
        if unit in self.fail_units:
            return ExcCodes(self.fail_units[unit])
        table = _TABLE_OF_FC[fc]
        if address + count > SIZE or any((unit, table, address + i) in self.missing for i in range(count)):
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    async def async_getValues(self, device_id: int, func_code: int, address: int, count: int = 1) -> Any:
        async with self._busy:
            if (err := await self._check(device_id, func_code, address, count)) is not None:
                return err
            vals = self.get(device_id, _TABLE_OF_FC[func_code], address, count)
            return [bool(v) for v in vals] if func_code in (1, 2, 5, 15) else vals

    async def async_setValues(self, device_id: int, func_code: int, address: int, values: Any) -> Any:
        async with self._busy:
            if (err := await self._check(device_id, func_code, address, len(values))) is not None:
                return err
            self.set(device_id, _TABLE_OF_FC[func_code], address, *[int(v) for v in values])
            return None

    # -- server hooks --------------------------------------------------------------------------------------------
    def trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            count = getattr(pdu, "count", 0) or len(getattr(pdu, "registers", []) or getattr(pdu, "bits", []))
            self.requests.append((pdu.dev_id, pdu.function_code, pdu.address, count))
        return pdu

    def trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending or self.garble is None:
            return data
        out = bytearray(data)
        rtu = self._rtu
        fc_at = 1 if rtu else 7
        if self.garble == "byte_count" and out[fc_at] in (1, 2, 3, 4):
            out[fc_at + 1] = 0xF0  # claims more bytes than the frame holds
        elif self.garble == "function":
            out[fc_at] = 4 if out[fc_at] == 3 else 3
        elif self.garble == "tid" and not rtu:
            out[0] ^= 0x55
        elif self.garble == "crc" and rtu:
            out[-1] ^= 0xFF
            return bytes(out)
        if rtu:  # keep the CRC right so only the content is wrong
            body = bytes(out[:-2])
            out[-2:] = FramerRTU.compute_CRC(body).to_bytes(2, "big")
        return bytes(out)

    _rtu: bool = False


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ModbusTestServer:
    """A pymodbus server around a store: ``tcp``, ``rtu+tcp`` or ``rtu`` (serial device path)."""

    def __init__(self, store: DeviceStore, mode: str = "tcp", *, port: int | None = None, device: str = "") -> None:
        self.store = store
        self.mode = mode
        self.port = port or free_port()
        self.device = device
        self.server: ModbusTcpServer | ModbusSerialServer | None = None
        store._rtu = mode != "tcp"

    @property
    def url(self) -> str:
        """The source url the adapter should use."""
        return f"rtu://{self.device}" if self.mode == "rtu" else f"{self.mode}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (again, on the same port)."""
        common: dict[str, Any] = {
            "ignore_missing_devices": True,
            "trace_pdu": self.store.trace_pdu,
            "trace_packet": self.store.trace_packet,
        }
        if self.mode == "rtu":
            self.server = ModbusSerialServer(
                self.store, framer=FramerType.RTU, port=self.device, baudrate=115200, **common
            )
        else:
            framer = FramerType.SOCKET if self.mode == "tcp" else FramerType.RTU
            self.server = ModbusTcpServer(self.store, framer=framer, address=("127.0.0.1", self.port), **common)
        await self.server.serve_forever(background=True)

    async def stop(self) -> None:
        """Close the listener and every client connection."""
        if self.server is not None:
            await self.server.shutdown()
            self.server = None


class PtyPair:
    """Two linked pseudo-terminals from ``socat`` (a null-modem cable)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tb-pty-"))
        self.client = str(self.dir / "client")
        self.server = str(self.dir / "server")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 5.0) -> None:
        """Start socat and wait for both links."""
        socat = shutil.which("socat")
        assert socat, "socat is needed for the RTU tests"
        self.proc = subprocess.Popen(
            [socat, f"pty,raw,echo=0,link={self.client}", f"pty,raw,echo=0,link={self.server}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not (os.path.exists(self.client) and os.path.exists(self.server)):
            assert time.monotonic() < deadline, "socat did not create the ptys"
            time.sleep(0.01)

    def unplug(self) -> None:
        """Kill socat: both ends vanish, like a pulled USB adapter (``start`` plugs it back)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        """Unplug and remove the links."""
        self.unplug()
        shutil.rmtree(self.dir, ignore_errors=True)


class ServerProcess:
    """This module run as a script: a TCP server in its own process, killable with SIGKILL."""

    def __init__(self, port: int, units: str = "1", preset: str = "") -> None:
        self.port = port
        self.args = [sys.executable, __file__, "--port", str(port), "--units", units, "--preset", preset]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until the port accepts connections."""
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            assert self.proc.poll() is None, "the server process died"
            assert time.monotonic() < deadline, "the server process did not listen in time"
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: the device vanishes without closing anything."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None


def parse_preset(text: str) -> list[tuple[int, str, int, int]]:
    """``unit:table:address=value,...`` -> tuples."""
    out = []
    for part in filter(None, text.split(",")):
        where, value = part.split("=")
        unit, table, address = where.split(":")
        out.append((int(unit), table, int(address), int(value)))
    return out


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``cond`` until true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.01)


def modbus_point(
    pid: str, datatype: str = "int16", *, source: str = "m", writable: bool = False, **address: Any
) -> Any:
    """A point on a Modbus source (no loader needed)."""
    from adapters.contract.model import DataType, Point, PointKind
    from adapters.modbus.config import ModbusAddress

    return Point(
        id=pid,
        asset=pid.split(".", maxsplit=1)[0],
        kind=PointKind.SETPOINT if writable else PointKind.MEASUREMENT,
        datatype=DataType(datatype),
        source=source,
        address=ModbusAddress.model_validate(address),
        label=pid,
        writable=writable,
    )


class Runner:
    """Drives one adapter the way the gateway's supervisor does: start, pump samples, restart after a loss."""

    def __init__(self, adapter: Any, retry: float = 0.05) -> None:
        self.adapter = adapter
        self.retry = retry
        self.latest: dict[str, Any] = {}
        self.samples: list[Any] = []
        self.disconnects: list[str] = []
        self.unavailable: list[str] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> Runner:
        """Run in the background."""
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        from adapters.contract.adapter import AdapterDisconnected, AdapterUnavailable
        from adapters.contract.sample import Sample

        while True:
            try:
                await self.adapter.start()
            except AdapterUnavailable as exc:
                self.unavailable.append(exc.reason)
                await asyncio.sleep(self.retry)
                continue
            try:
                async for s in self.adapter.samples():
                    self.latest[s.point] = s
                    self.samples.append(s)
            except AdapterDisconnected as exc:
                self.disconnects.append(exc.reason)
                for pid in self.adapter.points:  # what the supervisor does
                    self.latest[pid] = Sample.bad(pid, exc.status, exc.reason)
            await self.adapter.stop()
            await asyncio.sleep(self.retry)

    def value(self, pid: str) -> Any:
        """The last value of a point (None when absent or Bad)."""
        s = self.latest.get(pid)
        return None if s is None else s.value

    def status(self, pid: str) -> str | None:
        """The last status name of a point."""
        s = self.latest.get(pid)
        return None if s is None else s.status

    def good(self, *pids: str) -> bool:
        """True when every point's last sample is Good."""
        return all(self.status(p) == "Good" for p in pids)

    async def stop(self) -> None:
        """Cancel the loop and stop the adapter."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.adapter.stop()


async def _serve(port: int, units: str, preset: str) -> None:
    store = DeviceStore(units={int(u) for u in units.split(",")})
    for unit, table, address, value in parse_preset(preset):
        store.set(unit, table, address, value)
    server = ModbusTestServer(store, port=port)
    await server.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--units", default="1")
    ap.add_argument("--preset", default="")
    a = ap.parse_args()
    asyncio.run(_serve(a.port, a.units, a.preset))
