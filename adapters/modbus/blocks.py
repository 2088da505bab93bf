"""Request planning: coalesce point reads into as few Modbus requests as the protocol allows.

Points of the same unit id and table are sorted by address and merged greedily into blocks of at most
``max_registers`` registers (125 by the protocol) or ``max_bits`` bits (2000), bridging at most ``max_gap``
unused addresses between two points, and never spanning a hole the mapping declares. When the device refuses
a block (illegal address), ``split`` halves it so the addresses it lacks can be isolated while their
neighbours keep being read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from adapters.modbus.config import TABLES, Hole, Table


@dataclass(frozen=True, slots=True)
class Item:
    """What one point needs read: ``count`` registers (or bits) from ``start``."""

    point: str
    unit: int
    table: Table
    start: int
    count: int

    @property
    def end(self) -> int:
        """Last address read (inclusive)."""
        return self.start + self.count - 1


@dataclass(slots=True)
class Block:
    """One read request and the points it serves."""

    unit: int
    table: Table
    start: int
    count: int
    items: list[Item] = field(default_factory=list)

    @property
    def end(self) -> int:
        """Last address read (inclusive)."""
        return self.start + self.count - 1

    def describe(self) -> str:
        """``unit 1 holding 100-109`` (zero-based protocol addresses)."""
        span = str(self.start) if self.count == 1 else f"{self.start}-{self.end}"
        return f"unit {self.unit} {self.table.value} {span}"


@dataclass(frozen=True, slots=True)
class Limits:
    """Coalescing limits of a source."""

    max_registers: int = 125
    max_bits: int = 2000
    max_gap: int = 10
    max_bit_gap: int = 64

    def size(self, table: Table) -> int:
        """Largest request on ``table``."""
        return self.max_bits if TABLES[table].is_bit else self.max_registers

    def gap(self, table: Table) -> int:
        """Largest run of unused addresses a request may span on ``table``."""
        return self.max_bit_gap if TABLES[table].is_bit else self.max_gap


def _spans_hole(holes: Sequence[Hole], unit: int, table: Table, first: int, last: int) -> bool:
    """True when any address in [first, last] is inside a hole of this unit and table."""
    if first > last:
        return False
    return any(
        h.table is table and (h.unit is None or h.unit == unit) and h.start <= last and first <= h.end for h in holes
    )


def plan(items: Iterable[Item], limits: Limits, holes: Sequence[Hole] = ()) -> list[Block]:
    """Blocks covering every item, grouped by (unit, table), in address order."""
    groups: dict[tuple[int, Table], list[Item]] = {}
    for it in items:
        groups.setdefault((it.unit, it.table), []).append(it)
    blocks: list[Block] = []
    for (unit, table), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1].value)):
        members.sort(key=lambda i: (i.start, i.end))
        size, gap = limits.size(table), limits.gap(table)
        cur: Block | None = None
        for it in members:
            if cur is not None:
                new_end = max(cur.end, it.end)
                fits = new_end - cur.start + 1 <= size
                close = it.start - cur.end - 1 <= gap
                if fits and close and not _spans_hole(holes, unit, table, cur.end + 1, it.start - 1):
                    cur.count = new_end - cur.start + 1
                    cur.items.append(it)
                    continue
                blocks.append(cur)
            cur = Block(unit, table, it.start, it.count, [it])
        if cur is not None:
            blocks.append(cur)
    return blocks


def clusters(block: Block) -> list[list[Item]]:
    """The block's items grouped where they share addresses (such items can never be read apart)."""
    out: list[list[Item]] = []
    end = -1
    for it in sorted(block.items, key=lambda i: (i.start, i.end)):
        if out and it.start <= end:
            out[-1].append(it)
            end = max(end, it.end)
        else:
            out.append([it])
            end = it.end
    return out


def tight(unit: int, table: Table, items: Sequence[Item]) -> Block:
    """The smallest block covering ``items``."""
    start = min(i.start for i in items)
    end = max(i.end for i in items)
    return Block(unit, table, start, end - start + 1, list(items))


def split(block: Block) -> list[Block] | None:
    """Two tight halves of a refused block, or None when its points cannot be separated further."""
    groups = clusters(block)
    if len(groups) < 2:
        return None
    half = len(groups) // 2
    first = [i for g in groups[:half] for i in g]
    second = [i for g in groups[half:] for i in g]
    return [tight(block.unit, block.table, first), tight(block.unit, block.table, second)]
