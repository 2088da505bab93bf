"""Faults the demo PLC injects on command, so each alarm and anomaly detector of the demo can be seen firing.

An operator writes the fault command register (holding 30, the twin's ``plc1.fault_injection``):
0 none, 1 stuck supply-temperature sensor, 2 drifting sensor, 3 spikes, 4 circulation pump failure.
Sensor faults change only what the supply-temperature sensor reports; the plant itself runs on. A pump failure
changes the plant: no flow, the burner's flow interlock stops it, and the water in the pipes cools down.
Each fault starts when the command changes to it; writing 0 (or any unknown value) ends it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Fault(enum.IntEnum):
    """The fault command register's values."""

    NONE = 0
    STUCK = 1  # the supply-temperature reading freezes at the value it had when the fault began
    DRIFT = 2  # the reading ramps away from the true temperature (a sensor losing its calibration)
    SPIKE = 3  # short large excursions of the reading (a loose connection), one every SPIKE_EVERY seconds
    PUMP_FAILURE = 4  # pump stopped, flow 0, burner interlocked off, temperatures fall


DRIFT_RATE = 0.2  # K/s: 12 K a minute, past an 85 °C limit from 70 °C in about 75 s
DRIFT_MAX = 40.0  # K: a drifting sensor ends at its range, not at infinity
SPIKE_HEIGHT = 35.0  # K above the true value: 70 °C reads 105 °C, above the demo's high-high limit
SPIKE_LENGTH = 4.0  # s: eight polls of the gateway at 500 ms
SPIKE_EVERY = 30.0  # s between the starts of two spikes while the command holds
COOLING_TIME = 30.0  # s: time constant of the water at the sensors cooling once it stops flowing
ROOM_TEMPERATURE = 20.0  # °C


def parse(command: int) -> Fault:
    """The fault a register value asks for (unknown values: none, as a PLC ignores a bad command)."""
    try:
        return Fault(command)
    except ValueError:
        return Fault.NONE


@dataclass
class FaultInjector:
    """Tracks the commanded fault and distorts what the plant reports accordingly."""

    fault: Fault = Fault.NONE
    since: float = 0.0  # simulation time the current fault began
    frozen: float | None = None  # the stuck sensor's reading

    def command(self, value: int, t: float, supply: float) -> Fault:
        """Take the register's value at time ``t``; a change of fault restarts its clock."""
        fault = parse(value)
        if fault is not self.fault:
            self.fault, self.since = fault, t
            self.frozen = supply if fault is Fault.STUCK else None
        return fault

    @property
    def pump_failed(self) -> bool:
        return self.fault is Fault.PUMP_FAILURE

    def spiking(self, t: float) -> bool:
        """Whether a spike is under way at ``t`` (the first one starts with the command)."""
        return self.fault is Fault.SPIKE and (t - self.since) % SPIKE_EVERY < SPIKE_LENGTH

    def supply_reading(self, t: float, supply: float) -> float:
        """What the supply-temperature sensor reports at ``t`` when the water is at ``supply`` °C."""
        if self.fault is Fault.STUCK and self.frozen is not None:
            return self.frozen
        if self.fault is Fault.DRIFT:
            return supply + min(DRIFT_MAX, DRIFT_RATE * (t - self.since))
        if self.spiking(t):
            return supply + SPIKE_HEIGHT
        return supply
