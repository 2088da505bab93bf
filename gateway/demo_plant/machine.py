"""A machine tool with an OPC UA server (asyncua): spindle speed following a writable setpoint, a motor
temperature, a part counter. Security None on loopback: it plays a device on the plant network."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from asyncua import Server, ua

NAMESPACE = "urn:twinbridge:demo:machine"


class Machine:
    """The simulated machine."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.nodes: dict[str, object] = {}

    async def start(self) -> None:
        logging.getLogger("asyncua").setLevel(logging.WARNING)
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}/machine")
        server.set_server_name("demo machine")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace(NAMESPACE)
        machine = await server.nodes.objects.add_object(f"ns={ns};s=Machine", f"{ns}:Machine")
        self.nodes["speed"] = await machine.add_variable(f"ns={ns};s=Machine.SpindleSpeed", "SpindleSpeed", 0.0)
        self.nodes["motor_temp"] = await machine.add_variable(f"ns={ns};s=Machine.MotorTemp", "MotorTemp", 35.0)
        self.nodes["parts"] = await machine.add_variable(
            f"ns={ns};s=Machine.PartCount", "PartCount", ua.Variant(0, ua.VariantType.UInt32)
        )
        sp = await machine.add_variable(f"ns={ns};s=Machine.SpeedSetpoint", "SpeedSetpoint", 1200.0)
        await sp.set_writable()
        self.nodes["setpoint"] = sp
        self.server = server
        # a plant-network device without security: asyncua warns that passwords would travel in clear, which
        # is true and beside the point here (the gateway's own server is the one clients should use)
        server_log = logging.getLogger("asyncua.server.server")
        level = server_log.level
        server_log.setLevel(logging.ERROR)
        try:
            await server.start()
        finally:
            server_log.setLevel(level)
        self._task = asyncio.create_task(self._simulate(), name="demo-machine")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def _simulate(self) -> None:
        t0 = time.monotonic()
        speed, parts = 0.0, 0
        while True:
            t = time.monotonic() - t0
            target = float(await self.nodes["setpoint"].read_value())  # type: ignore[attr-defined]
            speed += (target - speed) * 0.3
            parts = int(t // 4)
            await self.nodes["speed"].write_value(round(speed, 1))  # type: ignore[attr-defined]
            await self.nodes["motor_temp"].write_value(round(40 + speed / 100 + 2 * math.sin(t / 20), 2))  # type: ignore[attr-defined]
            await self.nodes["parts"].write_value(ua.Variant(parts, ua.VariantType.UInt32))  # type: ignore[attr-defined]
            await asyncio.sleep(0.5)
