"""Modbus requests, the pymodbus call of each function code, and every way a request can fail.

Every failure is a ``ModbusFault`` whose ``status`` is the OPC UA status name of the points it affects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.pdu import ModbusPDU

from adapters.contract.status import StatusError

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
CALLS: dict[int, Callable[[Any, Request], Awaitable[ModbusPDU]]] = {
    1: lambda c, r: c.read_coils(r.address, count=r.count, device_id=r.unit),
    2: lambda c, r: c.read_discrete_inputs(r.address, count=r.count, device_id=r.unit),
    3: lambda c, r: c.read_holding_registers(r.address, count=r.count, device_id=r.unit),
    4: lambda c, r: c.read_input_registers(r.address, count=r.count, device_id=r.unit),
    5: lambda c, r: c.write_coil(r.address, bool(r.values[0]), device_id=r.unit),
    6: lambda c, r: c.write_register(r.address, int(r.values[0]), device_id=r.unit),
    15: lambda c, r: c.write_coils(r.address, [bool(v) for v in r.values], device_id=r.unit),
    16: lambda c, r: c.write_registers(r.address, [int(v) for v in r.values], device_id=r.unit),
}


class ModbusFault(StatusError):
    """Base of request failures; ``status`` is the OPC UA status name of the affected points."""

    status = "BadCommunicationError"

    def __init__(self, reason: str) -> None:
        super().__init__(self.status, reason)


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


def check_reply(req: Request, resp: ModbusPDU, counters: Counters) -> ModbusPDU:
    """``resp`` if it answers ``req``; else ``ExceptionReply`` or ``Garbled`` (counted)."""
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
