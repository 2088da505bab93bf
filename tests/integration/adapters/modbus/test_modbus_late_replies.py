"""Late replies: a device that answers after the request timed out must not have its reply taken for the next one.

Modbus TCP replies are matched by MBAP transaction id; RTU has none, so after a timeout the link waits for the
late reply (up to the timeout again) and discards it before the next request. Every discarded reply is counted
(``stale_replies``) and proves the connection alive, so a slow device is not reconnected as a half-open socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import pytest
from modbus_helpers import DeviceStore, ModbusTestServer, PtyPair, Runner, modbus_point, wait_for
from slow_device import SlowRelay

from adapters.contract.adapter import AdapterContext
from adapters.modbus import transport
from adapters.modbus.adapter import ModbusAdapter
from adapters.modbus.config import ModbusSourceConfig
from adapters.modbus.protocol import Request, RequestTimeout

pytestmark = pytest.mark.integration
TIMEOUT = 0.3
LATE = 0.45  # 1.5 timeouts: the reply arrives after its request gave up, while the next one waits
VALUES = {0: 100, 10: 110, 20: 120, 30: 130}


def config(url: str, **cfg: object) -> ModbusSourceConfig:
    serial = {"baudrate": 115200} if url.startswith("rtu://") else {}
    return ModbusSourceConfig.model_validate(
        {"id": "s", "url": url, "poll_interval": 0.05, "timeout": TIMEOUT, "retries": 0, **serial, **cfg}
    )


@pytest.fixture
async def relayed(request: pytest.FixtureRequest, store: DeviceStore) -> object:
    """A pymodbus server (Modbus TCP or RTU framing) behind a relay that can hold replies back."""
    mode = request.param
    for address, value in VALUES.items():
        store.set(1, "holding", address, value)
    server = ModbusTestServer(store, mode)
    await server.start()
    relay = await SlowRelay(server.port).start()
    yield f"{mode}://127.0.0.1:{relay.port}", relay
    await relay.stop()
    await server.stop()


@pytest.mark.parametrize("relayed", ["tcp", "rtu+tcp"], indirect=True)
async def test_slow_device_polls_and_writes_interleave(relayed: tuple[str, SlowRelay], store: DeviceStore) -> None:
    url, relay = relayed
    reads = [modbus_point(f"p.a{a}", table="holding", address=a) for a in VALUES]
    sp = modbus_point("p.sp", table="holding", address=100, writable=True)
    ad = ModbusAdapter(config(url, max_gap=0), [*reads, sp], AdapterContext(logging.getLogger("test.modbus.late")))
    relay.delay = 0.2  # slow but within the timeout
    run = Runner(ad).start()
    try:
        await wait_for(lambda: run.good(*(p.id for p in reads), "p.sp"), timeout=10)
        relay.plan = [LATE] * 4  # the device stalls: four replies in a row come after their request timed out
        first = await ad.write(sp, 77)  # queued between the polls, its reply is one of the late ones
        assert store.get(1, "holding", 100) == [77]  # the device did write it, whatever the reply's fate
        await wait_for(lambda: ad.counters["stale_replies"] >= 4, timeout=10, what="four late replies discarded")
        second = await ad.write(sp, 78)
        assert second.ok, second
        await wait_for(lambda: run.value("p.sp") == 78 and run.good(*(p.id for p in reads)), timeout=10)
        assert first.status in ("Good", "BadTimeout")
        wrong = [(s.point, s.value) for s in run.samples if s.value is not None and s.point != "p.sp"]
        wrong = [(p, v) for p, v in wrong if v != VALUES[int(p.removeprefix("p.a"))]]
        assert wrong == []  # no late reply was taken for another request's answer
        assert {s.value for s in run.samples if s.point == "p.sp" and s.value is not None} <= {0, 77, 78}
        assert ad.counters["garbled"] == 0 and ad.counters["timeouts"] >= 4
        assert ad.counters["stale_replies"] == 4 and ad.describe()["link"]["stale_replies"] == 4
        assert run.disconnects == []  # late replies prove the link alive: no reconnect after 3 timeouts in a row
    finally:
        await run.stop()


async def _timeout_then_late_reply(url: str, delays: list[float], store: DeviceStore) -> None:
    link = transport.acquire(config(url).link)
    try:
        await link.open(2.0)
        counters: defaultdict[str, int | float] = defaultdict(int)
        delays.append(LATE)
        with pytest.raises(RequestTimeout):
            await link.execute(Request(3, 1, 0, 1), timeout=TIMEOUT, retries=0, counters=counters)
        reply = await link.execute(Request(3, 1, 10, 1), timeout=TIMEOUT, retries=0, counters=counters)
        assert reply.registers == [110]  # its own answer, not the late reply of address 0 (same shape: [100])
        echo = await link.execute(Request(6, 1, 100, values=(77,)), timeout=TIMEOUT, retries=0, counters=counters)
        assert echo.function_code == 6 and store.get(1, "holding", 100) == [77]
        assert counters["stale_replies"] == 1 and link.describe()["stale_replies"] == 1
        assert counters["garbled"] == 0 and counters["timeouts"] == 1 and counters["responses"] == 2
    finally:
        transport.release(link)


@pytest.mark.parametrize("relayed", ["tcp", "rtu+tcp"], indirect=True)
async def test_after_a_timeout_the_next_request_gets_its_own_answer(
    relayed: tuple[str, SlowRelay], store: DeviceStore
) -> None:
    url, relay = relayed
    await _timeout_then_late_reply(url, relay.plan, store)


async def test_late_reply_on_a_serial_line_is_drained(pty: PtyPair, store: DeviceStore) -> None:
    for address, value in VALUES.items():
        store.set(1, "holding", address, value)
    server = ModbusTestServer(store, "rtu", device=pty.server)
    await server.start()
    try:
        await _timeout_then_late_reply(f"rtu://{pty.client}", store.delays, store)
    finally:
        await server.stop()
        await asyncio.sleep(0)
