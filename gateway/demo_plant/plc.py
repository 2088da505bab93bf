"""A boiler-house PLC on Modbus TCP (pymodbus server) with a realistic register layout.

It runs the boiler and the air handling unit the boiler's hot water feeds.
Holding registers (zero-based): 0 supply temperature int16 x0.1 °C, 1 return temperature int16 x0.1 °C,
2-3 flow float32 m³/h (ABCD), 4-5 energy uint32 Wh (a 40 kW burner: ~11 Wh/s),
10 supply setpoint int16 x0.1 °C (writable), 20 AHU supply air temperature int16 x0.1 °C,
30 fault command uint16 (writable: 0 none, 1 stuck supply sensor, 2 drift, 3 spikes, 4 pump failure; faults.py).
Coils: 0 pump running (cycles every 20 s), 1 boiler enable (writable), 2 AHU supply fan running (writable: a
stopped fan leaves the supply air at the plant room's temperature).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import struct
import time
from typing import Any

from pymodbus.datastore import ModbusServerContext
from pymodbus.server import ModbusTcpServer

from gateway.demo_plant.faults import COOLING_TIME, ROOM_TEMPERATURE, FaultInjector

FAULT_REGISTER = 30  # holding register of the fault command
_TABLES = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 3: "holding", 6: "holding", 16: "holding", 4: "input"}


class PlcMemory(ModbusServerContext):
    """The PLC's tables, readable and writable by any Modbus client."""

    def __init__(self) -> None:  # skip ModbusServerContext's own init: the server needs only these attributes
        self.old_simulator = True
        self.simdevices: list[Any] = []
        self.values: dict[tuple[str, int], int] = {}

    def device_ids(self) -> list[int]:
        return [1]

    def get(self, table: str, address: int, count: int = 1) -> list[int]:
        return [self.values.get((table, address + i), 0) for i in range(count)]

    def set(self, table: str, address: int, *values: int) -> None:
        for i, v in enumerate(values):
            self.values[(table, address + i)] = int(v)

    async def async_getValues(self, device_id: int, func_code: int, address: int, count: int = 1) -> Any:
        vals = self.get(_TABLES[func_code], address, count)
        return [bool(v) for v in vals] if func_code in (1, 2, 5, 15) else vals

    async def async_setValues(self, device_id: int, func_code: int, address: int, values: Any) -> Any:
        self.set(_TABLES[func_code], address, *[int(v) for v in values])
        return None


def _int16(v: float) -> int:
    return round(v) & 0xFFFF


class BoilerPlc:
    """The simulated PLC: a server plus a task that makes the plant behave."""

    def __init__(self, port: int, seed: int = 1) -> None:
        self.port = port
        self.memory = PlcMemory()
        self.server: ModbusTcpServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._rng = random.Random(seed)
        self.memory.set("holding", 10, 700)  # setpoint 70.0 °C
        self.memory.set("coil", 1, 1)
        self.memory.set("coil", 2, 1)  # AHU fan on
        self._supply_air = 18.0
        self._energy = 12_500_000.0  # Wh: counts visibly (a kWh counter would tick every 90 s)
        self._supply = 65.0
        self.faults = FaultInjector()
        self.paused = False

    async def start(self) -> None:
        """Listen on 127.0.0.1:port and start simulating."""
        self.server = ModbusTcpServer(self.memory, address=("127.0.0.1", self.port))
        await self.server.serve_forever(background=True)
        self._task = asyncio.create_task(self._simulate(), name="demo-plc")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.server is not None:
            await self.server.shutdown()
            self.server = None

    def pause(self) -> None:
        """Freeze the simulation: registers keep what they hold (tests and benchmarks set them themselves)."""
        self.paused = True

    def tick(self, t: float, dt: float) -> None:
        """One step of the plant: the supply temperature follows the setpoint while the boiler is enabled.

        A commanded fault (holding 30) distorts the supply sensor's reading or stops the pump (see faults.py).
        """
        mem = self.memory
        setpoint = struct.unpack(">h", struct.pack(">H", mem.get("holding", 10)[0]))[0] / 10
        faults = self.faults
        faults.command(mem.get("holding", FAULT_REGISTER)[0], t, self._supply)
        # no circulation: the burner's flow interlock stops it and the stagnant water cools slowly
        enabled = bool(mem.get("coil", 1)[0]) and not faults.pump_failed
        target = setpoint if enabled else ROOM_TEMPERATURE
        lag = COOLING_TIME if faults.pump_failed else 20.0
        self._supply += (target - self._supply) * min(1.0, dt / lag) + self._rng.gauss(0, 0.05)
        spread = 12 + 2 * math.sin(t / 30)
        if faults.pump_failed:  # supply and return water settle towards one temperature
            spread *= math.exp(-(t - faults.since) / COOLING_TIME)
        ret = self._supply - spread
        pump = int(t // 10) % 2 == 0 and not faults.pump_failed
        flow = (3.2 + 0.2 * math.sin(t / 7)) if pump else 0.0
        self._energy += (40_000.0 if enabled else 0.0) * dt / 3600
        reading = faults.supply_reading(t, self._supply)
        mem.set("holding", 0, _int16(reading * 10), _int16(ret * 10))
        mem.set("holding", 2, *struct.unpack(">HH", struct.pack(">f", flow)))
        mem.set("holding", 4, *struct.unpack(">HH", struct.pack(">I", int(self._energy))))
        mem.set("coil", 0, int(pump))
        self._tick_ahu(dt)

    def _tick_ahu(self, dt: float) -> None:
        """The AHU's heating coil takes the boiler's water: supply air about 22 °C at 65 °C water while the fan runs."""
        fan = bool(self.memory.get("coil", 2)[0])
        target = 22.0 + (self._supply - 65.0) * 0.1 if fan else 16.0
        self._supply_air += (target - self._supply_air) * min(1.0, dt / 30) + self._rng.gauss(0, 0.02)
        self.memory.set("holding", 20, _int16(self._supply_air * 10))

    async def _simulate(self) -> None:
        t0 = last = time.monotonic()
        while True:
            now = time.monotonic()
            if not self.paused:
                self.tick(now - t0, now - last)
            last = now
            await asyncio.sleep(0.5)
