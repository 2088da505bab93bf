"""Config-time checks of Modbus points: encoding against datatype, request limits, overlaps and holes.

These run when a mapping is loaded (``twinbridge validate`` and start-up), so an integrator sees every problem
with its file and line before anything connects.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.contract.model import DataType, Point
from adapters.modbus.codec import BIT_ENCODINGS, FLOAT_ENCODINGS, INT_RANGES, Encoding
from adapters.modbus.config import ModbusAddress, ModbusSourceConfig, default_encoding

_FLOAT_TYPES = (DataType.FLOAT, DataType.DOUBLE)


def resolve_encoding(addr: ModbusAddress, datatype: DataType) -> Encoding:
    """The point's encoding, explicit or implied by its datatype; ``ValueError`` says what to write instead."""
    if addr.encoding is not None:
        return addr.encoding
    implied = default_encoding(addr.is_bit_table, datatype.value)
    if implied is not None:
        return implied
    if datatype in _FLOAT_TYPES:
        raise ValueError(
            f"a {datatype.value} point on a {addr.kind.value} register needs an encoding: float32/float64 when "
            "the device stores floats, or int16/uint16/int32... when it stores scaled integers (then add "
            "transform: {scale: ...})"
        )
    if datatype is DataType.BOOL:
        raise ValueError(
            "a bool point on a register needs encoding: bit (with bit: 0-15) or encoding: bool (non-zero is true)"
        )
    raise ValueError("a string point needs encoding: string and length: (bytes)")


def encoding_problems(enc: Encoding, point: Point) -> list[str]:
    """Why values of ``enc`` cannot be stored in the point's datatype (empty when they can)."""
    dt = point.datatype
    if enc in BIT_ENCODINGS:
        if dt is not DataType.BOOL and dt.int_range is None:
            return [f"encoding {enc.value} reads a boolean but the point's datatype is {dt.value} (use bool)"]
        return []
    if enc is Encoding.STRING:
        return [] if dt is DataType.STRING else [f"encoding string needs datatype: string (got {dt.value})"]
    if dt is DataType.STRING:
        return [f"datatype string needs encoding: string (got {enc.value})"]
    if dt is DataType.BOOL:
        return [f"encoding {enc.value} is a number; a bool point needs encoding bit (with bit:) or bool"]
    if not point.transform.is_identity or dt in _FLOAT_TYPES:
        return []  # floats hold any register value; a transform may bring values into range
    if enc in FLOAT_ENCODINGS:
        return [f"{enc.value} values would be rounded into a {dt.value} point (use datatype float or double)"]
    lo, hi = INT_RANGES[enc]
    dlo, dhi = dt.int_range or (lo, hi)
    if lo < dlo or hi > dhi:
        return [
            f"{enc.value} values ({lo}..{hi}) do not all fit a {dt.value} point ({dlo}..{dhi}); use a wider "
            "datatype or the matching encoding"
        ]
    return []


def check_point(config: ModbusSourceConfig, point: Point) -> list[str]:
    """Problems of one point on a Modbus source."""
    addr = point.address
    if not isinstance(addr, ModbusAddress):
        return [f"not a Modbus address: {addr!r}"]
    try:
        enc = resolve_encoding(addr, point.datatype)
    except ValueError as exc:
        return [str(exc)]
    problems = encoding_problems(enc, point)
    count = addr.count(enc)
    if not addr.is_bit_table and count > config.max_registers:
        problems.append(
            f"the value spans {count} registers but source {config.id} reads at most {config.max_registers}"
        )
    if addr.write_mode is not None and not addr.writable():
        problems.append(f"write_mode has no meaning on a read-only {addr.kind.value} point")
    return problems


def check_source(config: ModbusSourceConfig, points: Sequence[Point]) -> list[tuple[str | None, str]]:
    """Points inside declared holes, and points whose registers partly overlap (a classic off-by-one)."""
    out: list[tuple[str | None, str]] = []
    spans: dict[tuple[int, str], list[tuple[int, int, Point, Encoding | None]]] = {}
    for p in points:
        addr = p.address
        if not isinstance(addr, ModbusAddress):
            continue
        unit = config.unit if addr.unit is None else addr.unit
        try:
            enc: Encoding | None = resolve_encoding(addr, p.datatype)
        except ValueError:
            enc = None  # reported by check_point
        first, last = addr.start, addr.start + addr.count(enc) - 1
        for h in config.holes:
            if h.table is addr.kind and (h.unit is None or h.unit == unit) and first <= h.end and h.start <= last:
                out.append((p.id, f"{addr.kind.value} {first}-{last} lies in a declared hole ({h.start}-{h.end})"))
        spans.setdefault((unit, addr.kind.value), []).append((first, last, p, enc))
    for (unit, table), members in spans.items():
        members.sort(key=lambda m: (m[0], m[1]))
        active: list[tuple[int, int, Point, Encoding | None]] = []
        for m in members:
            first, last, p, enc = m
            active = [a for a in active if a[1] >= first]
            for a_first, a_last, other, other_enc in active:
                if _overlap_ok((a_first, a_last, other, other_enc), m):
                    continue
                out.append(
                    (
                        p.id,
                        f"unit {unit} {table} {first}-{last} partly overlaps point {other.id} ({a_first}-{a_last}); "
                        "check the addresses, or set overlap: true on the point if it is intended",
                    )
                )
                break
            active.append(m)
    return out


def _overlap_ok(a: tuple[int, int, Point, Encoding | None], b: tuple[int, int, Point, Encoding | None]) -> bool:
    """Same registers read two ways, bits of a register, or an explicit ``overlap: true`` are fine."""
    if (a[0], a[1]) == (b[0], b[1]):
        return True
    if Encoding.BIT in (a[3], b[3]):
        return True
    return any(isinstance(x[2].address, ModbusAddress) and x[2].address.overlap for x in (a, b))
