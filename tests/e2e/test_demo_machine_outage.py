"""The third device of the demo goes away: the OPC UA machine's server stops mid-run. Only the machine's points
go Bad (with a reason), the PLC and MQTT points stay Good, and the machine's points recover with fresh values
when its server returns on the same port; a write to it while it is down is refused with a Bad status and
reaches it once it is back."""

from __future__ import annotations

from gateway.demo_plant.runner import Demo
from tests.conftest import wait_for

MACHINE_POINTS = ("spindle_speed", "motor_temp", "parts", "speed_setpoint")


def _status(demo: Demo, point: str) -> str | None:
    twin = demo.gateway.twin  # type: ignore[union-attr]
    return twin.state(point).status if point in twin.states() else None


async def test_machine_server_stopped_mid_run_only_its_points_go_bad_and_recover(demo: Demo) -> None:
    gw = demo.gateway
    assert gw is not None
    twin = gw.twin
    await wait_for(
        lambda: all(_status(demo, p) == "Good" for p in ("machine1.motor_temp", "hall-s1.temperature")),
        what="machine and MQTT points Good",
    )
    await demo.machine.stop()
    await wait_for(
        lambda: all(twin.state(f"machine1.{p}").quality.name == "BAD" for p in MACHINE_POINTS),
        timeout=15,
        what="machine points Bad",
    )
    assert twin.state("machine1.motor_temp").reason
    assert _status(demo, "boiler1.supply_temp") == "Good" and _status(demo, "hall-s1.temperature") == "Good"

    refused = await twin.write("machine1.speed_setpoint", 900.0, actor="test")
    assert not refused.ok and refused.status.startswith("Bad"), refused

    before = twin.state("boiler1.supply_temp").source_ts
    await demo.machine.start()
    await wait_for(
        lambda: all(_status(demo, f"machine1.{p}") == "Good" for p in MACHINE_POINTS),
        timeout=20,
        what="machine recovery",
    )
    assert twin.state("boiler1.supply_temp").source_ts != before  # the PLC kept polling all along
    result = await twin.write("machine1.speed_setpoint", 1500.0, actor="test")
    assert result.ok, result
    assert await demo.machine.nodes["setpoint"].read_value() == 1500.0  # type: ignore[attr-defined]
    rows = await twin.query(
        "PREFIX tb: <https://w3id.org/twinbridge#> SELECT ?q WHERE { "
        "<http://demo.twinbridge.local/point/machine1.spindle_speed> tb:quality ?q }"
    )
    assert [str(r["q"].value).rsplit("#", 1)[-1] for r in rows] == ["Good"]
