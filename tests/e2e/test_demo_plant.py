"""End to end on real sockets, with the demo plant running in this process: PLC register -> SPARQL and OPC UA;
writes from OPC UA and REST -> PLC and machine; a device or the broker killed mid-run; the example client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from asyncua import Client, ua

from gateway.demo_plant.runner import Demo
from gateway.demo_plant.sensors import EmbeddedBroker, find_mosquitto
from tests.conftest import wait_for
from tests.e2e.conftest import StartDemo, free_ports

ROOT = Path(__file__).resolve().parents[2]
UA_NS = "http://demo.twinbridge.local/opcua"
POINT = "http://demo.twinbridge.local/point/"


def _uint16(v: int) -> int:
    """A signed register value as the PLC stores it."""
    return struct.unpack(">H", struct.pack(">h", v))[0]


def _ua(demo: Demo, user: str | None = None) -> Client:
    c = Client(f"opc.tcp://127.0.0.1:{demo.ports.opcua}/twinbridge", timeout=5)
    if user:
        c.set_user(user)
        c.set_password(demo.password)
    return c


def _http(demo: Demo, *, token: bool = False) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {demo.token}"} if token else {}
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{demo.ports.http}", headers=headers, timeout=10)


async def _sparql_value(demo: Demo, point: str) -> Any:
    """The point's live value as the HTTP SPARQL endpoint answers it (None when it has none)."""
    q = f"PREFIX tb: <https://w3id.org/twinbridge#> SELECT ?v WHERE {{ <{POINT}{point}> tb:value ?v }}"
    async with _http(demo) as http:
        r = await http.get("/sparql", params={"query": q}, headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, r.text
    rows = json.loads(r.content)["results"]["bindings"]
    return rows[0]["v"]["value"] if rows else None


def _status(demo: Demo, point: str) -> str | None:
    twin = demo.gateway.twin  # type: ignore[union-attr]
    return twin.state(point).status if point in twin.states() else None


# The next four tests share the module's demo (``plant``, tests/e2e/conftest.py): each puts back what it changed.
# The tests after them start demos of their own.
SHARED = pytest.mark.asyncio(loop_scope="module")


@SHARED
async def test_plc_value_reaches_sparql_and_opcua_subscription(plant: Demo) -> None:
    twin = plant.gateway.twin  # type: ignore[union-attr]
    await wait_for(lambda: _status(plant, "boiler1.energy") == "Good", what="energy counter read")
    first = twin.state("boiler1.energy").value
    assert 12_500 <= first < 12_600, first  # kWh in the twin from the PLC's Wh register (source_unit W-HR)
    await wait_for(lambda: twin.state("boiler1.energy").value > first, what="energy counting up")
    async with _ua(plant) as c:
        ns = await c.get_namespace_index(UA_NS)
        seen: list[float] = []

        class Handler:
            def datachange_notification(self, node: object, val: float, data: object) -> None:
                seen.append(val)

        sub = await c.create_subscription(100, Handler())
        await sub.subscribe_data_change(c.get_node(ua.NodeId("boiler1.return_temp", ns)))
        plant.plc.pause()  # the simulation would overwrite the register
        try:
            plant.plc.memory.set("holding", 1, _uint16(-123))  # -12.3 °C after the mapping's scale 0.1
            await wait_for(
                lambda: any(v is not None and abs(v + 12.3) < 1e-3 for v in seen), what="OPC UA notification"
            )
            assert abs(float(await _sparql_value(plant, "boiler1.return_temp")) + 12.3) < 1e-3
        finally:
            plant.plc.paused = False  # the shared plant simulates again


@SHARED
async def test_writes_from_rest_and_opcua_reach_plc_and_machine(plant: Demo) -> None:
    plc, machine_sp = plant.plc.memory, plant.machine.nodes["setpoint"]
    async with _http(plant, token=True) as http:
        r = await http.put("/points/boiler1.setpoint/value", json={"value": 61.5})
        assert r.status_code == 200 and r.json()["ok"], r.text
        assert plc.get("holding", 10) == [615]
        r = await http.put("/points/boiler1.setpoint/value", json={"value": 99})  # above the mapping's max 90
        assert r.status_code == 422 and plc.get("holding", 10) == [615]
        r = await http.put("/points/machine1.speed_setpoint/value", json={"value": 1600})
        assert r.status_code == 200, r.text
        assert await machine_sp.read_value() == 1600.0  # type: ignore[attr-defined]
    # the twin shows the written setpoint once the PLC reports it (next poll)
    await wait_for(lambda: plant.gateway.twin.state("boiler1.setpoint").value == 61.5, what="setpoint in the twin")  # type: ignore[union-attr]

    async with _ua(plant, "operator") as c:
        ns = await c.get_namespace_index(UA_NS)
        await c.get_node(ua.NodeId("boiler1.setpoint", ns)).write_value(
            ua.DataValue(ua.Variant(55.5, ua.VariantType.Float))
        )
        assert plc.get("holding", 10) == [555]
        await c.get_node(ua.NodeId("boiler1.enable", ns)).write_value(
            ua.DataValue(ua.Variant(False, ua.VariantType.Boolean))
        )
        assert plc.get("coil", 1) == [0]
        await c.get_node(ua.NodeId("machine1.speed_setpoint", ns)).write_value(
            ua.DataValue(ua.Variant(1750.0, ua.VariantType.Double))
        )
        assert await machine_sp.read_value() == 1750.0  # type: ignore[attr-defined]
    async with _ua(plant) as anon:  # anonymous sessions are viewers
        ns = await anon.get_namespace_index(UA_NS)
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await anon.get_node(ua.NodeId("boiler1.setpoint", ns)).write_value(
                ua.DataValue(ua.Variant(50.0, ua.VariantType.Float))
            )
    assert plc.get("holding", 10) == [555]
    # the shared plant as it started: boiler enabled at its 70 °C setpoint, spindle setpoint 1200 rpm
    plc.set("holding", 10, 700)
    plc.set("coil", 1, 1)
    await machine_sp.write_value(1200.0)  # type: ignore[attr-defined]


@SHARED
async def test_plc_stopped_mid_run_only_its_points_go_bad_and_recover(plant: Demo) -> None:
    twin = plant.gateway.twin  # type: ignore[union-attr]
    await wait_for(lambda: _status(plant, "hall-s1.temperature") == "Good", what="MQTT points")
    await plant.plc.stop()
    await wait_for(lambda: twin.state("boiler1.supply_temp").quality.name == "BAD", what="PLC points Bad")
    assert all(twin.state(f"boiler1.{p}").quality.name == "BAD" for p in ("flow", "energy", "setpoint", "enable"))
    assert twin.state("boiler1.supply_temp").reason
    assert _status(plant, "machine1.motor_temp") == "Good" and _status(plant, "hall-s1.temperature") == "Good"
    await plant.plc.start()
    await wait_for(lambda: _status(plant, "boiler1.supply_temp") == "Good", timeout=15, what="PLC recovery")
    assert await _sparql_value(plant, "boiler1.supply_temp") is not None


@SHARED
async def test_the_example_client_queries_and_follows_the_demo(plant: Demo) -> None:
    # every example query itself is checked on the demo in test_example_queries.py
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "examples" / "client.py"),
        f"http://127.0.0.1:{plant.ports.http}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "boiler1" in out.decode() and "following the next" in out.decode()


@pytest.mark.skipif(
    find_mosquitto() is None, reason="needs the mosquitto binary (a broker process to kill): apt-get install mosquitto"
)
async def test_broker_process_killed_only_mqtt_points_go_bad_and_recover(start_demo: StartDemo) -> None:
    demo = await start_demo(broker="mosquitto")
    broker = demo.broker
    assert broker is not None and broker.proc is not None
    twin = demo.gateway.twin  # type: ignore[union-attr]
    await wait_for(lambda: _status(demo, "office-s3.co2") == "Good", what="MQTT points")
    os.kill(broker.proc.pid, signal.SIGKILL)
    await asyncio.to_thread(broker.proc.wait)
    await wait_for(lambda: twin.state("office-s3.co2").quality.name == "BAD", what="MQTT points Bad")
    sensors = [p for p in twin.states() if p.startswith(("hall-", "office-"))]
    assert len(sensors) == 12 and all(twin.state(p).quality.name == "BAD" for p in sensors)
    assert _status(demo, "boiler1.supply_temp") == "Good" and _status(demo, "machine1.spindle_speed") == "Good"
    await broker.start()  # the same port: the adapter's supervisor and the sensors reconnect by themselves
    await wait_for(lambda: all(_status(demo, p) == "Good" for p in sensors), timeout=20, what="MQTT recovery")


async def test_amqtt_broker_carries_readings_and_setpoint_writes(start_demo: StartDemo) -> None:
    demo = await start_demo(broker="amqtt")  # what a machine without mosquitto gets
    assert demo.broker is not None and demo.broker.kind == "amqtt" and demo.broker.proc is None
    await wait_for(lambda: _status(demo, "hall-s1.setpoint") == "Good", what="MQTT points through amqtt")
    async with _http(demo, token=True) as http:
        r = await http.put("/points/hall-s1.setpoint/value", json={"value": 23.5})
        assert r.status_code == 200, r.text
    await wait_for(lambda: demo.sensors.setpoints["s1"] == 23.5, what="setpoint at the sensor")
    twin = demo.gateway.twin  # type: ignore[union-attr]
    await wait_for(lambda: twin.state("hall-s1.setpoint").value == 23.5, what="sensor reports the new setpoint")


async def test_sensors_and_gateway_use_a_broker_given_by_url(start_demo: StartDemo) -> None:
    (port,) = free_ports(1)
    users_broker = EmbeddedBroker(port)  # stands for a broker the user already runs
    await users_broker.start()
    try:
        demo = await start_demo(mqtt_url=f"mqtt://localhost:{port}")
        assert demo.broker is None and f"mqtt://localhost:{port} (your broker)" in demo.banner()
        await wait_for(lambda: _status(demo, "office-s3.humidity") == "Good", what="MQTT points via the URL")
        assert demo.gateway.model.sources["sensors"].endpoint() == f"mqtt://localhost:{port}"  # type: ignore[union-attr]
    finally:
        await users_broker.stop()
