"""Trusting clients as a person does it, against a running server and real asyncua clients.

A refused client's certificate lands in ``pki_dir/rejected/``; ``twinbridge trust accept`` (the real CLI entry
point) or a plain file copy into ``trusted/`` lets it in at its next attempt, and ``trust reject`` shuts it
out again, all without restarting the gateway.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from asyncua import Client, ua
from cryptography import x509

from gateway.cli import main as twinbridge
from gateway.northbound.opcua.trust import thumbprint
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.conftest import (
    client,
    endpoint,
    make_client_cert,
    nid,
    opcua_section,
    running,
    twin_header,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

BODY = """\
sources:
  - {id: dev, kind: sim, interval: 50ms}
assets:
  - id: boiler
    type: equipment
    label: Boiler
    source: dev
    points:
      - {id: temp, type: measurement, unit: DEG_C, datatype: double, address: {signal: sine}}
"""
SECURITY = '["Basic256Sha256_SignAndEncrypt"]'


async def _connect(gw: Gateway, cert: tuple[Path, Path]) -> Client:
    c = client(endpoint(gw))
    c.application_uri = f"urn:test:{cert[0].stem}"  # must match the certificate's URI
    await c.set_security_string(f"Basic256Sha256,SignAndEncrypt,{cert[0]},{cert[1]}")
    return c


async def _reads(gw: Gateway, cert: tuple[Path, Path]) -> bool:
    """Whether a client with this certificate gets a session and reads a point."""
    c = await _connect(gw, cert)
    try:
        async with c:
            return bool((await c.get_node(await nid(c, "boiler.temp")).read_data_value()).StatusCode.is_good())
    except (TimeoutError, ua.UaError, ConnectionError, OSError):
        return False


def _der_thumbprint(path: Path) -> str:
    return thumbprint(x509.load_der_x509_certificate(path.read_bytes()))


async def test_a_refused_client_is_kept_in_rejected_and_accepting_it_lets_it_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = tmp_path / "pki"
    hmi = await make_client_cert(tmp_path / "client", "hmi")
    async with running(twin_header() + opcua_section(pki, SECURITY) + BODY) as gw:
        await wait_for(lambda: gw.twin.state("boiler.temp").status == "Good")
        assert not await _reads(gw, hmi)  # nothing trusted yet
        (saved,) = (pki / "rejected").iterdir()
        assert saved.read_bytes() == hmi[0].read_bytes()  # the client's certificate, as it sent it
        assert not list((pki / "trusted").iterdir())

        assert twinbridge(["trust", "list", "--pki", str(pki)]) == 0
        listed = capsys.readouterr().out
        tp = _der_thumbprint(hmi[0])
        assert "rejected" in listed and tp[:16] in listed and "urn:test:hmi" in listed

        assert twinbridge(["trust", "accept", tp[:8], "--pki", str(pki)]) == 0
        assert [p.name for p in (pki / "trusted").iterdir()] == [saved.name]
        assert not list((pki / "rejected").iterdir())
        assert await _reads(gw, hmi)  # same running server, no restart

        assert twinbridge(["trust", "reject", saved.name, "--pki", str(pki)]) == 0
        assert not await _reads(gw, hmi)
        assert [p.name for p in (pki / "rejected").iterdir()] == [saved.name]


async def test_a_certificate_copied_into_trusted_works_without_a_restart(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    first = await make_client_cert(tmp_path / "client", "first")
    second = await make_client_cert(tmp_path / "client", "second")
    (pki / "trusted").mkdir(parents=True)
    shutil.copy(first[0], pki / "trusted" / "first.der")
    async with running(twin_header() + opcua_section(pki, SECURITY) + BODY) as gw:
        await wait_for(lambda: gw.twin.state("boiler.temp").status == "Good")
        assert await _reads(gw, first)
        assert not await _reads(gw, second)
        shutil.copy(second[0], pki / "trusted" / "second.der")  # what UaExpert's manual tells people to do
        assert await _reads(gw, second)
        assert await _reads(gw, first)  # the others stay trusted
        (pki / "trusted" / "first.der").unlink()
        assert not await _reads(gw, first)


async def test_trust_commands_refuse_unknown_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert twinbridge(["trust", "accept", "abcdef", "--pki", str(tmp_path)]) == 2
    assert "no rejected certificate 'abcdef'" in capsys.readouterr().err
    assert twinbridge(["trust", "accept", "--pki", str(tmp_path)]) == 2
    assert twinbridge(["trust", "list", "--pki", str(tmp_path)]) == 0
    assert "no client certificates" in capsys.readouterr().out
