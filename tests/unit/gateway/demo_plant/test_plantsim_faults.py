"""The demo PLC's injected faults (pure simulation logic, no sockets): written to holding 30 as a Modbus client
would, each one shows in the registers the way a real fault would, and 0 ends it."""

from __future__ import annotations

from gateway.demo_plant.faults import DRIFT_RATE, SPIKE_EVERY, SPIKE_HEIGHT, SPIKE_LENGTH, Fault, FaultInjector
from gateway.demo_plant.plc import FAULT_REGISTER, BoilerPlc
from tests.unit.gateway.demo_plant.test_plantsim_plc import (
    ENERGY,
    FLOW,
    PUMP,
    RETURN,
    SUPPLY,
    float32,
    int16,
    run,
    uint32,
)


def supply(plc: BoilerPlc) -> float:
    return int16(plc, SUPPLY) / 10


def settled() -> tuple[BoilerPlc, float]:
    """A plant that has run five minutes (supply at its 70 °C setpoint); returns it and the time."""
    plc = BoilerPlc(port=0)
    return plc, run(plc, 300)


def test_no_fault_out_of_the_box_and_unknown_commands_are_ignored() -> None:
    plc, t = settled()
    assert plc.memory.get("holding", FAULT_REGISTER) == [0] and plc.faults.fault is Fault.NONE
    plc.memory.set("holding", FAULT_REGISTER, 9)
    run(plc, 5, start=t)
    assert plc.faults.fault is Fault.NONE and abs(supply(plc) - 70) < 1.5


def test_stuck_sensor_freezes_the_reading_while_the_plant_moves_on() -> None:
    plc, t = settled()
    plc.memory.set("holding", FAULT_REGISTER, 1)
    t = run(plc, 1, start=t)
    frozen = plc.memory.get("holding", SUPPLY)
    plc.memory.set("holding", 10, 500)  # the setpoint drops to 50 °C: the water cools, the sensor does not see it
    t = run(plc, 120, start=t)
    assert plc.memory.get("holding", SUPPLY) == frozen
    assert int16(plc, RETURN) / 10 < 45  # the return sensor still reads the real, cooler water
    plc.memory.set("holding", FAULT_REGISTER, 0)
    run(plc, 1, start=t)
    assert supply(plc) < 55


def test_drift_ramps_slowly_away_from_the_true_value() -> None:
    plc, t = settled()
    plc.memory.set("holding", FAULT_REGISTER, 2)
    t = run(plc, 1, start=t)
    start = supply(plc)
    readings = []
    for _ in range(6):
        t = run(plc, 10, start=t)
        readings.append(supply(plc))
    assert readings == sorted(readings)  # monotonic: 2 K per 10 s dominates the 0.05 K noise
    assert abs(readings[-1] - start - DRIFT_RATE * 60) < 2.0
    plc.memory.set("holding", FAULT_REGISTER, 0)
    run(plc, 1, start=t)
    assert abs(supply(plc) - 70) < 1.5


def test_spike_is_short_large_and_repeats_while_commanded() -> None:
    plc, t = settled()
    plc.memory.set("holding", FAULT_REGISTER, 3)
    seen: list[float] = []
    for _ in range(int(2 * SPIKE_EVERY / 0.5)):
        t = run(plc, 0.5, start=t)
        seen.append(supply(plc))
    high = [v > 70 + SPIKE_HEIGHT - 3 for v in seen]
    assert 2 * SPIKE_LENGTH / 0.5 - 2 <= sum(high) <= 2 * SPIKE_LENGTH / 0.5  # two spikes of about 4 s
    assert high[0] and not all(high[: int(SPIKE_EVERY / 0.5)])  # the first starts with the command, then ends
    assert max(seen) > 100 and min(seen) < 72
    plc.memory.set("holding", FAULT_REGISTER, 0)
    for _ in range(int(SPIKE_EVERY / 0.5)):
        t = run(plc, 0.5, start=t)
        assert supply(plc) < 72


def test_pump_failure_stops_flow_and_burner_and_the_water_cools() -> None:
    plc, t = settled()
    plc.memory.set("holding", FAULT_REGISTER, 4)
    t = run(plc, 0.5, start=t)
    energy = uint32(plc, ENERGY)
    temps = []
    for _ in range(12):  # a whole minute: the pump's normal 10 s on / 10 s off cycle would have run it
        t = run(plc, 5, start=t)
        assert plc.memory.get("coil", PUMP) == [0] and float32(plc, FLOW) == 0.0
        temps.append(supply(plc))
    assert uint32(plc, ENERGY) == energy  # the burner is interlocked off
    assert temps[0] > temps[-1] and temps[-1] < 45  # cooling towards the room's 20 °C
    assert abs(temps[-1] - int16(plc, RETURN) / 10) < 6  # stagnant water: supply and return come together
    plc.memory.set("holding", FAULT_REGISTER, 0)
    flows = []
    for _ in range(40):
        t = run(plc, 0.5, start=t)
        flows.append(float32(plc, FLOW))
    assert max(flows) > 2.5  # circulating again


def test_changing_the_fault_restarts_its_clock() -> None:
    faults = FaultInjector()
    faults.command(2, 10.0, 70.0)
    assert faults.supply_reading(20.0, 70.0) == 70.0 + DRIFT_RATE * 10
    faults.command(2, 30.0, 70.0)  # the same command again: the drift goes on
    assert faults.since == 10.0
    faults.command(1, 40.0, 71.0)
    assert faults.supply_reading(99.0, 60.0) == 71.0
    faults.command(3, 50.0, 70.0)
    assert faults.spiking(50.0) and not faults.spiking(50.0 + SPIKE_LENGTH + 0.1)
    assert faults.spiking(50.0 + SPIKE_EVERY)
