"""Modbus RTU on a real serial line (a socat pseudo-terminal pair) and RTU framed over TCP.

Thirty devices share one bus through the real gateway: one serial connection, requests serialized, every device
polled, and a dead device costing only its own points.
"""

from __future__ import annotations

import logging

import pytest
from modbus_helpers import DeviceStore, ModbusTestServer, PtyPair, Runner, modbus_point, wait_for

from adapters.contract.adapter import AdapterContext, AdapterUnavailable
from adapters.modbus import transport
from adapters.modbus.adapter import ModbusAdapter
from adapters.modbus.config import ModbusSourceConfig
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway

pytestmark = pytest.mark.integration


def adapter(url: str, points: list, **cfg: object) -> ModbusAdapter:  # type: ignore[type-arg]
    serial = {"baudrate": 115200} if url.startswith("rtu://") else {}
    config = ModbusSourceConfig.model_validate(
        {"id": "r", "url": url, "poll_interval": 0.05, "timeout": 0.3, "retries": 0, **serial, **cfg}
    )
    return ModbusAdapter(config, points, AdapterContext(logging.getLogger("test.modbus.rtu")))


POINTS = [
    modbus_point("r.temp", "int16", table="holding", address=0),
    modbus_point("r.flow", "float", table="input", address=4, encoding="float32", byte_order="CDAB"),
    modbus_point("r.pump", "bool", writable=True, table="coil", address=2),
    modbus_point("r.sp", "int32", writable=True, table="holding", address=10, encoding="int32"),
]


async def _exercise(url: str, store: DeviceStore) -> None:
    store.set(1, "holding", 0, 215)
    store.set(1, "input", 4, 0x0000, 0x4148)  # 12.5, word-swapped
    run = Runner(adapter(url, POINTS)).start()
    try:
        await wait_for(lambda: run.value("r.temp") == 215 and run.value("r.flow") == 12.5 and run.good("r.pump"))
        by_id = {p.id: p for p in POINTS}
        assert (await run.adapter.write(by_id["r.pump"], True)).ok
        assert (await run.adapter.write(by_id["r.sp"], -70000)).ok
        assert store.get(1, "coil", 2) == [1] and store.get(1, "holding", 10, 2) == [0xFFFE, 0xEE90]
        await wait_for(lambda: run.value("r.pump") is True and run.value("r.sp") == -70000)
        store.garble = "crc"
        await wait_for(lambda: run.status("r.temp") == "BadCommunicationError", what="CRC errors reported")
        assert "CRC error" in run.latest["r.temp"].reason and run.adapter.counters["garbled"] >= 1
        store.garble = None
        await wait_for(lambda: run.good("r.temp", "r.flow", "r.pump", "r.sp"), what="recovery after CRC errors")
        assert run.disconnects == []
    finally:
        await run.stop()


async def test_rtu_over_a_serial_line(pty: PtyPair, store: DeviceStore) -> None:
    server = ModbusTestServer(store, "rtu", device=pty.server)
    await server.start()
    try:
        await _exercise(f"rtu://{pty.client}", store)
    finally:
        await server.stop()


async def test_rtu_framed_over_tcp(store: DeviceStore) -> None:
    server = ModbusTestServer(store, "rtu+tcp")
    await server.start()
    try:
        await _exercise(server.url, store)
        assert {fc for _, fc, _, _ in store.requests} >= {1, 3, 4, 5, 16}
    finally:
        await server.stop()


def bus_mapping(device: str, devices: int, dead: int) -> str:
    lines = [
        'twin: {base_iri: "http://bus.local/", flush_interval: 50ms}',
        "sources:",
    ]
    for u in [*range(1, devices + 1), dead]:
        lines.append(
            f"  - {{id: dev{u}, kind: modbus, url: 'rtu://{device}', baudrate: 115200, unit: {u},"
            " poll_interval: 300ms, timeout: 100ms, retries: 0, reconnect: {initial: 100ms, max: 500ms}}"
        )
    lines += ["assets:", "  - {id: site, type: site, label: Site}"]
    for u in [*range(1, devices + 1), dead]:
        lines += [
            f"  - id: m{u}",
            "    parent: site",
            "    type: brick:Electrical_Meter",
            f"    source: dev{u}",
            "    points:",
            "      - {id: volts, class: brick:Voltage_Sensor, unit: V, datatype: float,"
            " address: {address: 30001, addressing: modicon, encoding: float32}}",
            "      - {id: amps, class: brick:Current_Sensor, unit: A, datatype: float, transform: {scale: 0.01},"
            " address: {table: holding, address: 3, encoding: uint16}}",
            "      - {id: relay, type: status, class: brick:Status, datatype: bool,"
            " address: {table: coil, address: 0}}",
        ]
    return "\n".join(lines) + "\n"


async def test_thirty_devices_on_one_bus_through_the_gateway(pty: PtyPair) -> None:
    devices, dead = 30, 31
    store = DeviceStore(units=set(range(1, devices + 1)))  # unit 31 is mapped but never answers
    for u in range(1, devices + 1):
        store.set(u, "input", 0, 0x4366, 0)  # 230.0 V
        store.set(u, "holding", 3, 100 * u)
        store.set(u, "coil", 0, u % 2)
    server = ModbusTestServer(store, "rtu", device=pty.server)
    await server.start()
    gw = Gateway(load_mappings(["bus.yaml"], texts={"bus.yaml": bus_mapping(pty.client, devices, dead)}))
    await gw.start(services=False)
    try:
        twin = gw.twin
        live = [f"m{u}.{p}" for u in range(1, devices + 1) for p in ("volts", "amps", "relay")]
        await wait_for(lambda: all(twin.state(p).status == "Good" for p in live), timeout=15, what="90 points Good")
        assert twin.state("m7.amps").value == pytest.approx(7.0) and twin.state("m7.volts").value == 230.0
        assert twin.state("m8.relay").value is False and twin.state("m9.relay").value is True
        await wait_for(lambda: twin.state(f"m{dead}.volts").status == "BadTimeout", timeout=5)
        [link] = [lk for lk in transport.links() if lk.spec.device == pty.client]
        assert link.users == devices + 1 and link.connects == 1  # one serial connection for the whole bus
        # every device keeps being polled, the dead one included, nobody is disconnected
        adapters = [gw.adapter(f"dev{u}") for u in range(1, dead + 1)]
        before = [a.counters["poll_cycles"] for a in adapters if a is not None]
        await wait_for(
            lambda: all(
                a is not None and a.counters["poll_cycles"] >= b + 2 for a, b in zip(adapters, before, strict=True)
            ),
            timeout=10,
            what="two more cycles of every device",
        )
        assert all(gw.supervisors[f"dev{u}"].reconnects == 0 for u in range(1, dead + 1))
        assert all(twin.state(p).status == "Good" for p in live)
        # requests never overlapped on the wire: the server saw whole, valid requests only
        assert {r[1] for r in store.requests} == {1, 3, 4} and len(store.requests) >= devices * 3 * 3
    finally:
        await gw.stop()
        await server.stop()


async def test_unplugged_serial_line_disconnects_every_source(pty: PtyPair, store: DeviceStore) -> None:
    server = ModbusTestServer(store, "rtu", device=pty.server)
    await server.start()
    store.set(1, "holding", 0, 5)
    store.set(2, "holding", 0, 6)
    one = Runner(adapter(f"rtu://{pty.client}", [modbus_point("a.v", table="holding", address=0)], unit=1)).start()
    two = Runner(adapter(f"rtu://{pty.client}", [modbus_point("b.v", table="holding", address=0)], unit=2)).start()
    try:
        await wait_for(lambda: one.value("a.v") == 5 and two.value("b.v") == 6)
        await server.stop()
        pty.unplug()  # the USB adapter is pulled
        await wait_for(lambda: one.disconnects and two.disconnects, what="both sources disconnected")
        assert one.status("a.v") == two.status("b.v") == "BadCommunicationError"
        await wait_for(lambda: len(one.unavailable) >= 1)
        assert "cannot connect to rtu://" in one.unavailable[0]
        pty.start()  # plugged back in
        server = ModbusTestServer(store, "rtu", device=pty.server)
        await server.start()
        await wait_for(lambda: one.good("a.v") and two.good("b.v"), timeout=10, what="both back")
    finally:
        await one.stop()
        await two.stop()
        await server.stop()


async def test_one_line_with_two_settings_is_refused(pty: PtyPair) -> None:
    a = adapter(f"rtu://{pty.client}", [modbus_point("a.v", table="holding", address=0)])
    b = adapter(f"rtu://{pty.client}", [modbus_point("b.v", table="holding", address=0)], baudrate=9600)
    server = ModbusTestServer(DeviceStore(), "rtu", device=pty.server)
    await server.start()
    await a.start()
    try:
        with pytest.raises(AdapterUnavailable) as exc:
            await b.start()
        assert not exc.value.retryable and exc.value.status == "BadConfigurationError"
        assert "same settings" in exc.value.reason and "9600" in exc.value.reason
    finally:
        await a.stop()
        await server.stop()
