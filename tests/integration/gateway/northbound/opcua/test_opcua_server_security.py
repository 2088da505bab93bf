"""Security of the OPC UA server against a real asyncua client: every policy, certificates, users, roles.

The module's gateway offers all six secure endpoints (no None) and trusts one client certificate placed in
``pki_dir/trusted`` before the first start; its own certificate is made on that start.
"""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from cryptography import x509

from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.northbound.credentials import hash_password
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.conftest import (
    NS_URI,
    OP_PW,
    VIEW_PW,
    client,
    endpoint,
    make_client_cert,
    nid,
    opcua_section,
    running,
    twin_header,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

POLICIES = [
    ("Basic256Sha256", "Sign"),
    ("Basic256Sha256", "SignAndEncrypt"),
    ("Aes128Sha256RsaOaep", "Sign"),
    ("Aes128Sha256RsaOaep", "SignAndEncrypt"),
    ("Aes256Sha256RsaPss", "Sign"),
    ("Aes256Sha256RsaPss", "SignAndEncrypt"),
]
POLICY_URI = {  # asyncua's policy names -> the OPC UA security policy URIs
    "Basic256Sha256": "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256",
    "Aes128Sha256RsaOaep": "http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep",
    "Aes256Sha256RsaPss": "http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss",
}
NONE_URI = "http://opcfoundation.org/UA/SecurityPolicy#None"

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
      - {id: sp, type: setpoint, unit: DEG_C, datatype: double, writable: true, min: 0, max: 100,
         address: {signal: constant, initial: 50}}
"""


def secure_mapping(pki: Path) -> str:
    security = "[" + ", ".join(f"{p}_{m}" for p, m in POLICIES) + "]"
    return twin_header() + opcua_section(pki, security) + BODY


class Secure:
    """The module's secure gateway and the certificates around it."""

    def __init__(self, gw: Gateway, pki: Path, trusted: tuple[Path, Path], stranger: tuple[Path, Path]) -> None:
        self.gw, self.pki, self.trusted, self.stranger = gw, pki, trusted, stranger
        self.url = endpoint(gw)

    async def client(
        self, policy: str, mode: str, *, user: str = "op", pw: str = OP_PW, trusted: bool = True
    ) -> Client:
        cert, key = self.trusted if trusted else self.stranger
        c = client(self.url, user, pw)
        c.application_uri = f"urn:test:{cert.stem}"  # must match the certificate's URI
        await c.set_security_string(f"{policy},{mode},{cert},{key}")
        return c


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secure(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Secure]:
    tmp = tmp_path_factory.mktemp("secure")
    pki = tmp / "pki"
    trusted = await make_client_cert(tmp / "client", "scada")
    stranger = await make_client_cert(tmp / "client", "stranger")
    (pki / "trusted").mkdir(parents=True)
    (pki / "trusted" / "scada.der").write_bytes(trusted[0].read_bytes())
    async with running(secure_mapping(pki)) as gw:
        await wait_for(lambda: gw.twin.state("boiler.sp").status == "Good")
        yield Secure(gw, pki, trusted, stranger)


async def test_server_certificate_is_made_once_and_kept(secure: Secure) -> None:
    cert_file, key_file = secure.pki / "server_cert.der", secure.pki / "server_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # the private key is not readable by others
    cert = x509.load_der_x509_certificate(cert_file.read_bytes())
    uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "urn:twinbridge:works" in uris.get_values_for_type(x509.UniformResourceIdentifier)
    before = cert_file.read_bytes(), key_file.read_bytes()
    endpoints = await Client(secure.url, timeout=5).connect_and_get_server_endpoints()
    assert {e.ServerCertificate for e in endpoints} == {before[0]}  # the server presents the file it made
    # a second start on the same pki folder (a restart) uses the same key and certificate
    async with running(secure_mapping(secure.pki)) as again:
        endpoints = await Client(endpoint(again), timeout=5).connect_and_get_server_endpoints()
        assert {e.ServerCertificate for e in endpoints} == {before[0]}
    assert (cert_file.read_bytes(), key_file.read_bytes()) == before


async def test_endpoints_are_exactly_the_configured_policies(secure: Secure) -> None:
    endpoints = await Client(secure.url, timeout=5).connect_and_get_server_endpoints()
    offered = {(e.SecurityPolicyUri, e.SecurityMode.name) for e in endpoints}
    assert offered == {(POLICY_URI[p], m) for p, m in POLICIES}  # no None endpoint unless configured
    for e in endpoints:
        (token,) = e.UserIdentityTokens
        # a Sign-only channel is not encrypted: the password must be encrypted with the channel's policy
        assert token.SecurityPolicyUri == (e.SecurityPolicyUri if e.SecurityMode.name == "Sign" else NONE_URI)
    tokens = {t.TokenType for e in endpoints for t in e.UserIdentityTokens}
    assert tokens == {ua.UserTokenType.UserName}  # anonymous is not offered


@pytest.mark.parametrize(("policy", "mode"), POLICIES)
async def test_every_policy_reads_and_writes_with_a_trusted_certificate(secure: Secure, policy: str, mode: str) -> None:
    value = 10.0 + POLICIES.index((policy, mode))
    async with await secure.client(policy, mode) as c:
        assert c.security_policy.Mode == getattr(ua.MessageSecurityMode, mode)
        temp = c.get_node(await nid(c, "boiler.temp"))
        assert (await temp.read_data_value()).StatusCode.is_good()
        await c.get_node(await nid(c, "boiler.sp")).write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Double)))
        await wait_for(lambda: secure.gw.twin.state("boiler.sp").value == value)


async def test_an_untrusted_client_certificate_is_refused(secure: Secure) -> None:
    for policy, mode in (("Aes256Sha256RsaPss", "SignAndEncrypt"), ("Basic256Sha256", "Sign")):
        c = await secure.client(policy, mode, trusted=False)
        with pytest.raises((ua.UaError, asyncio.TimeoutError, ConnectionError, OSError)):
            async with c:
                pass


async def test_a_viewer_reads_over_an_encrypted_channel_but_cannot_write(secure: Secure) -> None:
    async with await secure.client("Aes128Sha256RsaOaep", "SignAndEncrypt", user="viewer", pw=VIEW_PW) as c:
        assert (await c.get_node(await nid(c, "boiler.temp")).read_data_value()).StatusCode.is_good()
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await c.get_node(await nid(c, "boiler.sp")).write_value(
                ua.DataValue(ua.Variant(1.0, ua.VariantType.Double))
            )


async def test_a_wrong_password_is_refused_logged_and_counted(secure: Secure, caplog: pytest.LogCaptureFixture) -> None:
    users = secure.gw.services["opcua"].users
    before = users.failed_logins
    caplog.set_level(logging.DEBUG)
    c = await secure.client("Basic256Sha256", "SignAndEncrypt", pw="not-the-operator-pw")
    with pytest.raises(ua.UaError):
        async with c:
            pass
    c = await secure.client("Basic256Sha256", "SignAndEncrypt", user="nobody", pw="whatever-pw-1")
    with pytest.raises(ua.UaError):
        async with c:
            pass
    assert users.failed_logins == before + 2
    # the server's records (the client library logs its own request, password included, at DEBUG)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("asyncua.client"))
    assert "'op'" in text and "'nobody'" in text  # who, for the operator's log
    assert "not-the-operator-pw" not in text and "whatever-pw-1" not in text  # never the password


# -- anonymous --------------------------------------------------------------------------------------------------


async def test_anonymous_when_allowed_is_a_viewer(tmp_path: Path) -> None:
    text = twin_header() + opcua_section(tmp_path / "pki", anonymous=True) + BODY
    async with running(text) as gw:
        url = endpoint(gw)
        endpoints = await Client(url, timeout=5).connect_and_get_server_endpoints()
        assert ua.UserTokenType.Anonymous in {t.TokenType for e in endpoints for t in e.UserIdentityTokens}
        await wait_for(lambda: gw.twin.state("boiler.sp").status == "Good")
        async with client(url, None) as c:
            ns = await c.get_namespace_index(NS_URI)
            assert (await c.get_node(ua.NodeId("boiler.temp", ns)).read_data_value()).StatusCode.is_good()
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await c.get_node(ua.NodeId("boiler.sp", ns)).write_value(
                    ua.DataValue(ua.Variant(1.0, ua.VariantType.Double))
                )
        assert gw.twin.state("boiler.sp").value == 50.0


async def test_a_user_called_anonymous_does_not_give_anonymous_sessions_its_role(tmp_path: Path) -> None:
    extra = (
        f'      - {{name: anonymous, password_hash: "{hash_password("x" * 12, iterations=1000)}", role: operator}}\n'
    )
    text = twin_header() + opcua_section(tmp_path / "pki", anonymous=True, users=extra) + BODY
    try:
        model = load_mappings(["m.yaml"], texts={"m.yaml": text})
    except ConfigErrors:
        return  # refusing the name at load time is a fix too
    gw = Gateway(model)
    await gw.start()
    try:
        await wait_for(lambda: gw.twin.state("boiler.sp").status == "Good")
        async with client(endpoint(gw), None) as c:
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await c.get_node(await nid(c, "boiler.sp")).write_value(
                    ua.DataValue(ua.Variant(1.0, ua.VariantType.Double))
                )
    finally:
        await gw.stop()
