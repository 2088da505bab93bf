"""End to end: a register change in a Modbus PLC -> data change at an OPC UA client of the gateway, and -> the
first SPARQL result showing it, on the demo plant (poll interval 500 ms, OPC UA publishing interval 50 ms).

Baseline: the poll interval itself (a change waits on average half of it and at most all of it for the next
poll); the target is p95 under poll interval + 50 ms.

    python -m bench e2e [--quick]
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time

import httpx
from asyncua import Client, ua

from bench.common import pct, table
from gateway.demo_plant.runner import Demo, Ports

POLL_S = 0.5


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()
    return ports


async def _run(samples: int) -> tuple[list[float], list[float]]:
    demo = Demo(Ports(*_free_ports(5)))
    await demo.start()
    ua_lat: list[float] = []
    sparql_lat: list[float] = []
    try:
        demo.plc.pause()  # the benchmark drives the register itself
        q = (
            "PREFIX tb: <https://w3id.org/twinbridge#> SELECT ?v WHERE { "
            "<http://demo.twinbridge.local/point/boiler1.return_temp> tb:value ?v }"
        )
        got: dict[float, float] = {}

        class Handler:
            def datachange_notification(self, node: object, val: float, data: object) -> None:
                if val is not None:
                    got.setdefault(round(val, 1), time.perf_counter())

        async with (
            Client(f"opc.tcp://127.0.0.1:{demo.ports.opcua}/twinbridge", timeout=10) as c,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{demo.ports.http}") as http,
        ):
            ns = await c.get_namespace_index("http://demo.twinbridge.local/opcua")
            sub = await c.create_subscription(50, Handler())
            await sub.subscribe_data_change(c.get_node(ua.NodeId("boiler1.return_temp", ns)), queuesize=1)
            await asyncio.sleep(1.0)
            for i in range(samples):
                value = 100 + i % 500  # register value; engineering value = value / 10
                target = round(value / 10, 1)
                got.pop(target, None)
                await asyncio.sleep(0.137 * (i % 4))  # change at different phases of the poll cycle
                t0 = time.perf_counter()
                demo.plc.memory.set("holding", 1, struct.unpack(">H", struct.pack(">h", value))[0])
                while True:
                    r = await http.get("/sparql", params={"query": q})
                    rows = json.loads(r.content)["results"]["bindings"]
                    if rows and abs(float(rows[0]["v"]["value"]) - target) < 1e-3:
                        sparql_lat.append(time.perf_counter() - t0)
                        break
                    await asyncio.sleep(0.002)
                deadline = time.perf_counter() + 3
                while target not in got and time.perf_counter() < deadline:
                    await asyncio.sleep(0.002)
                if target in got:
                    ua_lat.append(got[target] - t0)
    finally:
        await demo.stop()
    return ua_lat, sparql_lat


def main(argv: list[str]) -> int:
    samples = 4 if "--quick" in argv else 60  # quick: one change at each of the 4 poll-cycle phases
    ua_lat, sparql_lat = asyncio.run(_run(samples))
    rows = [
        [
            "PLC register -> OPC UA client data change",
            len(ua_lat),
            f"{pct(ua_lat, 50) * 1000:.0f}",
            f"{pct(ua_lat, 95) * 1000:.0f}",
            f"{(POLL_S + 0.05) * 1000:.0f}",
        ],
        [
            "PLC register -> first SPARQL result",
            len(sparql_lat),
            f"{pct(sparql_lat, 50) * 1000:.0f}",
            f"{pct(sparql_lat, 95) * 1000:.0f}",
            f"{(POLL_S + 0.05) * 1000:.0f}",
        ],
        [
            "baseline: the poll interval alone (mean wait / worst)",
            "",
            f"{POLL_S / 2 * 1000:.0f}",
            f"{POLL_S * 1000:.0f}",
            "",
        ],
    ]
    print(
        f"demo plant, Modbus poll interval {POLL_S * 1000:.0f} ms, OPC UA publishing interval 50 ms, "
        "live flush 250 ms (queries flush first)"
    )
    print(table(["path", "samples", "p50 ms", "p95 ms", "target p95 ms"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
