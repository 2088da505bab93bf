"""Pure conversions between Modbus registers and values: encodings, byte/word orders, bits and strings.

No I/O here. Byte orders name the four bytes of a 32-bit value as the device sends them, most significant
first for ``ABCD`` (Modbus' own big-endian convention). ``CDAB`` swaps the 16-bit words (for 64-bit values every
word is reversed: GH EF CD AB), ``BADC`` swaps the two bytes inside each register, ``DCBA`` does both.
Strings only use the byte swap: the registers of a string are always read first to last.
"""

from __future__ import annotations

import enum
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from adapters.contract.precision import float32_shortest
from adapters.contract.sample import Value


class Encoding(enum.StrEnum):
    """How a point's value is stored in the device."""

    BOOL = "bool"  # a coil/discrete input, or a register read as "non-zero"
    BIT = "bit"  # one bit of a register
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"


class ByteOrder(enum.StrEnum):
    """Byte and word order of multi-byte values."""

    ABCD = "ABCD"  # big-endian words, big-endian bytes (the Modbus default)
    CDAB = "CDAB"  # word swap ("little-endian word order"), common on meters and PLCs
    BADC = "BADC"  # byte swap inside each register
    DCBA = "DCBA"  # fully little-endian

    @property
    def swap_words(self) -> bool:
        """True when the least significant register comes first."""
        return self in (ByteOrder.CDAB, ByteOrder.DCBA)

    @property
    def swap_bytes(self) -> bool:
        """True when the low byte of each register comes first."""
        return self in (ByteOrder.BADC, ByteOrder.DCBA)


class EncodeError(ValueError):
    """A value cannot be written with an encoding; ``status`` is the OPC UA status name to report."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# encoding -> (struct code, registers); one lookup table drives both directions
_NUMERIC: dict[Encoding, tuple[str, int]] = {
    Encoding.INT16: ("h", 1),
    Encoding.UINT16: ("H", 1),
    Encoding.INT32: ("i", 2),
    Encoding.UINT32: ("I", 2),
    Encoding.INT64: ("q", 4),
    Encoding.UINT64: ("Q", 4),
    Encoding.FLOAT32: ("f", 2),
    Encoding.FLOAT64: ("d", 4),
}

INT_RANGES: dict[Encoding, tuple[int, int]] = {
    Encoding.INT16: (-(2**15), 2**15 - 1),
    Encoding.UINT16: (0, 2**16 - 1),
    Encoding.INT32: (-(2**31), 2**31 - 1),
    Encoding.UINT32: (0, 2**32 - 1),
    Encoding.INT64: (-(2**63), 2**63 - 1),
    Encoding.UINT64: (0, 2**64 - 1),
}

FLOAT_ENCODINGS = frozenset({Encoding.FLOAT32, Encoding.FLOAT64})
BIT_ENCODINGS = frozenset({Encoding.BOOL, Encoding.BIT})


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """Everything needed to decode one point from its registers (or bits) and to encode it back."""

    encoding: Encoding
    order: ByteOrder = ByteOrder.ABCD
    bit: int | None = None  # Encoding.BIT: 0 = least significant bit of the register
    length: int | None = None  # Encoding.STRING: bytes

    @property
    def count(self) -> int:
        """Registers this value occupies (1 for bits and single-register values)."""
        return register_count(self.encoding, self.length)


def register_count(encoding: Encoding, length: int | None = None) -> int:
    """Registers a value of ``encoding`` occupies; strings hold two bytes per register."""
    if encoding is Encoding.STRING:
        return max(1, ((length or 0) + 1) // 2)
    if encoding in _NUMERIC:
        return _NUMERIC[encoding][1]
    return 1


def registers_to_bytes(regs: Sequence[int], order: ByteOrder) -> bytes:
    """The value's bytes, most significant first, from registers as the device sent them."""
    words = list(reversed(regs)) if order.swap_words else list(regs)
    data = b"".join(w.to_bytes(2, "big") for w in words)
    return _swap_pairs(data) if order.swap_bytes else data


def bytes_to_registers(data: bytes, order: ByteOrder) -> list[int]:
    """Registers to send for a value's bytes (most significant first); the inverse of ``registers_to_bytes``."""
    if order.swap_bytes:
        data = _swap_pairs(data)
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return list(reversed(words)) if order.swap_words else words


def _swap_pairs(data: bytes) -> bytes:
    out = bytearray(data)
    out[0::2], out[1::2] = data[1::2], data[0::2]
    return bytes(out)


# -- decoding --------------------------------------------------------------------------------------------------


def _decode_numeric(spec: ValueSpec, regs: Sequence[int]) -> Value:
    code, _ = _NUMERIC[spec.encoding]
    value = struct.unpack(">" + code, registers_to_bytes(regs, spec.order))[0]
    if spec.encoding is Encoding.FLOAT32:
        return float32_shortest(value)  # the register's 51.8, not its double widening 51.79999923706055
    return float(value) if spec.encoding in FLOAT_ENCODINGS else int(value)


def _register_uint16(spec: ValueSpec, reg: int) -> int:
    # a byte-swapped device stores the low byte first even in a single register
    return ((reg & 0xFF) << 8 | reg >> 8) if spec.order.swap_bytes else reg


def _decode_bool(spec: ValueSpec, regs: Sequence[int]) -> Value:
    return _register_uint16(spec, regs[0]) != 0


def _decode_bit(spec: ValueSpec, regs: Sequence[int]) -> Value:
    return bool((_register_uint16(spec, regs[0]) >> (spec.bit or 0)) & 1)


def _decode_string(spec: ValueSpec, regs: Sequence[int]) -> Value:
    data = b"".join(r.to_bytes(2, "big") for r in regs)
    if spec.order.swap_bytes:
        data = _swap_pairs(data)
    data = data[: spec.length] if spec.length else data
    # C-style: the first NUL ends the text; devices pad with NULs or spaces
    return data.split(b"\x00", 1)[0].decode("utf-8", errors="replace").rstrip(" ")


_DECODERS: dict[Encoding, Callable[[ValueSpec, Sequence[int]], Value]] = {
    Encoding.BOOL: _decode_bool,
    Encoding.BIT: _decode_bit,
    Encoding.STRING: _decode_string,
    **dict.fromkeys(_NUMERIC, _decode_numeric),
}


def decode(spec: ValueSpec, regs: Sequence[int]) -> Value:
    """The value held in ``regs`` (exactly ``spec.count`` registers, as received)."""
    return _DECODERS[spec.encoding](spec, regs)


# -- encoding --------------------------------------------------------------------------------------------------


def to_int(value: Value, encoding: Encoding) -> int:
    """``value`` as an integer that fits ``encoding``: floats are rounded half away from zero."""
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise EncodeError("BadOutOfRange", f"{value} cannot be written as {encoding.value}")
        number = int(math.copysign(math.floor(abs(value) + 0.5), value))
    else:
        raise EncodeError("BadTypeMismatch", f"{value!r} is not a number ({encoding.value} register)")
    lo, hi = INT_RANGES[encoding]
    if not lo <= number <= hi:
        raise EncodeError("BadOutOfRange", f"{value} does not fit {encoding.value} ({lo}..{hi})")
    return number


def _encode_numeric(spec: ValueSpec, value: Value) -> list[int]:
    code, _ = _NUMERIC[spec.encoding]
    if spec.encoding in FLOAT_ENCODINGS:
        if isinstance(value, str) or value is None:
            raise EncodeError("BadTypeMismatch", f"{value!r} is not a number ({spec.encoding.value} register)")
        try:
            data = struct.pack(">" + code, float(value))
        except OverflowError:
            raise EncodeError("BadOutOfRange", f"{value} does not fit {spec.encoding.value}") from None
    else:
        data = struct.pack(">" + code, to_int(value, spec.encoding))
    return bytes_to_registers(data, spec.order)


def _encode_bool(spec: ValueSpec, value: Value) -> list[int]:
    if value is None or isinstance(value, str):
        raise EncodeError("BadTypeMismatch", f"{value!r} is not a boolean")
    return [_register_uint16(spec, 1 if value else 0)]


def _encode_string(spec: ValueSpec, value: Value) -> list[int]:
    if not isinstance(value, str):
        raise EncodeError("BadTypeMismatch", f"{value!r} is not a string")
    data = value.encode("utf-8")
    room = spec.length or 0
    if len(data) > room:
        raise EncodeError("BadOutOfRange", f"'{value}' is {len(data)} bytes; the register field holds {room}")
    data = data.ljust(spec.count * 2, b"\x00")
    if spec.order.swap_bytes:
        data = _swap_pairs(data)
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


_ENCODERS: dict[Encoding, Callable[[ValueSpec, Value], list[int]]] = {
    Encoding.BOOL: _encode_bool,
    Encoding.STRING: _encode_string,
    **dict.fromkeys(_NUMERIC, _encode_numeric),
}


def encode(spec: ValueSpec, value: Value) -> list[int]:
    """Registers to write for ``value``; ``EncodeError`` when it does not fit. Bits use ``set_bit``."""
    encoder = _ENCODERS.get(spec.encoding)
    if encoder is None:
        raise EncodeError("BadNotSupported", f"{spec.encoding.value} values are written with set_bit")
    return encoder(spec, value)


def set_bit(spec: ValueSpec, register: int, value: Value) -> int:
    """``register`` (as received) with the spec's bit set or cleared (read-modify-write of one bit)."""
    if value is None or isinstance(value, str):
        raise EncodeError("BadTypeMismatch", f"{value!r} is not a boolean")
    logical = _register_uint16(spec, register)
    mask = 1 << (spec.bit or 0)
    logical = logical | mask if value else logical & ~mask
    return _register_uint16(spec, logical)


def to_coil(value: Value) -> bool:
    """A coil's state from a written value (bools, 0/1 numbers)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise EncodeError("BadTypeMismatch", f"{value!r} is not a coil state (true/false or 0/1)")
