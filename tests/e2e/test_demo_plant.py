"""End to end on real sockets: PLC register -> SPARQL and OPC UA; writes from OPC UA and REST -> devices;
one device killed mid-run; the demo command as a process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import httpx
from asyncua import Client, ua

from gateway.demo_plant.runner import Demo
from tests.conftest import wait_for
from tests.e2e.conftest import free_ports

ROOT = Path(__file__).resolve().parents[2]
UA_NS = "http://demo.twinbridge.local/opcua"


def _int16(v: int) -> int:
    return struct.unpack(">H", struct.pack(">h", v))[0]


async def test_plc_value_reaches_sparql_and_opcua_subscription(demo: Demo) -> None:
    plc = demo.plc
    p = demo.ports
    async with Client(f"opc.tcp://127.0.0.1:{p.opcua}/twinbridge", timeout=5) as c:
        ns = await c.get_namespace_index(UA_NS)
        seen: list[float] = []

        class Handler:
            def datachange_notification(self, node: object, val: float, data: object) -> None:
                seen.append(val)

        sub = await c.create_subscription(100, Handler())
        await sub.subscribe_data_change(c.get_node(ua.NodeId("boiler1.return_temp", ns)))
        # freeze the simulation's writes to the register and set a recognisable value
        demo.plc._task.cancel()  # type: ignore[union-attr]
        plc.memory.set("holding", 1, _int16(-123))  # -12.3 degC after scale 0.1
        await wait_for(lambda: any(abs(v - (-12.3)) < 1e-3 for v in seen if v is not None), what="OPC UA notification")
    q = (
        "PREFIX tb: <https://w3id.org/twinbridge#> SELECT ?v WHERE { "
        "<http://demo.twinbridge.local/point/boiler1.return_temp> tb:value ?v }"
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{p.http}") as http:
        r = await http.get("/sparql", params={"query": q})
        rows = json.loads(r.content)["results"]["bindings"]
        assert abs(float(rows[0]["v"]["value"]) - (-12.3)) < 1e-3


async def test_writes_from_opcua_and_rest_reach_the_devices(demo: Demo) -> None:
    p = demo.ports
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{p.http}", headers={"Authorization": f"Bearer {demo.token}"}
    ) as http:
        r = await http.put("/points/boiler1.setpoint/value", json={"value": 61.5})
        assert r.status_code == 200 and r.json()["ok"]
        assert demo.plc.memory.get("holding", 10) == [615]
        r = await http.put("/points/boiler1.setpoint/value", json={"value": 99})  # above max 90
        assert r.status_code == 422 and demo.plc.memory.get("holding", 10) == [615]
    c = Client(f"opc.tcp://127.0.0.1:{p.opcua}/twinbridge", timeout=5)
    c.set_user("operator")
    c.set_password(demo.password)
    async with c:
        ns = await c.get_namespace_index(UA_NS)
        await c.get_node(ua.NodeId("machine1.speed_setpoint", ns)).write_value(
            ua.DataValue(ua.Variant(1750.0, ua.VariantType.Double))
        )
        machine_sp = demo.machine.nodes["setpoint"]
        assert await machine_sp.read_value() == 1750.0  # type: ignore[attr-defined]
        await c.get_node(ua.NodeId("boiler1.enable", ns)).write_value(
            ua.DataValue(ua.Variant(False, ua.VariantType.Boolean))
        )
        assert demo.plc.memory.get("coil", 1) == [0]
    async with Client(f"opc.tcp://127.0.0.1:{p.opcua}/twinbridge", timeout=5) as anon:  # viewers cannot write
        ns = await anon.get_namespace_index(UA_NS)
        try:
            await anon.get_node(ua.NodeId("boiler1.setpoint", ns)).write_value(
                ua.DataValue(ua.Variant(50.0, ua.VariantType.Float))
            )
            raise AssertionError("an anonymous viewer could write")
        except ua.uaerrors.BadUserAccessDenied:
            pass


async def test_device_killed_mid_run_only_its_points_go_bad(demo: Demo) -> None:
    twin = demo.gateway.twin  # type: ignore[union-attr]
    await wait_for(
        lambda: twin.state("hall-s1.temperature").status == "Good" if "hall-s1.temperature" in twin.states() else False,
        what="MQTT points",
    )
    await demo.plc.stop()
    await wait_for(lambda: twin.state("boiler1.supply_temp").quality.name == "BAD", what="PLC points Bad")
    assert twin.state("machine1.motor_temp").status == "Good"
    assert twin.state("hall-s1.temperature").status == "Good"
    await demo.plc.start()
    await wait_for(lambda: twin.state("boiler1.supply_temp").status == "Good", timeout=15, what="PLC recovery")


def test_demo_command_starts_prints_endpoints_and_stops_cleanly() -> None:
    ports = free_ports(5)
    args = ["--http-port", "--opcua-port", "--modbus-port", "--machine-port", "--mqtt-port"]
    cmd = [sys.executable, "-m", "gateway.cli", "demo"]
    for a, port in zip(args, ports, strict=True):
        cmd += [a, str(port)]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            break
    out = "".join(lines)
    assert "from start to the first answered SPARQL query" in out, out + (proc.stderr.read() if proc.stderr else "")
    assert f"opc.tcp://127.0.0.1:{ports[1]}/twinbridge" in out and f"http://127.0.0.1:{ports[0]}/sparql" in out
    r = httpx.get(f"http://127.0.0.1:{ports[0]}/health", timeout=5)
    assert r.status_code in (200, 503)
    children = subprocess.run(
        ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    _ = asyncio


async def test_example_queries_answer_on_the_demo(demo: Demo) -> None:
    import re

    text = (ROOT / "examples" / "queries.md").read_text()
    prefixes = text.split("```\n", 2)[1].split("```")[0]
    queries = re.findall(r"```sparql\n(.*?)```", text, re.S)
    assert len(queries) >= 5
    twin = demo.gateway.twin  # type: ignore[union-attr]
    await wait_for(lambda: "hall-s1.temperature" in twin.states(), what="MQTT points discovered")
    bad_or_stale = next(q for q in queries if "tb:qualityReason" in q)
    for q in queries:
        if q is not bad_or_stale:
            assert await twin.query(prefixes + q), q
    assert await twin.query(prefixes + bad_or_stale) == []  # a healthy plant
    await demo.plc.stop()
    await wait_for(lambda: twin.state("boiler1.flow").quality.name == "BAD", what="PLC points Bad")
    bad = {r["point"].value.rsplit("/", 1)[1] for r in await twin.query(prefixes + bad_or_stale)}
    assert {"boiler1.flow", "boiler1.setpoint"} <= bad and not any(p.startswith("machine1") for p in bad)
    # and the example client against the live HTTP API
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "examples" / "client.py"),
        f"http://127.0.0.1:{demo.ports.http}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "boiler1" in out.decode() and "following the next" in out.decode()
