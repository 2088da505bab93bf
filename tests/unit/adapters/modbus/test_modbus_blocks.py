"""Modbus request planner: coalescing limits, gaps, holes, units and tables, and splitting refused blocks."""

from __future__ import annotations

from adapters.modbus.blocks import Item, Limits, clusters, plan, split, tight
from adapters.modbus.config import Hole, Table

H, C = Table.HOLDING, Table.COIL


def items(*spans: tuple[int, int], unit: int = 1, table: Table = H) -> list[Item]:
    return [Item(f"p{start}_{count}", unit, table, start, count) for start, count in spans]


def spans(blocks: list) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    return [(b.start, b.count) for b in blocks]


def test_scattered_map_coalesces_within_gap_and_size() -> None:
    # meter-like map: float32 values at 0,2,4 ... then a cluster far away and one register past the size limit
    its = items((0, 2), (2, 2), (4, 2), (12, 2), (30, 2), (200, 1), (201, 1), (320, 4))
    blocks = plan(its, Limits(max_registers=125, max_gap=10))
    assert spans(blocks) == [(0, 14), (30, 2), (200, 2), (320, 4)]
    assert sum(len(b.items) for b in blocks) == len(its)
    # gap 0: only adjacent registers join
    assert spans(plan(its, Limits(max_gap=0))) == [(0, 6), (12, 2), (30, 2), (200, 2), (320, 4)]
    # a device taking 4 registers per request
    assert spans(plan(its, Limits(max_registers=4, max_gap=10))) == [
        (0, 4),
        (4, 2),
        (12, 2),
        (30, 2),
        (200, 2),
        (320, 4),
    ]


def test_protocol_limits_125_registers_and_2000_bits() -> None:
    regs = items(*[(i, 1) for i in range(0, 300)])
    assert spans(plan(regs, Limits())) == [(0, 125), (125, 125), (250, 50)]
    bits = items(*[(i, 1) for i in range(0, 4500)], table=C)
    assert spans(plan(bits, Limits())) == [(0, 2000), (2000, 2000), (4000, 500)]
    # bits use their own (wider) gap
    sparse = items((0, 1), (50, 1), (200, 1), table=C)
    assert spans(plan(sparse, Limits(max_gap=10, max_bit_gap=64))) == [(0, 51), (200, 1)]


def test_holes_are_never_spanned() -> None:
    its = items((0, 1), (5, 1), (10, 1))
    holes = [Hole(table=H, start=3, end=4)]
    assert spans(plan(its, Limits(), holes)) == [(0, 1), (5, 6)]
    # a hole of another unit or table does not matter
    other = [Hole(table=H, start=3, end=4, unit=2), Hole(table=C, start=0, end=100)]
    assert spans(plan(its, Limits(), other)) == [(0, 11)]


def test_units_and_tables_are_separate_requests() -> None:
    its = items((0, 1), (1, 1)) + items((2, 1), unit=2) + items((3, 1), table=Table.INPUT)
    blocks = plan(its, Limits())
    assert [(b.unit, b.table, b.start, b.count) for b in blocks] == [
        (1, H, 0, 2),
        (1, Table.INPUT, 3, 1),
        (2, H, 2, 1),
    ]


def test_overlapping_points_share_a_block() -> None:
    # a status word read as uint16 and as three bits, plus a float32 that includes it
    its = [Item("word", 1, H, 10, 1), Item("b0", 1, H, 10, 1), Item("b5", 1, H, 10, 1), Item("f", 1, H, 9, 2)]
    [block] = plan(its, Limits())
    assert (block.start, block.count, len(block.items)) == (9, 2, 4)
    assert [len(c) for c in clusters(block)] == [4]
    assert split(block) is None  # inseparable: the device either has register 10 or not


def test_split_halves_until_isolated() -> None:
    block = plan(items((0, 2), (2, 2), (10, 1), (20, 1), (22, 1)), Limits(max_gap=10))[0]
    assert (block.start, block.count) == (0, 23)
    halves = split(block)
    assert halves is not None
    assert spans(halves) == [(0, 4), (10, 13)]  # tight halves: the gap between them is no longer read
    again = split(halves[1])
    assert again is not None and spans(again) == [(10, 1), (20, 3)]
    assert split(tight(1, H, items((7, 2)))) is None
    assert halves[0].describe() == "unit 1 holding 0-3" and again[0].describe() == "unit 1 holding 10"
