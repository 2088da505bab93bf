"""The demo's OPC UA PKI lives in a per-user folder: a client trusted once is still trusted at the next run.

Two demo gateways are started one after the other (the demo's own mapping and environment, devices not
running), with ``XDG_DATA_HOME`` pointing into the test's folder; a real asyncua client with its own
certificate is refused by the first, accepted with ``twinbridge trust accept --demo``, and let in by the second.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from asyncua import ua
from cryptography import x509

from gateway.cli import main as twinbridge
from gateway.config.loader import load_mappings
from gateway.demo_plant.runner import DEMO_MAPPING, Demo, Ports
from gateway.northbound.opcua.trust import demo_pki_dir, thumbprint
from gateway.runtime import Gateway
from tests.integration.gateway.northbound.opcua.conftest import client, make_client_cert

pytestmark = [pytest.mark.integration]


def thumbprint_of(path: Path) -> str:
    return thumbprint(x509.load_der_x509_certificate(path.read_bytes()))


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


async def _reads(url: str, cert: tuple[Path, Path]) -> bool:
    c = client(url, None)  # the demo allows anonymous viewers
    c.application_uri = f"urn:test:{cert[0].stem}"
    await c.set_security_string(f"Basic256Sha256,SignAndEncrypt,{cert[0]},{cert[1]}")
    try:
        async with c:
            return await c.nodes.server_state.read_value() == ua.ServerState.Running
    except (TimeoutError, ua.UaError, ConnectionError, OSError):
        return False


def test_the_demo_pki_is_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert demo_pki_dir() == tmp_path / "data" / "twinbridge" / "demo-pki"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo_pki_dir() == tmp_path / "home" / ".local" / "share" / "twinbridge" / "demo-pki"


@pytest.mark.asyncio
async def test_a_client_trusted_once_stays_trusted_across_demo_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    pki = tmp_path / "data" / "twinbridge" / "demo-pki"
    hmi = await make_client_cert(tmp_path / "client", "hmi")
    server_certs = []
    for run in range(2):
        demo = Demo(Ports(*_free_ports(5)))
        assert demo.pki_dir == pki
        gw = Gateway(load_mappings([DEMO_MAPPING], env=demo.env()))
        await gw.start()
        try:
            url = gw.services["opcua"].endpoints()[0]
            server_certs.append((pki / "server_cert.der").read_bytes())
            if run == 0:
                assert not await _reads(url, hmi)
                tp = thumbprint_of(hmi[0])
                assert twinbridge(["trust", "accept", tp[:10], "--demo"]) == 0
            else:
                assert await _reads(url, hmi)
        finally:
            await gw.stop()
            await demo.stop()
        assert (pki / "trusted").is_dir()  # the demo leaves its PKI in place
    assert server_certs[0] == server_certs[1]  # clients that trusted the server keep trusting it
