"""Security of the OPC UA client: certificates, server trust, policies and user identities, on a real server."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import ua
from opcua_client_helpers import Collector, PlantServer, Users, adapter, make_server_cert, point, source

from adapters.contract.adapter import AdapterUnavailable
from adapters.contract.sample import Quality

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PASSWORD = "s3cret-Pa55"
SECURE = [
    ua.SecurityPolicyType.NoSecurity,
    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ua.SecurityPolicyType.Basic256Sha256_Sign,
    ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign,
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secure_plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PlantServer]:
    """A server with its own certificate, secure endpoints and one user."""
    cert = make_server_cert(tmp_path_factory.mktemp("server-pki"))
    srv = PlantServer(security=SECURE, cert=cert, users=Users({"operator": PASSWORD}))
    await srv.start()
    yield srv
    await srv.stop()


def trust(srv: PlantServer, pki: Path) -> None:
    """What the integrator does: put the server's certificate into the trust folder."""
    assert srv.cert is not None
    (pki / "trusted").mkdir(parents=True, exist_ok=True)
    shutil.copy(srv.cert[0], pki / "trusted" / "plant-server.der")


def secure_source(srv: PlantServer, pki: Path, **kw: object):  # type: ignore[no-untyped-def]
    sec = {"policy": "Basic256Sha256", "pki_dir": str(pki)}
    sec.update(kw.pop("security", {}))  # type: ignore[arg-type]
    return source(srv.url, security=sec, **kw)


def temp_point(srv: PlantServer):  # type: ignore[no-untyped-def]
    return point("b.temp", {"node": f"ns={srv.ns};s=Boiler.Temp"})


async def test_untrusted_server_certificate_is_refused_and_kept_for_review(
    secure_plant: PlantServer, tmp_path: Path
) -> None:
    ad = adapter(secure_source(secure_plant, tmp_path), [temp_point(secure_plant)])
    with pytest.raises(AdapterUnavailable) as exc:
        await ad.start()
    err = exc.value
    assert err.retryable is False and err.status == "BadCertificateUntrusted"
    rejected = list((tmp_path / "rejected").glob("*.der"))
    assert len(rejected) == 1 and rejected[0].read_bytes() == secure_plant.cert[0].read_bytes()  # type: ignore[index]
    assert "not trusted" in err.reason and "trusted" in err.reason and "trust_all" in err.reason
    # nothing secret was generated or sent: the client certificate is only made once the server is trusted
    assert not (tmp_path / "own").exists()

    # the integrator moves the rejected certificate to trusted/: the next attempt connects
    (tmp_path / "trusted").mkdir()
    shutil.move(rejected[0], tmp_path / "trusted" / rejected[0].name)
    await ad.start()
    async with Collector(ad) as c:
        assert (await c.wait_for("b.temp", lambda s: True)).quality is Quality.GOOD


async def test_trust_all_accepts_any_server_certificate_and_says_so(
    secure_plant: PlantServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ad = adapter(secure_source(secure_plant, tmp_path, security={"trust_all": True}), [temp_point(secure_plant)])
    with caplog.at_level(logging.WARNING, logger="test.opcua"):
        await ad.start()
    async with Collector(ad) as c:
        await c.wait_for("b.temp", lambda s: s.quality is Quality.GOOD)
    assert any("trust_all" in r.getMessage() and "SHA-256" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("policy", "mode"),
    [
        ("Basic256Sha256", "SignAndEncrypt"),
        ("Aes128_Sha256_RsaOaep", "SignAndEncrypt"),
        ("Aes256_Sha256_RsaPss", "Sign"),
    ],
)
async def test_secure_channel_with_generated_client_certificate(
    secure_plant: PlantServer, tmp_path: Path, policy: str, mode: str
) -> None:
    trust(secure_plant, tmp_path)
    cfg = secure_source(secure_plant, tmp_path, security={"policy": policy, "mode": mode})
    ad = adapter(cfg, [temp_point(secure_plant)])
    await ad.start()
    async with Collector(ad) as c:
        await secure_plant.set("Temp", 66.0, ua.VariantType.Double)
        await c.wait_for("b.temp", lambda s: s.value == 66.0)
        d = ad.describe()
        assert d["security"] == f"{policy}/{mode}"
        assert d["server_certificate"].startswith("urn:twinbridge:test:server")
        channel = ad._client.uaclient.security_policy  # type: ignore[union-attr]
        assert channel.URI.endswith("#" + policy) and channel.Mode == getattr(ua.MessageSecurityMode, mode)
    cert = tmp_path / "own" / "certs" / "client_cert.der"
    key = tmp_path / "own" / "private" / "client_key.pem"
    assert cert.is_file() and key.is_file()
    assert os.stat(key).st_mode & 0o077 == 0  # the private key is readable by its owner only
    # reconnecting reuses the certificate (the server may have been told to trust exactly this one)
    before = cert.read_bytes()
    await ad.start()
    await ad.stop()
    assert cert.read_bytes() == before


async def test_username_and_password_accepted_and_a_wrong_password_refused(
    secure_plant: PlantServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trust(secure_plant, tmp_path)
    good = secure_source(
        secure_plant, tmp_path, auth={"type": "username", "username": "operator", "password": PASSWORD}
    )
    ad = adapter(good, [temp_point(secure_plant)])
    await ad.start()
    async with Collector(ad) as c:
        await c.wait_for("b.temp", lambda s: s.quality is Quality.GOOD)
        assert ad.describe()["identity"] == "username"

    wrong = secure_source(
        secure_plant, tmp_path, auth={"type": "username", "username": "operator", "password": "not-the-password"}
    )
    # our own logs at every level; asyncua at INFO (its DEBUG output dumps whole requests, credentials included)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="test.opcua")
    with pytest.raises(AdapterUnavailable) as exc:
        await adapter(wrong, [temp_point(secure_plant)]).start()
    assert exc.value.retryable is False
    assert exc.value.status == "BadUserAccessDenied"
    assert "user name and password" in exc.value.reason
    assert "not-the-password" not in caplog.text and "not-the-password" not in exc.value.reason
    assert PASSWORD not in caplog.text
    assert "not-the-password" not in repr(wrong) and "not-the-password" not in str(wrong.model_dump())


async def test_password_on_an_unencrypted_channel_is_sent_encrypted_with_the_server_key(
    secure_plant: PlantServer, tmp_path: Path
) -> None:
    # policy None, but the server offers an encrypting token policy: the password is encrypted for the server,
    # whose certificate must therefore be trusted
    cfg = source(
        secure_plant.url,
        security={"policy": "None", "pki_dir": str(tmp_path)},
        auth={"type": "username", "username": "operator", "password": PASSWORD},
    )
    with pytest.raises(AdapterUnavailable) as exc:
        await adapter(cfg, [temp_point(secure_plant)]).start()
    assert exc.value.status == "BadCertificateUntrusted"
    trust(secure_plant, tmp_path)
    ad = adapter(cfg, [temp_point(secure_plant)])
    await ad.start()
    await ad.stop()


async def test_plaintext_password_is_refused_unless_allowed(tmp_path: Path) -> None:
    srv = PlantServer(users=Users({"operator": PASSWORD}))  # no certificate: only a plaintext token policy
    await srv.start()
    try:
        auth = {"type": "username", "username": "operator", "password": PASSWORD}
        with pytest.raises(AdapterUnavailable) as exc:
            await adapter(source(srv.url, auth=auth), [temp_point(srv)]).start()
        assert exc.value.retryable is False and exc.value.status == "BadSecurityModeInsufficient"
        assert "unencrypted" in exc.value.reason and "allow_plaintext_password" in exc.value.reason
        ad = adapter(source(srv.url, auth={**auth, "allow_plaintext_password": True}), [temp_point(srv)])
        await ad.start()
        await ad.stop()
    finally:
        await srv.stop()


async def test_endpoint_without_the_requested_policy_is_a_clear_error(tmp_path: Path, plant: PlantServer) -> None:
    cfg = source(plant.url, security={"policy": "Basic256Sha256", "pki_dir": str(tmp_path)})
    with pytest.raises(AdapterUnavailable) as exc:
        await adapter(cfg, [temp_point(plant)]).start()
    assert exc.value.retryable is False and exc.value.status == "BadSecurityPolicyRejected"
    assert "offers no Basic256Sha256/SignAndEncrypt endpoint" in exc.value.reason and "None/None" in exc.value.reason
