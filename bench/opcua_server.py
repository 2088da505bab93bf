"""OPC UA server: address-space build time, notifications/s and update-to-notification latency.

A twin of N points (10,000 in full mode) is served; a writer task changes a share of the points every cycle
through ``Twin.apply`` (as adapters do); one asyncua client in a separate process subscribes to every point
and timestamps each notification. Latency = client receive time - gateway time of the change (same machine
clock). Baseline for the build: asyncua's own ``add_variable`` one node at a time, on a sample of nodes.

Push path: the server-side cost of one value change with every point monitored (an internal subscription, so
asyncua's monitored-item work runs but no client encoding), for asyncua's plain ``Node.write_value`` (baseline),
a plain DataValue through ``Server.write_attribute_value`` (the service's push before it shared DataValues) and
the service's push (``gateway.northbound.opcua.values.ValuePusher``); the end-to-end run is repeated with the
plain-DataValue push swapped in.

    python -m bench opcua_server [--quick]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable

from asyncua import Server, ua

from adapters.contract.sample import PointState, Quality, Sample, utcnow
from bench.common import pct, synthetic_model, table
from gateway.northbound.opcua.address_space import variant_type
from gateway.northbound.opcua.config import OpcUaServerConfig
from gateway.northbound.opcua.service import OpcUaServer
from gateway.northbound.opcua.values import data_value
from gateway.runtime import Gateway

_CLIENT = textwrap.dedent("""
    import asyncio, json, sys, time
    from datetime import datetime, timezone
    from asyncua import Client, ua
    url, n, interval, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    settle = float(sys.argv[5])  # subscriptions settle before "ready", then half as long for the load to start
    lat = []
    count = 0
    class H:
        def datachange_notification(self, node, val, data):
            global count
            count += 1
            ts = data.monitored_item.Value.ServerTimestamp
            if ts is not None:
                lat.append(time.time() - ts.timestamp())
    async def main():
        global count
        ids = json.loads(sys.stdin.readline())  # before connecting: the parent's write must not block its loop
        async with Client(url, timeout=30) as c:
            ns = await c.get_namespace_index("http://bench.local/opcua")
            sub = await c.create_subscription(interval * 1000, H())
            for i in range(0, len(ids), 1000):
                await sub.subscribe_data_change([c.get_node(ua.NodeId(p, ns)) for p in ids[i:i + 1000]],
                                                queuesize=1)
            await asyncio.sleep(settle)
            print("ready", flush=True)
            await asyncio.sleep(settle / 2)
            count = 0; lat.clear()
            await asyncio.sleep(seconds)
            print(json.dumps({"count": count, "seconds": seconds, "lat": lat[-20000:]}), flush=True)
    asyncio.run(main())
""")


def _rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _baseline_build(sample: int) -> float:
    """Seconds per node with asyncua's node-by-node API."""
    server = Server()
    await server.init()
    ns = await server.register_namespace("http://baseline/")
    folder = await server.nodes.objects.add_folder(ua.NodeId("f", ns), "f")
    t0 = time.perf_counter()
    for i in range(sample):
        await folder.add_variable(ua.NodeId(f"v{i}", ns), f"v{i}", 0.0)
    return (time.perf_counter() - t0) / sample


def _plain_push(svc: OpcUaServer) -> Callable[[PointState], Awaitable[None]]:
    """The service's push before shared DataValues: a fresh plain DataValue through asyncua's server API."""
    assert svc.server is not None and svc.ids is not None
    server, ids = svc.server, svc.ids
    vtypes = {p.id: variant_type(p.datatype) for p in svc.view.model.points.values()}

    async def push(s: PointState) -> None:
        shared = data_value(s, vtypes[s.point])
        dv = ua.DataValue(shared.Value, shared.StatusCode, shared.SourceTimestamp, shared.ServerTimestamp)
        await server.write_attribute_value(ids.point(s.point), dv)

    return push


class _Ignore:
    def datachange_notification(self, node: object, val: object, data: object) -> None:
        pass


async def _push_cost(n_points: int, n_updates: int) -> dict[str, float]:
    """Server-side µs per value change, every numeric point monitored (queue size 1), per push method."""
    model = synthetic_model(n_points)
    gw = Gateway(model)
    svc = OpcUaServer(OpcUaServerConfig(host="127.0.0.1", port=0, security=["None"], allow_anonymous=True), gw.view)
    await svc.start()
    assert svc.server is not None and svc.ids is not None
    server, ids = svc.server, svc.ids
    numeric = [p.id for p in model.points.values() if not p.id.endswith(".p4")]
    nodes = {pid: server.get_node(ids.point(pid)) for pid in numeric}
    sub = await server.create_subscription(50, _Ignore())
    for i in range(0, len(numeric), 1000):
        await sub.subscribe_data_change([nodes[p] for p in numeric[i : i + 1000]], queuesize=1)
    rng = random.Random(3)
    picks = [numeric[rng.randrange(len(numeric))] for _ in range(n_updates)]
    now = utcnow()
    states = [PointState(pid, float(i), now, now, Quality.GOOD, "Good", None) for i, pid in enumerate(picks)]
    attr = server.iserver.attribute_service
    hooked = attr.write
    vt = ua.VariantType.Double

    async def plain_write_value(s: PointState) -> None:
        await nodes[s.point].write_value(
            ua.DataValue(ua.Variant(s.value, vt), SourceTimestamp=s.source_ts, ServerTimestamp=s.gateway_ts)
        )

    methods = {
        "asyncua Node.write_value (baseline)": plain_write_value,
        "plain DataValue, Server.write_attribute_value (old push)": _plain_push(svc),
        "service push (ValuePusher, shared DataValue)": svc._push,
    }
    out: dict[str, float] = {}
    # the service intercepts writes for clients; the baseline measures asyncua's own write service
    attr.write = type(attr).write.__get__(attr)  # type: ignore[method-assign]
    try:
        for _ in range(2):  # the second round counts (warm caches, settled heap)
            for name, push in methods.items():
                t0 = time.perf_counter()
                for s in states:
                    await push(s)  # type: ignore[operator]
                out[name] = (time.perf_counter() - t0) / len(states) * 1e6
                await asyncio.sleep(0.1)  # let the subscription publish
    finally:
        attr.write = hooked  # type: ignore[method-assign]
    await svc.stop()
    gw.twin.close()
    return out


async def _run(
    n_points: int, interval: float, seconds: float, share: float, plain: bool = False, settle: float = 2.0
) -> dict[str, float]:
    model = synthetic_model(n_points)
    gw = Gateway(model)  # not started: the writer below is the only source of changes
    svc = OpcUaServer(OpcUaServerConfig(host="127.0.0.1", port=0, security=["None"], allow_anonymous=True), gw.view)
    await svc.start()
    if plain:
        svc._push = _plain_push(svc)  # type: ignore[method-assign]
    build = svc.build_seconds
    numeric = [p.id for p in model.points.values() if not p.id.endswith(".p4")]
    proc = subprocess.Popen(  # noqa: ASYNC220 - a benchmark helper process, started once
        [sys.executable, "-c", _CLIENT, svc.endpoints()[0], str(n_points), str(interval), str(seconds), str(settle)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(numeric) + "\n")
    proc.stdin.flush()
    rng = random.Random(5)
    stop = asyncio.Event()
    applied = 0

    async def writer() -> None:
        nonlocal applied
        k = max(1, int(len(numeric) * share))
        while not stop.is_set():
            now = utcnow()
            for pid in rng.sample(numeric, k):
                gw.twin.apply(Sample(pid, rng.uniform(0, 100), now, Quality.GOOD, "Good", None, "bench"))
            applied += k
            await asyncio.sleep(0.05)

    ready = await asyncio.to_thread(proc.stdout.readline)  # the client subscribed before the load starts
    assert ready.strip() == "ready", ready
    task = asyncio.create_task(writer())
    a0 = applied
    result = json.loads(await asyncio.to_thread(proc.stdout.readline))
    offered = (applied - a0) / seconds
    stop.set()
    await task
    proc.kill()  # the figures are in; a client disconnect can hang on asyncua publish timeouts
    proc.wait(10)
    rss = _rss_mib()
    await svc.stop()
    gw.twin.close()
    lat = result["lat"] or [float("nan")]
    return {
        "build": build,
        "notif": result["count"] / result["seconds"],
        "offered": offered,
        "p50": pct(lat, 50) * 1000,
        "p95": pct(lat, 95) * 1000,
        "p99": pct(lat, 99) * 1000,
        "rss": rss,
    }


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    n_points = 200 if quick else 10_000
    seconds = 0.5 if quick else 10.0
    per_node = asyncio.run(_baseline_build(50 if quick else 500))
    cost = asyncio.run(_push_cost(n_points, 500 if quick else 20_000))
    rows = []
    runs = ((0.05, True), (0.05, False), (0.5, True), (0.5, False))
    for interval, plain in runs[:2] if quick else runs:  # quick: both push paths, one publishing interval
        r = asyncio.run(
            _run(n_points, interval, seconds, share=0.1 if quick else 0.05, plain=plain, settle=0.5 if quick else 2.0)
        )
        rows.append(
            [
                n_points,
                f"{interval * 1000:.0f}",
                "plain DataValue (old)" if plain else "ValuePusher (service)",
                f"{r['build']:.2f}",
                f"{per_node * n_points:.1f}",
                f"{r['offered']:,.0f}",
                f"{r['notif']:,.0f}",
                f"{r['p50']:.1f}",
                f"{r['p95']:.1f}",
                f"{r['p99']:.1f}",
                f"{r['rss']:.0f}",
            ]
        )
    print(
        "one asyncua client in its own process subscribed to every numeric point (queue size 1); the twin changes "
        f"{10 if quick else 5}% of the points every 50 ms; latency = notification received - gateway time of the change"
    )
    print(
        table(
            [
                "points",
                "publish ms",
                "push",
                "build s",
                "baseline build s (add_variable, extrapolated)",
                "changes/s offered",
                "notifications/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "gateway RSS MiB",
            ],
            rows,
        )
    )
    print()
    print(f"server-side cost of one value change, {n_points} points all monitored (internal subscription, queue 1)")
    print(
        table(
            ["points", "push method", "µs per change", "changes/s (one core)"],
            [[n_points, name, f"{us:.1f}", f"{1e6 / us:,.0f}"] for name, us in cost.items()],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
