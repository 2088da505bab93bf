"""Modbus write-back against a real server: FC5/6/15/16 chosen by size and write_mode, refusals, read-back."""

from __future__ import annotations

import logging

import pytest
from modbus_helpers import DeviceStore, ModbusTestServer, Runner, modbus_point, wait_for

from adapters.contract.adapter import AdapterContext
from adapters.modbus.adapter import ModbusAdapter
from adapters.modbus.config import ModbusSourceConfig

pytestmark = pytest.mark.integration


def adapter(url: str, points: list, **cfg: object) -> ModbusAdapter:  # type: ignore[type-arg]
    config = ModbusSourceConfig.model_validate({"id": "w", "url": url, "timeout": 0.5, **cfg})
    return ModbusAdapter(config, points, AdapterContext(logging.getLogger("test.modbus")))


POINTS = [
    modbus_point("w.coil", "bool", writable=True, table="coil", address=1),
    modbus_point("w.coil_multi", "bool", writable=True, table="coil", address=2, write_mode="multiple"),
    modbus_point("w.i16", "int16", writable=True, table="holding", address=10),
    modbus_point("w.i16_multi", "int16", writable=True, table="holding", address=11, write_mode="multiple"),
    modbus_point("w.i32", "int32", writable=True, table="holding", address=12, encoding="int32"),
    modbus_point("w.i32_single", "int32", writable=True, table="holding", address=14, write_mode="single"),
    modbus_point("w.bit", "bool", writable=True, table="holding", address=16, encoding="bit", bit=4),
    modbus_point("w.input", "int16", table="input", address=0),
]


WRITE_CASES = (
    ("w.coil", True, [5], "coil", 1, [1]),
    ("w.coil_multi", True, [15], "coil", 2, [1]),
    ("w.i16", -2, [6], "holding", 10, [0xFFFE]),
    ("w.i16_multi", 300.4, [16], "holding", 11, [300]),  # raw float from an inverse transform: rounded
    ("w.i32", 70000, [16], "holding", 12, [0x0001, 0x1170]),
    ("w.i32_single", 70000, [6, 6], "holding", 14, [0x0001, 0x1170]),  # for devices that only take FC6
    ("w.bit", True, [3, 6], "holding", 16, [0x8011]),  # read-modify-write keeps the other bits
)


@pytest.mark.parametrize("case", WRITE_CASES, ids=[c[0] for c in WRITE_CASES])
async def test_write_functions(tcp_server: ModbusTestServer, store: DeviceStore, case: tuple) -> None:  # type: ignore[type-arg]
    pid, value, fcs, table, address, stored = case
    store.set(1, "holding", 16, 0x8001)
    ad = adapter(tcp_server.url, POINTS, poll_interval=60)
    await ad.start()
    try:
        store.requests.clear()
        result = await ad.write(next(p for p in POINTS if p.id == pid), value)  # type: ignore[arg-type]
        assert result.ok, result
        assert store.fcs() == fcs
        assert store.get(1, table, address, len(stored)) == stored
        assert ad.counters["writes"] == 1
    finally:
        await ad.stop()


async def test_source_wide_single_write_mode(tcp_server: ModbusTestServer, store: DeviceStore) -> None:
    p = modbus_point("w.f", "float", writable=True, table="holding", address=20, encoding="float32")
    ad = adapter(tcp_server.url, [p], write_mode="single", poll_interval=60)
    await ad.start()
    try:
        assert (await ad.write(p, 12.5)).ok
        assert store.fcs() == [6, 6] and store.get(1, "holding", 20, 2) == [0x4148, 0]
    finally:
        await ad.stop()


async def test_refused_writes_send_nothing_or_report_the_device(
    tcp_server: ModbusTestServer, store: DeviceStore
) -> None:
    by_id = {p.id: p for p in POINTS}
    ad = adapter(tcp_server.url, POINTS, poll_interval=60)
    assert (await ad.write(by_id["w.i16"], 1)).status == "BadNoCommunication"  # not started
    await ad.start()
    try:
        store.requests.clear()
        result = await ad.write(by_id["w.input"], 1)
        assert result.status == "BadNotWritable" and "read-only input" in (result.reason or "")
        result = await ad.write(by_id["w.i16"], 40000)
        assert result.status == "BadOutOfRange" and "-32768..32767" in (result.reason or "")
        assert (await ad.write(by_id["w.coil"], 2)).status == "BadTypeMismatch"
        assert store.requests == []  # nothing reached the device
        store.refuse(1, "holding", 10)
        result = await ad.write(by_id["w.i16"], 5)
        assert result.status == "BadOutOfRange" and "IllegalDataAddress" in (result.reason or "")
        store.fail_units[1] = 6
        result = await ad.write(by_id["w.coil"], True)
        assert result.status == "BadResourceUnavailable" and "ServerDeviceBusy" in (result.reason or "")
        assert ad.counters["write_errors"] == 4 and ad.counters["writes"] == 0
    finally:
        await ad.stop()
    assert (await ad.write(by_id["w.i16"], 1)).status == "BadNoCommunication"


async def test_written_value_is_read_back_without_waiting_for_the_poll(
    tcp_server: ModbusTestServer, store: DeviceStore
) -> None:
    p = modbus_point("w.sp", "int16", writable=True, table="holding", address=30)
    run = Runner(adapter(tcp_server.url, [p], poll_interval=30)).start()
    try:
        await wait_for(lambda: run.value("w.sp") == 0, what="first read")
        store.set(1, "holding", 30, 5)  # the device changes it; the next poll is 30 s away
        assert (await run.adapter.write(p, 215)).ok
        await wait_for(lambda: run.value("w.sp") == 215, timeout=2, what="read-back after the write")
        assert store.get(1, "holding", 30) == [215]
    finally:
        await run.stop()
