"""Points resolved against their source: where each one is read, how it is decoded, and how it is written.

A ``Binding`` is what the adapter keeps per point; ``write`` turns a raw value into the Modbus requests of the
point's table, encoding and write mode and sends them on the source's link.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.contract.model import Point
from adapters.contract.sample import Value
from adapters.modbus import checks
from adapters.modbus.blocks import Block, Item
from adapters.modbus.codec import Encoding, ValueSpec, encode, set_bit, to_coil
from adapters.modbus.config import TABLES, ModbusAddress, ModbusSourceConfig, Table
from adapters.modbus.protocol import Counters, Request
from adapters.modbus.transport import Link


@dataclass(frozen=True, slots=True)
class Binding:
    """A point resolved against its source: where to read it, how to decode it, how often."""

    point: str
    unit: int
    table: Table
    start: int
    spec: ValueSpec
    interval: float
    timeout: float
    retries: int
    write_mode: str  # auto | single | multiple

    @property
    def item(self) -> Item:
        """The planner's view."""
        return Item(
            self.point, self.unit, self.table, self.start, self.spec.count if not TABLES[self.table].is_bit else 1
        )


@dataclass(slots=True)
class PollGroup:
    """The blocks read every ``interval`` seconds."""

    interval: float
    blocks: list[Block]
    due: float = 0.0


def bind(cfg: ModbusSourceConfig, p: Point) -> Binding:
    """Resolve ``p`` with the source's defaults; ``ValueError`` when its encoding does not fit its datatype."""
    addr = p.address
    assert isinstance(addr, ModbusAddress)
    enc = checks.resolve_encoding(addr, p.datatype)
    return Binding(
        p.id,
        cfg.unit if addr.unit is None else addr.unit,
        addr.kind,
        addr.start,
        addr.spec(enc, cfg.byte_order),
        addr.poll_interval or cfg.poll_interval,
        addr.timeout or cfg.timeout,
        cfg.retries if addr.retries is None else addr.retries,
        addr.write_mode or cfg.write_mode,
    )


async def write(link: Link, b: Binding, value: Value, c: Counters) -> None:
    """Encode ``value`` and write it with FC5/6/15/16; ``EncodeError`` or a ``ModbusFault`` on failure."""
    t, r = b.timeout, b.retries
    if b.table is Table.COIL:
        fc = 15 if b.write_mode == "multiple" else 5
        await link.execute(Request(fc, b.unit, b.start, values=(to_coil(value),)), timeout=t, retries=r, counters=c)
        return
    if b.spec.encoding is Encoding.BIT:  # read-modify-write, holding the link so no other request interleaves
        async with link.exclusive() as run:
            resp = await run(Request(3, b.unit, b.start, 1), t, r, c)
            reg = set_bit(b.spec, resp.registers[0], value)
            await run(Request(16 if b.write_mode == "multiple" else 6, b.unit, b.start, values=(reg,)), t, r, c)
        return
    regs = encode(b.spec, value)
    if b.write_mode == "multiple" or (b.write_mode == "auto" and len(regs) > 1):
        await link.execute(Request(16, b.unit, b.start, values=tuple(regs)), timeout=t, retries=r, counters=c)
        return
    async with link.exclusive() as run:  # FC6 only: one register at a time, back to back
        for n, reg in enumerate(regs):
            await run(Request(6, b.unit, b.start + n, values=(reg,)), t, r, c)
