"""OPC UA client: monitored items per second one ``opcua`` adapter carries into the twin.

An asyncua server runs in its own process (so it does not share the client's core) with N Double variables
and rewrites all of them R times per second. The gateway subscribes to all N (one adapter, subscriptions of
1000 items, publishing every 100 ms) and the benchmark counts the samples applied to the twin and the client
process's CPU time over a measuring window. Baseline in the same run: a bare asyncua client subscription
(iterator mode) counting data-change events and doing nothing else, i.e. the library's own ceiling, and the
adapter alone (its ``samples()`` drained, no pipeline or twin) to separate the adapter's cost from the twin's.
``CPU us/sample`` is the cost per notification in the client process; ``1e6 / that`` is what one core could
carry if the server could send more.

    python -m bench opcua_client [--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import socket
import sys
import time
from typing import Any

from asyncua import Client, Server, ua

from adapters.contract.adapter import AdapterContext
from adapters.contract.model import Asset, AssetLevel, DataType, Point, PointKind
from adapters.opcua.adapter import OpcUaAdapter
from adapters.opcua.config import OpcUaAddress, OpcUaSourceConfig
from bench.common import table
from gateway.model import TwinModel, TwinSettings
from gateway.runtime import Gateway

NS = "urn:twinbridge:bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(port: int, n: int, rate: float, ready: Any, stop: Any) -> None:
    """Server process: N variables, all rewritten ``rate`` times per second until told to stop."""
    logging.disable(logging.WARNING)

    async def run() -> None:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/bench/")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace(NS)
        folder = await server.nodes.objects.add_object(ua.NodeId("Bench", ns), ua.QualifiedName("Bench", ns))
        ids = []
        for k in range(n):
            node = await folder.add_variable(ua.NodeId(1000 + k, ns), ua.QualifiedName(f"v{k}", ns), 0.0)
            ids.append(node.nodeid)
        async with server:
            ready.set()
            tick = 0
            period = 1.0 / rate
            next_t = time.monotonic()
            while not stop.is_set():
                tick += 1
                for k, nid in enumerate(ids):
                    await server.write_attribute_value(nid, ua.DataValue(ua.Variant(float(tick + k))))
                next_t += period
                await asyncio.sleep(max(0.0, next_t - time.monotonic()))

    asyncio.run(run())


def _model(url: str, n: int) -> TwinModel:
    cfg = OpcUaSourceConfig.model_validate(
        {
            "id": "ua",
            "url": url,
            "security": {"policy": "None"},
            "publishing_interval": 0.1,
            "sampling_interval": 0.0,
            "queue_size": 1,
            "max_items_per_subscription": 1000,
        }
    )
    model = TwinModel(settings=TwinSettings(base_iri="http://bench.local/", flush_interval=0.25))
    model.sources["ua"] = cfg
    model.assets["bench"] = Asset("bench", AssetLevel.EQUIPMENT, (), "Bench")
    for k in range(n):
        pid = f"bench.v{k}"
        addr = OpcUaAddress(node=f"nsu={NS};i={1000 + k}")
        model.points[pid] = Point(pid, "bench", PointKind.MEASUREMENT, DataType.DOUBLE, "ua", addr, pid, unit="DEG_C")
    return model


async def _gateway_rate(url: str, n: int, window: float) -> dict[str, float]:
    gw = Gateway(_model(url, n))
    await gw.start(services=False)
    try:
        sup = gw.supervisors["ua"]
        await asyncio.wait_for(sup.connected.wait(), 30)
        await asyncio.sleep(min(1.0, window / 2))  # warm-up: initial values, first flushes (less in quick mode)
        s0, c0, t0 = sup.samples_in, time.process_time(), time.perf_counter()
        await asyncio.sleep(window)
        s1, c1, t1 = sup.samples_in, time.process_time(), time.perf_counter()
        dropped = sup.adapter.counters.get("dropped", 0) if sup.adapter else 0
    finally:
        await gw.stop()
    return _row(s1 - s0, c1 - c0, t1 - t0) | {"dropped": float(dropped)}


async def _adapter_rate(url: str, n: int, window: float) -> dict[str, float]:
    """The adapter alone: ``samples()`` drained and counted, no pipeline and no twin."""
    model = _model(url, n)
    ctx = AdapterContext(logger=logging.getLogger("bench.opcua"))
    adapter = OpcUaAdapter(model.sources["ua"], list(model.points.values()), ctx)  # type: ignore[arg-type]
    await adapter.start()
    count = 0

    async def drain() -> None:
        nonlocal count
        async for _ in adapter.samples():
            count += 1

    task = asyncio.create_task(drain())
    try:
        await asyncio.sleep(min(1.0, window / 2))  # warm-up (less in quick mode)
        s0, c0, t0 = count, time.process_time(), time.perf_counter()
        await asyncio.sleep(window)
        s1, c1, t1 = count, time.process_time(), time.perf_counter()
    finally:
        await adapter.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return _row(s1 - s0, c1 - c0, t1 - t0) | {"dropped": float(adapter.counters["dropped"])}


async def _baseline_rate(url: str, n: int, window: float) -> dict[str, float]:
    client = Client(url)
    await client.connect()
    try:
        ns = await client.get_namespace_index(NS)
        subs = []
        for start in range(0, n, 1000):
            sub = await client.create_subscription(100, queue_maxsize=50_000)
            await sub.subscribe_data_change(
                [client.get_node(ua.NodeId(1000 + k, ns)) for k in range(start, min(n, start + 1000))],
                sampling_interval=0.0,
            )
            subs.append(sub)
        count = 0

        async def drain(sub: Any) -> None:
            nonlocal count
            async for _ in sub:
                count += 1

        tasks = [asyncio.create_task(drain(s)) for s in subs]
        await asyncio.sleep(min(1.0, window / 2))  # warm-up (less in quick mode)
        s0, c0, t0 = count, time.process_time(), time.perf_counter()
        await asyncio.sleep(window)
        s1, c1, t1 = count, time.process_time(), time.perf_counter()
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
    finally:
        await client.disconnect()
    return _row(s1 - s0, c1 - c0, t1 - t0) | {"dropped": 0.0}


def _row(samples: int, cpu: float, wall: float) -> dict[str, float]:
    return {"samples_per_s": samples / wall, "cpu_pct": 100 * cpu / wall, "us_per_sample": 1e6 * cpu / max(1, samples)}


def measure(n: int, rate: float, window: float) -> list[list[Any]]:
    """One server process, then the baseline and twinbridge against it."""
    ctx = mp.get_context("spawn")
    port = _free_port()
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(port, n, rate, ready, stop), daemon=True)
    proc.start()
    rows: list[list[Any]] = []
    try:
        if not ready.wait(120):
            raise RuntimeError("benchmark server did not start")
        url = f"opc.tcp://127.0.0.1:{port}/bench/"
        logging.disable(logging.WARNING)  # asyncua logs every publish at INFO
        runs = (
            ("asyncua iterator (baseline)", _baseline_rate),
            ("twinbridge adapter only", _adapter_rate),
            ("twinbridge adapter -> pipeline -> twin", _gateway_rate),
        )
        for name, fn in runs:
            r = asyncio.run(fn(url, n, window))
            rows.append(
                [
                    name,
                    n,
                    f"{n * rate:,.0f}",
                    f"{r['samples_per_s']:,.0f}",
                    f"{r['cpu_pct']:.0f}",
                    f"{r['us_per_sample']:.1f}",
                    f"{1e6 / max(r['us_per_sample'], 1e-9):,.0f}",
                    int(r["dropped"]),
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
    sizes = [(200, 4.0)] if quick else [(1000, 4.0), (5000, 2.0)]
    window = 0.5 if quick else 8.0
    rows: list[list[Any]] = []
    for n, rate in sizes:
        rows += measure(n, rate, window)
    print(
        table(
            [
                "client",
                "items",
                "offered/s",
                "delivered/s",
                "client CPU %",
                "CPU us/sample",
                "samples/s per core",
                "dropped",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
