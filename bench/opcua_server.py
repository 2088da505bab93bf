"""OPC UA server: address-space build time, notifications/s and update-to-notification latency.

A twin of N points (10,000 in full mode) is served; a writer task changes a share of the points every cycle
through ``Twin.apply`` (as adapters do); one asyncua client in a separate process subscribes to every point
and timestamps each notification. Latency = client receive time - gateway time of the change (same machine
clock). Baseline for the build: asyncua's own ``add_variable`` one node at a time, on a sample of nodes.

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

from asyncua import Server, ua

from bench.common import pct, synthetic_model, table
from gateway.northbound.opcua.config import OpcUaServerConfig
from gateway.northbound.opcua.service import OpcUaServer
from gateway.runtime import Gateway
from gateway.sample import Quality, Sample, utcnow

_CLIENT = textwrap.dedent("""
    import asyncio, json, sys, time
    from datetime import datetime, timezone
    from asyncua import Client, ua
    url, n, interval, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
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
            await asyncio.sleep(2)
            print("ready", flush=True)
            await asyncio.sleep(1)
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


async def _run(n_points: int, interval: float, seconds: float, share: float) -> dict[str, float]:
    model = synthetic_model(n_points)
    gw = Gateway(model)  # not started: the writer below is the only source of changes
    svc = OpcUaServer(OpcUaServerConfig(host="127.0.0.1", port=0, security=["None"], allow_anonymous=True), gw)
    await svc.start()
    build = svc.build_seconds
    numeric = [p.id for p in model.points.values() if not p.id.endswith(".p4")]
    proc = subprocess.Popen(  # noqa: ASYNC220 - a benchmark helper process, started once
        [sys.executable, "-c", _CLIENT, svc.endpoints()[0], str(n_points), str(interval), str(seconds)],
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
    n_points = 1_000 if quick else 10_000
    seconds = 3.0 if quick else 10.0
    per_node = asyncio.run(_baseline_build(200 if quick else 500))
    rows = []
    for interval in (0.05, 0.5):
        r = asyncio.run(_run(n_points, interval, seconds, share=0.1 if quick else 0.05))
        rows.append(
            [
                n_points,
                f"{interval * 1000:.0f}",
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
