"""The OPC UA server service: address space from the twin, live values pushed, client writes to devices."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncua import Server, ua
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import SimpleRoleRuleset, User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from adapters.contract.model import Asset, Point
from adapters.contract.sample import PointState
from gateway.northbound.opcua.address_space import (
    NodeIds,
    asset_items,
    hierarchy_order,
    point_items,
    type_items,
    variant_type,
)
from gateway.northbound.opcua.alarms import ServerAlarms
from gateway.northbound.opcua.config import OpcUaServerConfig
from gateway.northbound.opcua.fast_nodes import build_nodes, paused_gc
from gateway.northbound.opcua.history_nodes import ServerHistory
from gateway.northbound.opcua.topology import Topology
from gateway.northbound.opcua.transport import TwinUaServer
from gateway.northbound.opcua.trust import TrustFolders, WatchedTrustValidator
from gateway.northbound.opcua.uatypes import node_id, status
from gateway.northbound.opcua.users import TwinUserManager
from gateway.northbound.opcua.values import ValuePusher, status_code
from gateway.northbound.roles import allows

if TYPE_CHECKING:
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.opcua")

_POLICIES = {
    "None": ua.SecurityPolicyType.NoSecurity,
    "Basic256Sha256_Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "Basic256Sha256_SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    "Aes128Sha256RsaOaep_Sign": ua.SecurityPolicyType.Aes128Sha256RsaOaep_Sign,
    "Aes128Sha256RsaOaep_SignAndEncrypt": ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    "Aes256Sha256RsaPss_Sign": ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign,
    "Aes256Sha256RsaPss_SignAndEncrypt": ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
}


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _ensure_key(key: Path) -> None:
    key.parent.mkdir(parents=True, exist_ok=True)
    if key.is_file():
        return
    pem = cert_gen.dump_private_key_as_pem(cert_gen.generate_private_key())
    tmp = key.with_name(f".{key.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # never world-readable
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:  # whole or not at all, and the first of two servers starting on one PKI folder wins (the demo's)
        os.link(tmp, key)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


_INTERNAL = User(role=UserRole.Admin)


class OpcUaServer:
    """The ``opcua`` northbound service."""

    name = "opcua"

    def __init__(self, config: OpcUaServerConfig, view: TwinView) -> None:
        self.config = config
        self.view = view
        self.users = TwinUserManager(config.users, config.allow_anonymous)
        self.server: Server | None = None
        self.ids: NodeIds | None = None
        self.port = config.port
        self._types: set[str] = set()
        self.topology: Topology | None = None
        self.values: ValuePusher | None = None
        self._task: asyncio.Task[None] | None = None
        self.build_seconds = 0.0
        self.history: ServerHistory | None = None  # HistoryRead, when the twin records history
        self.alarms: ServerAlarms | None = None  # Alarms & Conditions, when the twin has alarms

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        twin = self.view
        settings = twin.model.settings
        self.port = cfg.port or _free_port(cfg.host)
        server = TwinUaServer(user_manager=self.users)  # type: ignore[arg-type]
        await server.init()
        server.set_endpoint(f"opc.tcp://{cfg.host}:{self.port}{cfg.path}")
        server.set_server_name(f"twinbridge {settings.name}")
        app_uri = f"urn:twinbridge:{settings.name}"
        await server.set_application_uri(app_uri)
        if any(p != "None" for p in cfg.security):
            cert, key = await self._certificate(app_uri)
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            folders = TrustFolders(cfg.pki_dir)
            await asyncio.to_thread(folders.ensure)
            if not await asyncio.to_thread(folders.signature):
                log.warning(
                    "no trusted client certificates in %s: every secure client is refused until its "
                    "certificate is trusted (`twinbridge trust list --pki %s`)",
                    folders.trusted,
                    folders.pki,
                )
            # re-reads trusted/ when it changes, saves refused certificates to rejected/
            server.set_certificate_validator(WatchedTrustValidator(folders))
        server.set_security_policy([_POLICIES[p] for p in cfg.security], permission_ruleset=SimpleRoleRuleset())
        server.set_identity_tokens(
            [ua.UserNameIdentityToken, *([ua.AnonymousIdentityToken] if cfg.allow_anonymous else [])]
        )
        ns = await server.register_namespace(settings.base_iri + "opcua")
        self.server, self.ids = server, NodeIds(ns)
        self.topology = Topology(self.ids)
        self.values = ValuePusher(server.iserver.aspace, ns)
        t0 = time.perf_counter()
        self._build(twin.model.assets.values(), twin.model.points.values(), root=True)
        self.build_seconds = time.perf_counter() - t0
        self.history = await ServerHistory.install(server, twin, self.ids)
        self._install_write_hook()
        self.alarms = await ServerAlarms.install(server, twin, self.ids, self.users)
        for state in list(twin.states().values()):
            await self._push(state)
        try:
            await server.start()
        except OSError as exc:
            raise RuntimeError(f"OPC UA server cannot listen on {cfg.host}:{self.port}: {exc.strerror}") from None
        sub = twin.subscribe(maxsize=max(10_000, len(twin.model.points)))
        self._task = asyncio.create_task(self._pump(sub), name="opcua-server-values")
        twin.add_model_listener(self._on_model)
        log.info("OPC UA server on %s (%s)", self.endpoints()[0], ", ".join(cfg.security))

    async def _certificate(self, app_uri: str) -> tuple[Path, Path]:
        pki = Path(self.config.pki_dir)
        cert, key = pki / "server_cert.der", pki / "server_key.pem"
        await asyncio.to_thread(_ensure_key, key)
        await cert_gen.setup_self_signed_certificate(
            key,
            cert,
            app_uri,
            socket.gethostname(),
            [ExtendedKeyUsageOID.SERVER_AUTH],
            {"organizationName": "twinbridge"},
        )
        return cert, key

    async def stop(self) -> None:
        if self.alarms is not None:
            await self.alarms.stop()
            self.alarms = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.stop()
            self.server = None

    def endpoints(self) -> list[str]:
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "::") else self.config.host
        return [f"opc.tcp://{host}:{self.port}{self.config.path}"]

    # -- address space --------------------------------------------------------------------------------
    def _build(self, assets: Any, points: Any, *, root: bool = False) -> None:
        assert self.server is not None and self.ids is not None
        ids = self.ids
        model = self.view.model
        assets, points = list(assets), list(points)
        with paused_gc():  # two thirds of a 10,000-point build was the cyclic GC walking new nodes
            self._add(ids, model, assets, points, root)

    def _add(self, ids: NodeIds, model: Any, assets: list[Asset], points: list[Point], root: bool) -> None:
        assert self.server is not None and self.topology is not None
        topology = self.topology.batch(model, assets, points, self._types)  # relations, locations, properties
        items = type_items(ids, model, assets, points, self._types) + topology.types
        if root:
            attrs = ua.ObjectAttributes()
            attrs.DisplayName = ua.LocalizedText(model.settings.name)
            attrs.Description = ua.LocalizedText(f"twinbridge twin {model.settings.base_iri}")
            it = ua.AddNodesItem()
            it.RequestedNewNodeId = ids.root()
            it.BrowseName = ua.QualifiedName(model.settings.name, ids.ns)
            it.NodeClass = ua.NodeClass.Object
            it.ParentNodeId = node_id(ua.ObjectIds.ObjectsFolder)
            it.ReferenceTypeId = node_id(ua.ObjectIds.Organizes)
            it.TypeDefinition = node_id(ua.ObjectIds.FolderType)
            it.NodeAttributes = attrs
            items.append(it)
        items += asset_items(ids, model, hierarchy_order(model, assets))
        items += point_items(ids, points)
        items += topology.nodes
        # Same nodes and results as asyncua's add_nodes, built with shared constant attribute values
        # (gateway/northbound/opcua/fast_nodes.py; 10,000 points: 4.7 s -> ~1.5 s).
        results = build_nodes(self.server.iserver.aspace, items)
        bad = [
            (i.RequestedNewNodeId, r.StatusCode)
            for i, r in zip(items, results, strict=True)
            if not r.StatusCode.is_good()
        ]
        if bad:
            log.warning("%d OPC UA node(s) could not be created, first: %s %s", len(bad), *bad[0])
        self.topology.link(self.server.iserver.aspace, topology)  # non-hierarchical references, both ends
        assert self.values is not None
        for p in points:
            self.values.add(p.id, variant_type(p.datatype))

    def _on_model(self, assets: list[Asset], points: list[Point]) -> None:
        if self.server is None:
            return
        self._build(assets, points)
        if self.history is not None:
            self.history.mark(points)
        if self.alarms is not None:
            self.alarms.on_model(assets)
        for p in points:
            asyncio.get_running_loop().create_task(self._push(self.view.state(p.id)))

    # -- values ---------------------------------------------------------------------------------------
    async def _push(self, s: PointState) -> None:
        # shared DataValues, cached NodeIds and status codes: ~9 µs a change instead of ~56 µs through
        # Server.write_attribute_value with 1,000 points monitored (bench/opcua_server.py)
        assert self.values is not None
        await self.values.push(s)

    async def _pump(self, sub: Any) -> None:
        batch_size = self.config.publish_batch
        try:
            async for batch in sub:
                for i, s in enumerate(batch):
                    try:
                        await self._push(s)
                    except Exception as exc:
                        log.debug("could not publish %s: %s", s.point, exc)
                    if i % batch_size == batch_size - 1:
                        await asyncio.sleep(0)  # let clients' requests in during a big batch
        finally:
            sub.close()

    # -- writes ---------------------------------------------------------------------------------------
    def _install_write_hook(self) -> None:
        assert self.server is not None and self.ids is not None
        service = self.server.iserver.attribute_service
        original = service.write
        ns = self.ids.ns
        points = self.view.model.points

        async def write(params: ua.WriteParameters, user: User = _INTERNAL) -> list[ua.StatusCode]:
            results: list[ua.StatusCode] = []
            rest: list[tuple[int, ua.WriteValue]] = []
            for i, wv in enumerate(params.NodesToWrite):
                nid = wv.NodeId
                pid = nid.Identifier if nid.NamespaceIndex == ns and isinstance(nid.Identifier, str) else None
                if pid in points and wv.AttributeId == ua.AttributeIds.Value:
                    results.append(await self._client_write(pid, wv, user))
                else:
                    results.append(status(ua.StatusCodes.Good))
                    rest.append((i, wv))
            if rest:  # anything else keeps asyncua's own rules
                sub = ua.WriteParameters()
                sub.NodesToWrite = [wv for _, wv in rest]
                for (i, _), code in zip(rest, await original(sub, user), strict=True):
                    results[i] = code
            return results

        service.write = write  # type: ignore[method-assign]

    async def _client_write(self, pid: str, wv: ua.WriteValue, user: User) -> ua.StatusCode:
        role = self.users.role(user)
        who = user.name or "anonymous"
        if not allows(role, "operator"):
            status = "BadUserAccessDenied"
            log.warning("OPC UA write to %s by %s refused: role %s may not write", pid, who, role)
        else:
            value = wv.Value.Value.Value if wv.Value is not None and wv.Value.Value is not None else None
            result = await self.view.write(pid, value, actor=f"opcua:{who}")
            status = result.status
        return status_code(status)
