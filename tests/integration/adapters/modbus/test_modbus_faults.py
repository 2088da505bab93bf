"""Modbus faults against a real server: exception responses, split isolation, timeouts, garbage, lost links.

Only the affected points go Bad, with the status and the Modbus detail; everything else keeps its values; each
fault is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from modbus_helpers import DeviceStore, ModbusTestServer, Runner, modbus_point, wait_for

from adapters.contract.adapter import AdapterContext
from adapters.modbus import transport
from adapters.modbus.adapter import ModbusAdapter
from adapters.modbus.config import ModbusSourceConfig

pytestmark = pytest.mark.integration
LOG = "test.modbus.faults"


def adapter(url: str, points: list, sid: str = "m", **cfg: object) -> ModbusAdapter:  # type: ignore[type-arg]
    config = ModbusSourceConfig.model_validate(
        {"id": sid, "url": url, "poll_interval": 0.05, "timeout": 0.2, "retries": 0, **cfg}
    )
    return ModbusAdapter(config, points, AdapterContext(logging.getLogger(LOG)))


def warnings(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(1 for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage())


async def test_illegal_address_only_marks_the_missing_register(
    tcp_server: ModbusTestServer, store: DeviceStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOG)
    store.set(1, "holding", 0, 11, 0x4148, 0, 0, 0, 0, 0, 0, 0, 0, 33)
    store.set(1, "holding", 22, 44)
    store.refuse(1, "holding", 20)
    ids = ["f.a", "f.b", "f.c", "f.missing", "f.d"]
    points = [
        modbus_point("f.a", "int16", table="holding", address=0),
        modbus_point("f.b", "float", table="holding", address=1, encoding="float32"),
        modbus_point("f.c", "int16", table="holding", address=10),
        modbus_point("f.missing", "int16", table="holding", address=20),
        modbus_point("f.d", "int16", table="holding", address=22),
    ]
    ad = adapter(tcp_server.url, points)
    assert ad.counters["planned_requests"] == 1  # 0..22 in one read until the device refuses it
    run = Runner(ad).start()
    try:
        await wait_for(lambda: run.good("f.a", "f.b", "f.c", "f.d") and run.status("f.missing") == "BadOutOfRange")
        assert [run.value(p) for p in ids] == [11, 12.5, 33, None, 44]
        reason = run.latest["f.missing"].reason
        assert "Modbus exception 2 (IllegalDataAddress)" in reason and "address 20" in reason
        assert ad.counters["splits"] >= 1 and ad.counters["exceptions"] >= 1
        planned = ad.counters["planned_requests"]
        cycles = ad.counters["poll_cycles"]
        await wait_for(lambda: ad.counters["poll_cycles"] >= cycles + 5)
        assert ad.counters["planned_requests"] == planned == ad.counters["last_cycle_requests"]  # split once, kept
        assert sum(1 for s in run.samples if s.point == "f.missing") == 1  # a Bad state is sent once, not per poll
        assert warnings(caplog, "IllegalDataAddress") == 1
        store.missing.clear()  # firmware update: the register exists now
        await wait_for(lambda: run.value("f.missing") == 0 and run.good(*ids), what="recovery")
        assert sum("recovered" in r.getMessage() for r in caplog.records) == 1
        assert run.disconnects == []
    finally:
        await run.stop()


async def test_one_busy_unit_on_a_shared_connection(
    tcp_server: ModbusTestServer, store: DeviceStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOG)
    store.set(1, "holding", 0, 1)
    store.set(2, "holding", 0, 2)
    one = Runner(adapter(tcp_server.url, [modbus_point("u1.v", table="holding", address=0)], "m1", unit=1)).start()
    two = Runner(adapter(tcp_server.url, [modbus_point("u2.v", table="holding", address=0)], "m2", unit=2)).start()
    try:
        await wait_for(lambda: one.value("u1.v") == 1 and two.value("u2.v") == 2)
        [link] = [lk for lk in transport.links() if lk.url == f"tcp://127.0.0.1:{tcp_server.port}"]
        assert link.users == 2
        assert tcp_server.server is not None and len(tcp_server.server.active_connections) == 1  # one socket
        store.fail_units[2] = 6
        await wait_for(lambda: two.status("u2.v") == "BadResourceUnavailable")
        assert "ServerDeviceBusy" in two.latest["u2.v"].reason
        polled = one.adapter.counters["poll_cycles"]
        await wait_for(lambda: one.adapter.counters["poll_cycles"] > polled + 3)
        assert one.good("u1.v") and one.disconnects == two.disconnects == []
        del store.fail_units[2]
        await wait_for(lambda: two.good("u2.v"))
        assert warnings(caplog, "ServerDeviceBusy") == 1
    finally:
        await one.stop()
        await two.stop()
    assert transport.links() == []  # the last source closed the shared connection


async def test_a_silent_unit_times_out_alone(
    tcp_server: ModbusTestServer, store: DeviceStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOG)
    points = [
        modbus_point("x.a", table="holding", address=0),
        modbus_point("x.b", table="holding", address=0, unit=2),
        modbus_point("x.c", table="input", address=0, unit=2),  # second block of the silent unit: not tried
    ]
    store.silent_units.add(2)
    run = Runner(adapter(tcp_server.url, points)).start()
    try:
        await wait_for(lambda: run.good("x.a") and run.status("x.b") == run.status("x.c") == "BadTimeout")
        assert "no reply within 0.2 s" in run.latest["x.b"].reason
        assert "did not reply to an earlier request" in run.latest["x.c"].reason
        cycles = run.adapter.counters["poll_cycles"]
        await wait_for(lambda: run.adapter.counters["poll_cycles"] >= cycles + 3, timeout=5)
        c = run.adapter.counters
        assert c["planned_requests"] == 3 and c["last_cycle_requests"] == 2  # one timeout per cycle, then skipped
        assert run.disconnects == [] and run.good("x.a")
        assert warnings(caplog, "BadTimeout") == 1
        store.silent_units.clear()
        await wait_for(lambda: run.good("x.a", "x.b", "x.c"), what="recovery")
    finally:
        await run.stop()


GARBAGE = [
    ("byte_count", "BadCommunicationError", "undecodable reply"),
    ("function", "BadCommunicationError", "reply has function code"),
    ("tid", "BadTimeout", "no reply within"),  # a reply to another transaction is ignored
]


@pytest.mark.parametrize("case", GARBAGE, ids=[g[0] for g in GARBAGE])
async def test_garbled_replies(
    tcp_server: ModbusTestServer, store: DeviceStore, caplog: pytest.LogCaptureFixture, case: tuple[str, str, str]
) -> None:
    garble, status, reason = case
    caplog.set_level(logging.INFO, LOG)
    store.set(1, "holding", 5, 77)
    points = [modbus_point("g.v", table="holding", address=5), modbus_point("g.i", table="input", address=0)]
    run = Runner(adapter(tcp_server.url, points, reconnect_after_timeouts=0)).start()  # 0: timeouts never reconnect
    try:
        await wait_for(lambda: run.value("g.v") == 77)
        store.garble = garble
        await wait_for(lambda: run.status("g.v") == run.status("g.i") == status, what=f"{garble} -> {status}")
        assert reason in run.latest["g.v"].reason  # the holding block is read first
        cycles = run.adapter.counters["poll_cycles"]
        await wait_for(lambda: run.adapter.counters["poll_cycles"] >= cycles + 3)
        assert warnings(caplog, reason) == (1 if garble == "tid" else 2)  # once per block, not once per poll
        store.garble = None
        await wait_for(lambda: run.good("g.v", "g.i"), what="recovery")
        assert run.value("g.v") == 77 and run.disconnects == []  # the connection survived the garbage
        assert run.adapter.counters["garbled" if status != "BadTimeout" else "timeouts"] >= 1
    finally:
        await run.stop()


async def test_a_device_that_stops_answering_is_reconnected(tcp_server: ModbusTestServer, store: DeviceStore) -> None:
    run = Runner(adapter(tcp_server.url, [modbus_point("s.v", table="holding", address=0)], reconnect_after_timeouts=2))
    run.start()
    try:
        await wait_for(lambda: run.good("s.v"))
        store.silent_units.add(1)  # a half-open connection looks exactly like this
        await wait_for(lambda: len(run.disconnects) >= 1, what="the link dropped")
        assert "no reply to 2 requests in a row" in run.disconnects[0]
        store.silent_units.clear()
        await wait_for(lambda: run.good("s.v"), what="reconnected")
        assert run.adapter.counters["connects"] >= 2
    finally:
        await run.stop()


async def test_server_stopped_and_restarted(tcp_server: ModbusTestServer, store: DeviceStore) -> None:
    store.set(1, "holding", 0, 9)
    run = Runner(adapter(tcp_server.url, [modbus_point("r.v", table="holding", address=0)])).start()
    try:
        await wait_for(lambda: run.value("r.v") == 9)
        await tcp_server.stop()
        await wait_for(lambda: run.status("r.v") == "BadCommunicationError", what="Bad after the server stopped")
        assert "connection lost" in run.latest["r.v"].reason
        await wait_for(lambda: len(run.unavailable) >= 1, what="reconnect attempts fail")
        assert "cannot connect to tcp://127.0.0.1" in run.unavailable[0] and "Connection refused" in run.unavailable[0]
        store.set(1, "holding", 0, 10)
        await tcp_server.start()
        await wait_for(lambda: run.value("r.v") == 10 and run.good("r.v"), what="Good after the restart")
    finally:
        await run.stop()


async def test_cancellation_is_never_lost_at_high_poll_rates(tcp_server: ModbusTestServer) -> None:
    """Python 3.11's wait_for can swallow a cancel racing with a reply; the poll loop must still stop."""
    points = [modbus_point(f"c.p{k}", table="holding", address=k * 3) for k in range(5)]
    ad = adapter(tcp_server.url, points, poll_interval=0.0005, max_gap=0)

    async def drain() -> None:
        async for _ in ad.samples():
            pass

    for _ in range(40):
        await ad.start()
        task = asyncio.create_task(drain())
        await asyncio.sleep(0.005)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        assert done, "the poll loop ignored its cancellation"
        await ad.stop()
