"""A machine tool with an OPC UA server (asyncua): spindle speed following a writable setpoint, a motor
temperature, a part counter, and a DI nameplate. Security None on loopback: it plays a device on the plant
network.

The nameplate is what OPC 10000-100 (DI) puts on a device: Properties of the Machine object with BrowseNames in
the DI namespace (Manufacturer and Model as LocalizedText, SerialNumber, SoftwareRevision, ... as String,
RevisionCounter as Int32), so ``twinbridge discover opcua`` drafts them as the asset's ``properties:``. Like
many small servers it registers the DI namespace without loading the DI nodeset: the object is a plain
BaseObjectType, the Properties carry the DI names.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from asyncua import Node, Server, ua

from gateway.northbound.opcua.transport import end_clock

NAMESPACE = "urn:twinbridge:demo:machine"
DI_NAMESPACE = "http://opcfoundation.org/UA/DI/"
# the machine's DI nameplate, as examples/demo/plant.yaml also states it (tests compare the two)
NAMEPLATE: dict[str, str | int] = {
    "Manufacturer": "Example Machine Tools",
    "Model": "EMT-500 CNC",
    "SerialNumber": "EMT5-2019-00042",
    "SoftwareRevision": "4.2.1",
    "HardwareRevision": "B",
    "DeviceManual": "https://example.com/manuals/emt-500.pdf",
    "ProductCode": "EMT-500-3X",
    "RevisionCounter": 3,
}


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
        await _add_nameplate(machine, ns, await server.register_namespace(DI_NAMESPACE))
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
            await end_clock(self.server)  # else stop() waits up to 1 s for asyncua's clock loop
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


async def _add_nameplate(machine: Node, ns: int, di: int) -> None:
    """The DI nameplate Properties on the machine object (LocalizedText where DI has it)."""
    for name, value in NAMEPLATE.items():
        variant = (
            ua.Variant(value, ua.VariantType.Int32)
            if isinstance(value, int)
            else ua.Variant(ua.LocalizedText(value) if name in ("Manufacturer", "Model") else value)
        )
        await machine.add_property(f"ns={ns};s=Machine.{name}", ua.QualifiedName(name, di), variant)
