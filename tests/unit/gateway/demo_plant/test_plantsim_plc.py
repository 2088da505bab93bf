"""The demo PLC behaves like a boiler house (pure simulation logic, no sockets): the register layout that
examples/demo/plant.yaml and docs describe, temperatures following the setpoint, the pump cycling, the
energy counter counting up only while the boiler is enabled."""

from __future__ import annotations

import struct

from gateway.demo_plant.plc import BoilerPlc

SUPPLY, RETURN, FLOW, ENERGY, SETPOINT = 0, 1, 2, 4, 10
PUMP, ENABLE = 0, 1


def int16(plc: BoilerPlc, address: int) -> int:
    return int(struct.unpack(">h", struct.pack(">H", plc.memory.get("holding", address)[0]))[0])


def float32(plc: BoilerPlc, address: int) -> float:
    return float(struct.unpack(">f", struct.pack(">HH", *plc.memory.get("holding", address, 2)))[0])


def uint32(plc: BoilerPlc, address: int) -> int:
    return int(struct.unpack(">I", struct.pack(">HH", *plc.memory.get("holding", address, 2)))[0])


def run(plc: BoilerPlc, seconds: float, *, start: float = 0.0, dt: float = 0.5) -> float:
    """Tick the plant for ``seconds`` of simulated time; returns the end time."""
    t = start
    while t < start + seconds:
        t += dt
        plc.tick(t, dt)
    return t


def test_supply_temperature_settles_on_the_setpoint_and_return_is_cooler() -> None:
    plc = BoilerPlc(port=0)
    assert int16(plc, SETPOINT) == 700  # 70.0 °C out of the box
    plc.memory.set("holding", SETPOINT, 800)  # a client writes 80.0 °C
    run(plc, 300)
    supply = int16(plc, SUPPLY) / 10
    assert abs(supply - 80.0) < 1.0
    assert 9.0 < supply - int16(plc, RETURN) / 10 < 15.0


def test_negative_temperatures_are_twos_complement_int16() -> None:
    plc = BoilerPlc(port=0)
    plc.memory.set("holding", SETPOINT, (-150) & 0xFFFF)  # -15.0 °C
    run(plc, 400)
    assert plc.memory.get("holding", SUPPLY)[0] > 0x8000  # raw register: the sign bit is set
    assert abs(int16(plc, SUPPLY) / 10 - (-15.0)) < 1.0


def test_pump_cycles_every_20_s_and_flow_follows_it() -> None:
    plc = BoilerPlc(port=0)
    seen = []
    for t in (1.0, 5.0, 9.5, 11.0, 15.0, 19.5, 21.0):
        plc.tick(t, 0.5)
        seen.append((bool(plc.memory.get("coil", PUMP)[0]), float32(plc, FLOW)))
    assert [running for running, _ in seen] == [True, True, True, False, False, False, True]
    for running, flow in seen:
        assert (2.5 < flow < 4.0) if running else flow == 0.0


def test_energy_counter_counts_up_only_while_enabled() -> None:
    plc = BoilerPlc(port=0)
    plc.tick(1.0, 0.5)
    before = uint32(plc, ENERGY)
    assert before > 0
    plc.tick(3601.0, 3600.0)  # one hour of a 40 kW burner
    after = uint32(plc, ENERGY)
    assert abs(after - before - 40_000) <= 1  # Wh
    plc.memory.set("coil", ENABLE, 0)  # a client switches the boiler off
    plc.tick(7201.0, 3600.0)
    assert uint32(plc, ENERGY) == after


def test_disabled_boiler_cools_towards_room_temperature() -> None:
    plc = BoilerPlc(port=0)
    run(plc, 60)
    hot = int16(plc, SUPPLY) / 10
    plc.memory.set("coil", ENABLE, 0)
    run(plc, 300, start=60)
    assert int16(plc, SUPPLY) / 10 < hot - 20


SUPPLY_AIR, FAN = 20, 2


def test_ahu_supply_air_follows_the_boiler_water_while_its_fan_runs() -> None:
    plc = BoilerPlc(port=0)
    assert plc.memory.get("coil", FAN) == [1]  # the fan runs out of the box
    run(plc, 600)
    warm = int16(plc, SUPPLY_AIR) / 10
    assert 20.0 < warm < 24.0  # about 22 °C at 70 °C water
    plc.memory.set("holding", SETPOINT, 500)  # colder water, cooler air
    run(plc, 900, start=600)
    assert int16(plc, SUPPLY_AIR) / 10 < warm - 1.0
    plc.memory.set("coil", FAN, 0)  # a client stops the fan
    run(plc, 600, start=1500)
    assert abs(int16(plc, SUPPLY_AIR) / 10 - 16.0) < 0.5
