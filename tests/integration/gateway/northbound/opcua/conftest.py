"""Helpers of the OPC UA server acceptance tests: gateways from in-memory mappings, clients, certificates.

Every gateway here is a real ``Gateway`` with its ``opcua`` service listening on an ephemeral loopback port,
and every client a real asyncua ``Client``; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto import cert_gen
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.config.loader import load_mappings
from gateway.northbound.credentials import hash_password
from gateway.runtime import Gateway

NS_URI = "http://t6.local/opcua"
OP_PW = "operator-pw-6"
VIEW_PW = "viewer-pw-6"
# low iteration count: the tests check behaviour, not the hash cost
_HASHES = {"op": hash_password(OP_PW, iterations=1000), "viewer": hash_password(VIEW_PW, iterations=1000)}


def opcua_section(pki: Path, security: str = '["None"]', *, anonymous: bool = False, users: str = "") -> str:
    """The ``gateway: opcua:`` section with an operator ``op`` and a viewer ``viewer`` (plus ``users``)."""
    return f"""\
gateway:
  opcua:
    host: 127.0.0.1
    port: 0
    security: {security}
    pki_dir: {pki}
    allow_anonymous: {"true" if anonymous else "false"}
    users:
      - {{name: op, password_hash: "{_HASHES["op"]}", role: operator}}
      - {{name: viewer, password_hash: "{_HASHES["viewer"]}", role: viewer}}
{users}"""


def twin_header(name: str = "works") -> str:
    """The ``twin:`` section; the namespace URI of the server is ``NS_URI``."""
    return f'twin: {{base_iri: "http://t6.local/", name: {name}, flush_interval: 50ms, write_timeout: 3s}}\n'


@contextlib.asynccontextmanager
async def running(text: str) -> AsyncIterator[Gateway]:
    """A started gateway (adapters and services) for a mapping text; stopped on exit."""
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


def endpoint(gw: Gateway) -> str:
    """The OPC UA endpoint URL of a running gateway."""
    return gw.services["opcua"].endpoints()[0]


def client(url: str, user: str | None = "op", pw: str = OP_PW, timeout: float = 5) -> Client:
    """An asyncua client logging in as ``user`` (``None``: anonymous)."""
    c = Client(url, timeout=timeout)
    if user is not None:
        c.set_user(user)
        c.set_password(pw)
    return c


async def nid(c: Client, ident: str) -> ua.NodeId:
    """A NodeId of the twin's namespace, looked up by URI as a real client must."""
    return ua.NodeId(ident, await c.get_namespace_index(NS_URI))


def _write_key(key: Path) -> None:
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_bytes(cert_gen.dump_private_key_as_pem(cert_gen.generate_private_key()))


async def make_client_cert(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed client certificate (DER) and key (PEM) with application URI ``urn:test:<name>``."""
    key, cert = folder / f"{name}.pem", folder / f"{name}.der"
    await asyncio.to_thread(_write_key, key)
    await cert_gen.setup_self_signed_certificate(
        key, cert, f"urn:test:{name}", "localhost", [ExtendedKeyUsageOID.CLIENT_AUTH], {"organizationName": "test"}
    )
    return cert, key


class Changes:
    """A data-change handler that keeps every notified DataValue."""

    def __init__(self) -> None:
        self.values: list[ua.DataValue] = []

    def datachange_notification(self, node: object, val: object, data: object) -> None:
        self.values.append(data.monitored_item.Value)  # type: ignore[attr-defined]

    def status_change_notification(self, status: object) -> None:
        """Subscription status changes are not under test."""

    def good(self) -> bool:
        """Whether the last notification was Good."""
        return self.last is not None and self.last.StatusCode.is_good()

    def bad(self) -> bool:
        """Whether the last notification was Bad."""
        return self.last is not None and self.last.StatusCode.is_bad()

    @property
    def last(self) -> ua.DataValue | None:
        return self.values[-1] if self.values else None
