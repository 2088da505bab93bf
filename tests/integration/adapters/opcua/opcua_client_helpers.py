"""Helpers of the OPC UA client adapter tests: a real asyncua plant server on 127.0.0.1 and a sample collector.

The server is started by the tests themselves on a free port (so it can be stopped and restarted on the same
port for fault tests) and holds a small plant: ``Objects/2:Plant/2:Boiler`` with variables of several types,
an array, a read-only node and EngineeringUnits/EURange properties.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from adapters.contract.adapter import AdapterContext
from adapters.contract.model import DataType, Point, PointKind, Transform
from adapters.contract.sample import Sample
from adapters.opcua.adapter import OpcUaAdapter
from adapters.opcua.config import OpcUaAddress, OpcUaSourceConfig
from gateway.northbound.opcua.transport import end_clock
from gateway.units import CATALOG

NS_URI = "urn:twinbridge:test:plant"
SERVER_URI = "urn:twinbridge:test:server"
log = logging.getLogger("tests.opcua_client.plant")


def _ephemeral_range() -> tuple[int, int]:
    with contextlib.suppress(OSError, ValueError):
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    return 32768, 60999  # Linux's default


def free_port() -> int:
    """A TCP port nobody listens on right now, below the ephemeral range.

    A server restarted on its port (fault tests) fails with EADDRINUSE when, while it was down, an outgoing
    connection of any process (the gateway's own reconnects included) got that port as its local one; ports
    outside the ephemeral range are never handed out that way.
    """
    low, _ = _ephemeral_range()
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 20000), low)
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            return port
    raise RuntimeError(f"no free loopback port below {low}")


def _bind_refusal(port: int) -> OSError | None:
    """Why a server could not listen on the loopback port now (None: it could), binding as asyncio's does."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc
    return None


def make_server_cert(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed server certificate naming SERVER_URI (what OPC UA servers ship with)."""
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        SERVER_URI,
        {"organizationName": "twinbridge tests"},
        [x509.UniformResourceIdentifier(SERVER_URI), x509.DNSName("localhost")],
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}_cert.der", folder / f"{name}_key.pem"
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_path, key_path


class Users:
    """A user manager accepting one user name/password (and anonymous when allowed)."""

    def __init__(self, users: dict[str, str], anonymous: bool = True) -> None:
        self.users = users
        self.anonymous = anonymous

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        if username is None:
            return User(role=UserRole.User) if self.anonymous else None
        if self.users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


@dataclass
class PlantServer:
    """An asyncua server with the test plant; ``start()``/``stop()`` may be called repeatedly."""

    port: int = field(default_factory=free_port)
    security: list[ua.SecurityPolicyType] = field(default_factory=lambda: [ua.SecurityPolicyType.NoSecurity])
    cert: tuple[Path, Path] | None = None
    users: Users | None = None
    server: Server | None = None
    ns: int = 0
    nodes: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/plant/"

    async def start(self) -> None:
        """Listen on the port; while it is still taken (see free_port), retry for a few seconds, as a real
        server restarted by its supervisor would."""
        deadline: float | None = None  # from the first refusal: building the server may itself take seconds under load
        while True:
            refusal = _bind_refusal(self.port)  # before building: a build costs seconds, a refused one a second more
            if refusal is None:
                server = await self._build()
                try:
                    await server.start()
                except OSError as exc:  # taken between the check and the bind
                    refusal = exc
                else:
                    log.info("test plant server listening on port %d", self.port)
                    self.server = server
                    return
            if deadline is None:
                deadline = time.monotonic() + 10.0
            if refusal.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise refusal
            log.warning("test plant server: port %d still in use, retrying", self.port)
            await asyncio.sleep(0.2)

    async def _build(self) -> Server:
        server = Server(user_manager=self.users) if self.users else Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("twinbridge test plant")
        await server.set_application_uri(SERVER_URI)
        server.set_security_policy(self.security)
        if self.users is not None:
            server.set_identity_tokens([ua.AnonymousIdentityToken, ua.UserNameIdentityToken])
        if self.cert is not None:
            await server.load_certificate(str(self.cert[0]))
            await server.load_private_key(str(self.cert[1]))
        self.ns = await server.register_namespace(NS_URI)
        ns = self.ns
        plant = await server.nodes.objects.add_object(ua.NodeId("Plant", ns), ua.QualifiedName("Plant", ns))
        boiler = await plant.add_object(ua.NodeId("Boiler", ns), ua.QualifiedName("Boiler", ns))

        async def var(name: str, value: Any, vt: ua.VariantType, *, writable: bool = False) -> Any:
            node = await boiler.add_variable(ua.NodeId(f"Boiler.{name}", ns), ua.QualifiedName(name, ns), value, vt)
            if writable:
                await node.set_writable()
            self.nodes[name] = node
            return node

        temp = await var("Temp", 20.0, ua.VariantType.Double)
        await var("Pressure", 1.5, ua.VariantType.Float)
        await var("Count", 7, ua.VariantType.Int32)
        await var("Name", "boiler one", ua.VariantType.String)
        await var("Running", True, ua.VariantType.Boolean)
        await var("Profile", [1.0, 2.0, 3.0, 4.0], ua.VariantType.Double, writable=True)
        await var("Setpoint", 60.0, ua.VariantType.Double, writable=True)
        await var("Level", 12, ua.VariantType.UInt16, writable=True)
        await var("Locked", 5.0, ua.VariantType.Double)  # read-only
        # EngineeringUnits (degree Celsius, UNECE CEL) and EURange 0..150 on Temp
        eu = ua.EUInformation(
            NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
            UnitId=4408652,
            DisplayName=ua.LocalizedText("°C"),
            Description=ua.LocalizedText("degree Celsius"),
        )
        await temp.add_property(
            ua.NodeId("Boiler.Temp.EU", ns),
            ua.QualifiedName("EngineeringUnits", 0),
            eu,
            datatype=ua.NodeId(ua.ObjectIds.EUInformation),
        )
        await temp.add_property(
            ua.NodeId("Boiler.Temp.Range", ns),
            ua.QualifiedName("EURange", 0),
            ua.Range(Low=0.0, High=150.0),
            datatype=ua.NodeId(ua.ObjectIds.Range),
        )
        return server

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await end_clock(server)  # else stop() waits up to 1 s for asyncua's clock loop
            await server.stop()

    def node_id(self, name: str) -> ua.NodeId:
        return ua.NodeId(f"Boiler.{name}", self.ns)

    async def set(self, name: str, value: Any, vt: ua.VariantType, *, status: int = 0, source_ts: Any = None) -> None:
        """Write a value with a chosen status code and source timestamp, as a device driver would."""
        assert self.server is not None
        dv = ua.DataValue(
            ua.Variant(value, vt) if value is not None else ua.Variant(None, ua.VariantType.Null),
            StatusCode=ua.StatusCode(status),
            SourceTimestamp=source_ts,
        )
        await self.server.write_attribute_value(self.node_id(name), dv)

    async def get(self, name: str) -> Any:
        assert self.server is not None
        return self.server.read_attribute_value(self.node_id(name)).Value.Value


def point(
    pid: str,
    address: dict[str, Any],
    *,
    datatype: DataType = DataType.DOUBLE,
    writable: bool = False,
    unit: str | None = None,
    min: float | None = None,
    max: float | None = None,
    transform: Transform | None = None,
) -> Point:
    """A point on source ``ua`` with an OPC UA address (no YAML)."""
    return Point(
        id=pid,
        asset=pid.split(".", maxsplit=1)[0],
        kind=PointKind.SETPOINT if writable else PointKind.MEASUREMENT,
        datatype=datatype,
        source="ua",
        address=OpcUaAddress.model_validate(address),
        label=pid,
        unit=unit,
        writable=writable,
        min=min,
        max=max,
        transform=transform or Transform(),
    )


def source(url: str, **kw: Any) -> OpcUaSourceConfig:
    """A source config; insecure unless the test gives ``security``."""
    kw.setdefault("security", {"policy": "None"})
    kw.setdefault("keepalive_interval", 0.5)
    kw.setdefault("request_timeout", 2.0)
    kw.setdefault("publishing_interval", 0.05)
    kw.setdefault("sampling_interval", 0.0)
    return OpcUaSourceConfig.model_validate({"id": "ua", "url": url, **kw})


def adapter(cfg: OpcUaSourceConfig, points: list[Point], base_dir: Path | str = ".") -> OpcUaAdapter:
    ctx = AdapterContext(logger=logging.getLogger("test.opcua"), base_dir=str(base_dir), units=CATALOG)
    return OpcUaAdapter(cfg, points, ctx)


class Collector:
    """Runs ``samples()`` in a task and keeps what comes out, so tests can wait for a condition."""

    def __init__(self, ad: OpcUaAdapter) -> None:
        self.adapter = ad
        self.samples: list[Sample] = []
        self.error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Collector:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.adapter.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        try:
            async for s in self.adapter.samples():
                self.samples.append(s)
                self._changed.set()
        except Exception as exc:  # AdapterDisconnected, recorded for the test
            self.error = exc
            self._changed.set()

    def last(self, pid: str) -> Sample | None:
        for s in reversed(self.samples):
            if s.point == pid:
                return s
        return None

    async def wait(self, cond: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``cond()`` is truthy (re-checked on every sample) and return its value."""
        deadline = time.monotonic() + timeout
        while True:
            result = cond()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout} s; last samples: {self.samples[-5:]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.1))

    async def wait_for(self, pid: str, pred: Callable[[Sample], bool], timeout: float = 5.0) -> Sample:
        """The first sample of ``pid`` (in arrival order, from now on or already received) matching ``pred``."""

        def find() -> Sample | None:
            return next((s for s in self.samples if s.point == pid and pred(s)), None)

        return await self.wait(find, timeout)


class FreezableProxy:
    """A TCP relay to a server that can go silent while keeping the connection open (a hung peer or a
    network path that drops packets): only a keep-alive can notice that."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.frozen = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while data := await src.read(65536):
                    if not self.frozen:
                        dst.write(data)
                        await dst.drain()
            dst.close()

        for t in (asyncio.create_task(pump(reader, up_writer)), asyncio.create_task(pump(up_reader, writer))):
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
