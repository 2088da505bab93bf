"""The demo shows analytics: a derived thermal power with its unit, and faults injected on command (an operator
writes plc1.fault_injection over REST, the twin passes it to the PLC's holding register 30) make the alarms
fire as designed, seen in GET /alarms and the journal; writing 0 ends the fault. The room sensors, discovered
from MQTT at run time, get the stale-value class rule and raise it when they go silent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import httpx
import pytest
import pytest_asyncio

from gateway.demo_plant.faults import Fault
from gateway.demo_plant.plc import FAULT_REGISTER
from gateway.demo_plant.runner import Demo
from tests.conftest import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMIT = "boiler1.supply_temp/limit"
OFF_SETPOINT = "boiler1.supply_temp/off-setpoint"
ROOM_TEMPERATURES = ("hall-s1.temperature", "hall-s2.temperature", "office-s3.temperature")


@pytest_asyncio.fixture(loop_scope="module")
async def http(plant: Demo) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{plant.ports.http}", timeout=10) as c:
        yield c


async def until(probe: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    """Poll ``probe()`` every 0.2 s until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen within {timeout} s")
        await asyncio.sleep(0.2)


async def inject(plant: Demo, http: httpx.AsyncClient, fault: int) -> None:
    """Write the fault command as the demo's operator and see it reach the PLC's register."""
    r = await http.put(
        "/points/plc1.fault_injection/value",
        json={"value": fault},
        headers={"Authorization": f"Bearer {plant.token}"},
    )
    assert r.status_code == 200 and r.json()["ok"], r.text
    await wait_for(lambda: plant.plc.memory.get("holding", FAULT_REGISTER) == [fault], what=f"fault {fault} in the PLC")


async def alarm(http: httpx.AsyncClient, alarm_id: str, **query: str) -> dict[str, Any] | None:
    r = await http.get("/alarms", params=query)
    assert r.status_code == 200, r.text
    return next((a for a in r.json() if a["id"] == alarm_id), None)


def value(plant: Demo, pid: str) -> Any:
    return plant.gateway.twin.state(pid).value  # type: ignore[union-attr]


async def test_thermal_power_is_derived_from_flow_and_temperatures_in_kw(plant: Demo, http: httpx.AsyncClient) -> None:
    def consistent() -> bool:
        flow, supply, ret, power = (
            value(plant, f"boiler1.{p}") for p in ("flow", "supply_temp", "return_temp", "thermal_power")
        )
        if None in (flow, supply, ret, power) or flow < 1:
            return False
        # m³/h x K x 1.163 kWh/(m³ K): the water's heat capacity per volume, in kW
        return abs(power - flow * (supply - ret) * 1.163) < 1e-6 * abs(power) + 1e-9

    await wait_for(consistent, timeout=30, what="thermal power computed while the pump runs")
    r = await http.get("/points/boiler1.thermal_power")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unit"] == "KiloW" and body["source"] == "analytics" and not body["writable"]
    assert body["state"]["quality"] == "good"
    assert 20 < body["state"]["value"] < 80  # a 40 kW boiler: about 3.2 m³/h at 12-14 K
    assert "1.163 [KiloW-HR/(M3*K)]" in body["address"]["expr"]


async def test_spike_fault_raises_the_high_high_limit_alarm_and_writing_0_ends_it(
    plant: Demo, http: httpx.AsyncClient
) -> None:
    assert "/points/plc1.fault_injection/value" in plant.banner()  # the demo tells how
    before = await alarm(http, LIMIT, state="all")
    assert before is not None and not before["active"]
    await inject(plant, http, 3)  # spikes: 70 °C reads 105 °C for 4 s
    active = await until(
        lambda: alarm(http, LIMIT, state="active"), timeout=20, what="the supply temperature's limit alarm"
    )
    assert active["limit_state"] == "HighHigh" and active["severity"] == 800 and active["unit"] == "DEG_C"
    assert active["value"] > 95 and active["message"].startswith("Boiler 1: supply water")
    await inject(plant, http, 0)
    cleared = await until(
        lambda: _inactive(http, LIMIT), timeout=20, what="the limit alarm returning to normal after fault 0"
    )
    assert cleared["acked"] is False  # returned, still to be acknowledged: it stays in GET /alarms (retained)
    assert (await alarm(http, LIMIT)) is not None
    assert plant.plc.faults.fault is Fault.NONE and value(plant, "plc1.fault_injection") == 0
    assert value(plant, "boiler1.supply_temp") < 85
    r = await http.get("/alarms/history", params={"alarm": LIMIT, "start": "-5m"})
    assert r.status_code == 200, r.text
    transitions = [e["transition"] for e in r.json()]
    assert transitions.count("activated") == 1 and "cleared" in transitions, transitions


async def _inactive(http: httpx.AsyncClient, alarm_id: str) -> dict[str, Any] | None:
    got = await alarm(http, alarm_id, state="all")
    return got if got is not None and not got["active"] else None


@pytest.mark.slow  # the simulated water cools and heats again at its own pace: about 30 s
async def test_pump_failure_stops_the_heat_and_the_supply_falls_off_its_setpoint(
    plant: Demo, http: httpx.AsyncClient
) -> None:
    await inject(plant, http, 4)
    started = time.monotonic()
    # the pump's normal cycle stops it 10 s in 20; a failure keeps it stopped and the heat at 0 kW
    seen: list[tuple[bool, float]] = []
    while time.monotonic() - started < 15:
        await asyncio.sleep(0.5)
        seen.append((value(plant, "boiler1.pump_running"), value(plant, "boiler1.thermal_power")))
    assert all(running is False and power == 0 for running, power in seen[4:]), seen  # after the first polls
    low = await until(
        lambda: alarm(http, OFF_SETPOINT, state="active"), timeout=40, what="the supply's deviation alarm"
    )
    assert low["limit_state"] == "Low" and low["value"] < 60
    await inject(plant, http, 0)
    await wait_for(lambda: value(plant, "boiler1.thermal_power") > 20, timeout=25, what="heat flowing again")
    await until(lambda: _inactive(http, OFF_SETPOINT), timeout=40, what="the supply back near its setpoint")


async def test_room_sensors_discovered_at_run_time_raise_the_stale_alarm_when_silent(
    plant: Demo, http: httpx.AsyncClient
) -> None:
    """Last in the module: it stops the room sensors."""
    twin = plant.gateway.twin  # type: ignore[union-attr]
    await wait_for(lambda: all(p in twin.states() for p in ROOM_TEMPERATURES), timeout=20, what="MQTT discovery")
    for pid in ROOM_TEMPERATURES:  # the class rule (brick:Air_Temperature_Sensor under site) reached them
        got = await until(partial(alarm, http, f"{pid}/stale", state="all"), 10, f"{pid}'s stale rule")
        assert got["kind"] == "stale" and not got["active"]
    await plant.sensors.stop()
    for pid in ROOM_TEMPERATURES:
        got = await until(partial(alarm, http, f"{pid}/stale", state="active"), 40, f"{pid} stale")
        assert got["message"].endswith("no reading for 15 s") and got["severity"] == 400
