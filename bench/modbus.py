"""Modbus: points per second polled into the twin, block reads against one request per point.

A pymodbus server process simulates D TCP devices (one listener each) whose holding registers all exist. The
gateway maps P float32 points per device, laid out like a meter map (a value every 3 registers, so two points
are never adjacent) and polls every device back to back (poll interval 1 ms: the loop is saturated and the
figure is the ceiling, not a configured rate). Two plans of the same mapping are compared:

* ``block reads``: the adapter's coalescing (``max_gap: 10``, at most 125 registers per request);
* ``one request per point`` (baseline): ``max_gap: 0``, what a naive poller does on such a map.

Reported per run: requests per poll cycle (all devices), samples per second applied to the twin, requests per
second, the gateway process's CPU (the server process is not counted) and the CPU it costs per 1,000 points
per second (percent of one core).

    python -m bench modbus [--quick]
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import sys
import time
from typing import Any

from adapters.contract.model import Asset, AssetLevel, DataType, Point, PointKind
from adapters.modbus.config import ModbusAddress, ModbusSourceConfig
from bench.common import table
from gateway.model import TwinModel, TwinSettings
from gateway.runtime import Gateway

STRIDE = 3  # registers between two points' starts: float32 + one unused register


def _serve(ports: list[int], ready: Any, stop: Any) -> None:
    """Server process: one Modbus TCP listener per simulated device."""
    logging.disable(logging.CRITICAL)  # pymodbus logs every client that goes away
    from pymodbus.datastore import ModbusServerContext
    from pymodbus.server import ModbusTcpServer

    class Registers(ModbusServerContext):
        """Every address exists; a register holds its address (cheap and recognizable)."""

        def __init__(self) -> None:
            self.old_simulator = True  # the server uses this context as is
            self.simdevices: list[Any] = []

        def device_ids(self) -> list[int]:
            return [1]

        async def async_getValues(self, device_id: int, func_code: int, address: int, count: int = 1) -> Any:
            return [(address + i) & 0xFFFF for i in range(count)]

        async def async_setValues(self, device_id: int, func_code: int, address: int, values: Any) -> None:
            return None

    async def run() -> None:
        servers = []
        for port in ports:
            server = ModbusTcpServer(Registers(), address=("127.0.0.1", port))
            await server.serve_forever(background=True)
            servers.append(server)
        ready.set()
        await asyncio.to_thread(stop.wait)
        for server in servers:
            await server.shutdown()

    asyncio.run(run())


def _free_ports(n: int) -> list[int]:
    import socket

    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def _model(ports: list[int], points: int, max_gap: int) -> TwinModel:
    model = TwinModel(settings=TwinSettings(base_iri="http://bench.local/", flush_interval=0.25))
    model.assets["site"] = Asset("site", AssetLevel.SITE, (), "Site")
    for d, port in enumerate(ports):
        sid, aid = f"dev{d}", f"meter{d}"
        model.sources[sid] = ModbusSourceConfig(
            id=sid, url=f"tcp://127.0.0.1:{port}", poll_interval=0.001, timeout=2.0, max_gap=max_gap
        )
        model.assets[aid] = Asset(aid, AssetLevel.EQUIPMENT, (), aid, parent="site")
        for k in range(points):
            pid = f"{aid}.p{k}"
            addr = ModbusAddress(table="holding", address=k * STRIDE, encoding="float32")  # type: ignore[arg-type]
            model.points[pid] = Point(pid, aid, PointKind.MEASUREMENT, DataType.DOUBLE, sid, addr, pid, unit="W")
    return model


async def _run(ports: list[int], points: int, max_gap: int, window: float) -> dict[str, float]:
    gw = Gateway(_model(ports, points, max_gap))
    await gw.start(services=False)
    try:
        sups = list(gw.supervisors.values())
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in sups)), 30)
        await asyncio.sleep(min(1.0, window / 2))  # warm-up: first cycles, first flushes (less in quick mode)

        def requests() -> int:
            return sum(int(s.adapter.counters["requests"]) for s in sups if s.adapter is not None)

        s0, r0, c0, t0 = gw.twin.samples_applied, requests(), time.process_time(), time.perf_counter()
        await asyncio.sleep(window)
        s1, r1, c1, t1 = gw.twin.samples_applied, requests(), time.process_time(), time.perf_counter()
        planned = sum(int(s.adapter.counters["planned_requests"]) for s in sups if s.adapter is not None)
        bad = sum(s.bad_samples for s in sups)
    finally:
        await gw.stop()
    wall = t1 - t0
    rate = (s1 - s0) / wall
    cpu = 100 * (c1 - c0) / wall
    return {
        "planned": planned,
        "samples_per_s": rate,
        "requests_per_s": (r1 - r0) / wall,
        "cpu_pct": cpu,
        "cpu_per_1k": cpu / max(rate / 1000, 1e-9),
        "bad": bad,
    }


def measure(devices: int, points: int, window: float) -> list[list[Any]]:
    """One server process for all devices, then both plans against it."""
    ctx = mp.get_context("spawn")
    ports = _free_ports(devices)
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(ports, ready, stop), daemon=True)
    proc.start()
    rows: list[list[Any]] = []
    try:
        if not ready.wait(60):
            raise RuntimeError("benchmark server did not start")
        logging.disable(logging.WARNING)
        for name, gap in (("one request per point (baseline)", 0), ("block reads (max_gap 10)", 10)):
            r = asyncio.run(_run(ports, points, gap, window))
            rows.append(
                [
                    name,
                    devices,
                    devices * points,
                    int(r["planned"]),
                    f"{r['samples_per_s']:,.0f}",
                    f"{r['requests_per_s']:,.0f}",
                    f"{r['cpu_pct']:.0f}",
                    f"{r['cpu_per_1k']:.2f}",
                    int(r["bad"]),
                ]
            )
    finally:
        stop.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
        logging.disable(logging.NOTSET)
    return rows


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    sizes = [(2, 50)] if quick else [(10, 100), (50, 100)]
    window = 0.5 if quick else 5.0
    rows: list[list[Any]] = []
    for devices, points in sizes:
        rows += measure(devices, points, window)
    print(
        table(
            [
                "plan",
                "devices",
                "points",
                "requests/cycle",
                "samples/s into twin",
                "requests/s",
                "gateway CPU %",
                "CPU % per 1k pts/s",
                "bad samples",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
