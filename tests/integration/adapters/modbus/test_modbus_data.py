"""Modbus adapter against a real pymodbus TCP server: every encoding and order both ways, tables, coalescing."""

from __future__ import annotations

import logging
import struct

import pytest
from modbus_helpers import DeviceStore, ModbusTestServer, Runner, modbus_point, wait_for

from adapters.contract.adapter import AdapterContext
from adapters.modbus.adapter import ModbusAdapter
from adapters.modbus.config import ModbusSourceConfig

pytestmark = pytest.mark.integration

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
# encoding -> (point datatype, struct code, value read from the device, value written by the test)
NUMERIC = {
    "int16": ("int16", "h", -12345, 321),
    "uint16": ("uint16", "H", 54321, 7),
    "int32": ("int32", "i", -123456789, 2_000_000_001),
    "uint32": ("uint32", "I", 3_000_000_000, 12),
    "int64": ("int64", "q", -(2**62) + 7, 2**40 + 1),
    "uint64": ("uint64", "Q", 2**63 + 5, 99),
    "float32": ("float", "f", 12.5, -0.375),
    "float64": ("double", "d", -1234.5678, 2.0**-20),
}


def device_registers(code: str, order: str, value: float) -> list[int]:
    """How a device with ``order`` lays ``value`` out, derived independently of the adapter's codec."""
    data = struct.pack(">" + code, value)
    words = [data[i : i + 2] for i in range(0, len(data), 2)]
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    return [int.from_bytes(w, "big") for w in words]


def adapter(url: str, points: list, **cfg: object) -> ModbusAdapter:  # type: ignore[type-arg]
    config = ModbusSourceConfig.model_validate({"id": "m", "url": url, "poll_interval": 0.05, "timeout": 0.5, **cfg})
    return ModbusAdapter(config, points, AdapterContext(logging.getLogger("test.modbus")))


def test_derivation_matches_published_vectors() -> None:
    assert device_registers("f", "ABCD", 12.5) == [0x4148, 0x0000]
    assert device_registers("f", "CDAB", 12.5) == [0x0000, 0x4148]
    assert device_registers("i", "BADC", 0x12345678) == [0x3412, 0x7856]
    assert device_registers("q", "DCBA", 0x0102030405060708) == [0x0807, 0x0605, 0x0403, 0x0201]


async def test_every_encoding_and_byte_order_reads_and_writes(tcp_server: ModbusTestServer, store: DeviceStore) -> None:
    points, expect_read, expect_write = [], {}, {}
    addr = 0
    for enc, (dtype, code, read_value, write_value) in NUMERIC.items():
        for order in ORDERS:
            pid = f"d.{enc}_{order}"
            points.append(
                modbus_point(pid, dtype, writable=True, table="holding", address=addr, encoding=enc, byte_order=order)
            )
            store.set(1, "holding", addr, *device_registers(code, order, read_value))
            expect_read[pid], expect_write[pid] = read_value, (addr, code, order, write_value)
            addr += 4
    for order in ("ABCD", "BADC"):
        pid = f"d.string_{order}"
        where = {"table": "holding", "address": addr, "encoding": "string", "length": 9, "byte_order": order}
        points.append(modbus_point(pid, "string", writable=True, **where))
        raw = b"Pump-7\x00\x00\x00\x00"
        words = [raw[i : i + 2] if order == "ABCD" else raw[i : i + 2][::-1] for i in range(0, 10, 2)]
        store.set(1, "holding", addr, *[int.from_bytes(w, "big") for w in words])
        expect_read[pid] = "Pump-7"
        addr += 5
    store.set(1, "holding", addr, 0b1010_0000_0000_0100)
    points += [
        modbus_point("d.bit2", "bool", writable=True, table="holding", address=addr, encoding="bit", bit=2),
        modbus_point("d.bit15", "bool", table="holding", address=addr, encoding="bit", bit=15),
        modbus_point("d.bit0", "bool", table="holding", address=addr, encoding="bit", bit=0),
        modbus_point("d.word", "uint16", table="holding", address=addr),
        modbus_point("d.nonzero", "bool", writable=True, table="holding", address=addr + 1, encoding="bool"),
    ]
    expect_read |= {"d.bit2": True, "d.bit15": True, "d.bit0": False, "d.word": 0b1010_0000_0000_0100}
    expect_read["d.nonzero"] = False
    ad = adapter(tcp_server.url, points)
    run = Runner(ad).start()
    try:
        await wait_for(lambda: all(run.value(p) == v for p, v in expect_read.items()), what="every value read")
        assert ad.counters["planned_requests"] == 2  # 138 registers: two coalesced reads
        by_id = {p.id: p for p in points}
        for pid, (a, code, order, value) in expect_write.items():
            result = await ad.write(by_id[pid], value)
            assert result.ok, (pid, result)
            assert store.get(1, "holding", a, struct.calcsize(code) // 2) == device_registers(code, order, value), pid
        for order in ("ABCD", "BADC"):
            assert (await ad.write(by_id[f"d.string_{order}"], "AB")).ok
        assert (await ad.write(by_id["d.bit2"], False)).ok  # read-modify-write keeps bits 13 and 15
        assert (await ad.write(by_id["d.nonzero"], True)).ok
        assert store.get(1, "holding", addr, 2) == [0b1010_0000_0000_0000, 1]
        expected = {pid: w[3] for pid, w in expect_write.items()}
        expected |= {"d.string_ABCD": "AB", "d.string_BADC": "AB", "d.bit2": False, "d.nonzero": True}
        await wait_for(lambda: all(run.value(p) == v for p, v in expected.items()), what="written values read back")
    finally:
        await run.stop()


async def test_all_four_tables(tcp_server: ModbusTestServer, store: DeviceStore) -> None:
    store.set(1, "coil", 5, 1)
    store.set(1, "discrete_input", 7, 1)
    store.set(1, "input", 3, 0x0001, 0x86A0)  # 100000 as uint32
    store.set(1, "holding", 9, 0xFF38)  # -200
    points = [
        modbus_point("t.coil", "bool", table="coil", address=5),
        modbus_point("t.coil_off", "bool", table="coil", address=6),
        modbus_point("t.di", "bool", table="discrete_input", address=7),
        modbus_point("t.ir", "uint32", table="input", address=3, encoding="uint32"),
        modbus_point("t.hr", "int16", table="holding", address=9),
    ]
    run = Runner(adapter(tcp_server.url, points)).start()
    try:
        want = {"t.coil": True, "t.coil_off": False, "t.di": True, "t.ir": 100000, "t.hr": -200}
        await wait_for(lambda: all(run.value(p) == v and run.good(p) for p, v in want.items()))
        assert {fc for _, fc, _, _ in store.requests} == {1, 2, 3, 4}
    finally:
        await run.stop()


async def test_coalescing_issues_the_planned_number_of_requests(
    tcp_server: ModbusTestServer, store: DeviceStore
) -> None:
    # a scattered map: meter-style floats, a far cluster, status bits of one register, coils, another unit
    spec = [(0, "float32"), (2, "float32"), (4, "float32"), (12, "float32"), (52, "float32"), (70, "float32")]
    spec += [(200, "int16"), (201, "int16"), (203, "uint32"), (400, "float64")]
    points = [modbus_point(f"s.h{a}", "double", table="holding", address=a, encoding=e) for a, e in spec]
    points += [modbus_point(f"s.b{b}", "bool", table="holding", address=500, encoding="bit", bit=b) for b in range(4)]
    points += [modbus_point(f"s.c{c}", "bool", table="coil", address=c) for c in (0, 3, 9, 100)]
    points += [modbus_point("s.u2", "int16", table="holding", address=0, unit=2)]
    cases = {10: 9, 0: 11}  # max_gap -> requests per cycle (holding 6 or 8, coils 2, unit 2: 1)
    for gap, planned in cases.items():
        store.requests.clear()
        ad = adapter(tcp_server.url, points, max_gap=gap, max_bit_gap=5, poll_interval=0.1)
        run = Runner(ad).start()
        try:
            await wait_for(lambda ad=ad: ad.counters["poll_cycles"] >= 3, what="three cycles")  # type: ignore[misc]
            assert ad.counters["planned_requests"] == planned
            assert ad.counters["last_cycle_requests"] == planned
            cycles = ad.counters["poll_cycles"]
            assert len(store.requests) in range(planned * cycles, planned * (cycles + 1) + 1)
            assert all(run.good(p.id) for p in points)
        finally:
            await run.stop()
    # the baseline without coalescing would be one request per point
    assert len(points) == 19 > max(cases.values())


async def test_per_point_poll_interval_timeout_and_unit(tcp_server: ModbusTestServer, store: DeviceStore) -> None:
    store.set(2, "holding", 7, 70)
    points = [
        modbus_point("p.fast", table="holding", address=0),
        modbus_point("p.slow", table="holding", address=1, poll_interval="400ms", timeout="50ms", retries=0),
        modbus_point("p.other_unit", table="holding", address=7, unit=2),
    ]
    ad = adapter(tcp_server.url, points, poll_interval=0.05)
    run = Runner(ad).start()
    try:
        await wait_for(lambda: run.value("p.other_unit") == 70 and run.good("p.fast", "p.slow"))
        await wait_for(lambda: sum(s.point == "p.fast" for s in run.samples) >= 12, what="a dozen fast polls")
        slow = sum(s.point == "p.slow" for s in run.samples)
        assert 1 <= slow <= 3  # about 600 ms of polling at 50 ms vs 400 ms
        groups = {g["interval"]: g["requests"] for g in ad.describe()["groups"]}
        assert groups == {0.05: 2, 0.4: 1}  # units apart, intervals apart
        assert {(u, a) for u, _, a, _ in store.requests} == {(1, 0), (1, 1), (2, 7)}
    finally:
        await run.stop()


async def test_a_point_the_loader_would_refuse_is_reported_not_fatal(tcp_server: ModbusTestServer) -> None:
    points = [
        modbus_point("c.ok", table="holding", address=0),
        modbus_point("c.bad", "double", table="holding", address=1),  # a float point needs an explicit encoding
    ]
    run = Runner(adapter(tcp_server.url, points)).start()
    try:
        await wait_for(lambda: run.good("c.ok") and run.status("c.bad") == "BadConfigurationError")
        assert "needs an encoding" in run.latest["c.bad"].reason
        assert (await run.adapter.write(points[1], 1.0)).status == "BadConfigurationError"
    finally:
        await run.stop()
