"""Framing on top of pymodbus: which received frame answers the waiting request, and what becomes of the rest.

pymodbus hands every received frame to whichever request waits. The framers here pass on only a reply to the
waiting request; a frame that arrives with no request waiting, from another unit, or (Modbus TCP) with another
transaction id is a stale reply to a request that already gave up, and is discarded and reported to the link.
A frame that cannot be used fails the waiting request at once; unpatched, pymodbus raises out of
``data_received`` (asyncio then closes the socket) or silently drops the frame (the request then times out).
"""

from __future__ import annotations

import logging
from typing import Protocol

from pymodbus.framer import FramerRTU, FramerSocket
from pymodbus.pdu import DecodePDU, ModbusPDU


class FrameSink(Protocol):
    """What the framers tell the link."""

    def waiting(self) -> bool:
        """True while a request waits for its reply."""
        ...

    def garbled(self, detail: str) -> None:
        """A frame could not be used."""
        ...

    def stale(self, tid: int) -> None:
        """A whole reply arrived that answers no waiting request (``tid`` 0 on RTU)."""
        ...


class _Guard:
    """Framer mix-in: stale replies are discarded, unusable frames fail the waiting request."""

    sink: FrameSink | None = None

    def handleFrame(self, data: bytes, exp_devid: int, exp_tid: int) -> tuple[int, ModbusPDU | None]:
        """pymodbus' loop over the frames in ``data``, with the stale-reply filter before decoding the PDU."""
        decoder: DecodePDU = self.decoder  # type: ignore[attr-defined]  # both come from the pymodbus framer
        decode = self.decode  # type: ignore[attr-defined]
        used = 0
        while used < len(data):
            size, dev_id, tid, frame = decode(data[used:])
            used += size
            if not size or not frame:
                break
            sink = self.sink
            if sink is not None and (
                not sink.waiting() or (exp_devid and dev_id != exp_devid) or (exp_tid and tid and tid != exp_tid)
            ):
                sink.stale(tid)
                continue
            if (pdu := decoder.decode(frame)) is None:
                if sink is not None:
                    sink.garbled("undecodable reply (wrong byte count or unknown function)")
                return len(data), None
            pdu.dev_id = dev_id
            pdu.transaction_id = tid
            return used, pdu
        return used, None


class _GuardedSocket(_Guard, FramerSocket):
    """Modbus TCP (MBAP) framing with the guard."""


class _GuardedRTU(_Guard, FramerRTU):
    """RTU framing with the guard; a CRC failure is reported too."""

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        used, dev_id, tid, frame = super().decode(data)
        if used and not frame and self.sink is not None:  # FramerRTU consumes a frame without payload on CRC error
            self.sink.garbled("CRC error")
        return used, dev_id, tid, frame


def guarded_framer(rtu: bool, sink: FrameSink) -> FramerRTU | FramerSocket:
    """The framer a client of ``sink`` uses instead of pymodbus' own."""
    framer = (_GuardedRTU if rtu else _GuardedSocket)(DecodePDU(False))
    framer.sink = sink
    return framer


def serial_frame_gap(baudrate: int) -> float:
    """The Modbus RTU inter-frame silence: 3.5 characters of 11 bits, 1.75 ms above 19200 baud."""
    return 0.00175 if baudrate > 19200 else 3.5 * 11 / baudrate


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
