"""Server-certificate trust and client-certificate generation of the OPC UA client (files only, no network)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from adapters.opcua.config import OpcUaSecurity
from adapters.opcua.security import Pki, ServerTrust, TrustError, ensure_client_certificate

URI = "urn:test:server"
SERVER_USE = [ExtendedKeyUsageOID.SERVER_AUTH]


def self_signed(uri: str = URI) -> tuple[x509.Certificate, object]:
    key = cert_gen.generate_private_key()
    sans = [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost")]
    return cert_gen.generate_self_signed_app_certificate(key, uri, {}, sans, SERVER_USE), key


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def pki(tmp_path: Path) -> Pki:
    return Pki.from_config(OpcUaSecurity(pki_dir="pki"), tmp_path)


async def test_unknown_certificate_is_refused_and_saved_for_review(tmp_path: Path) -> None:
    cert, _ = self_signed()
    p = pki(tmp_path)
    with pytest.raises(TrustError) as exc:
        await ServerTrust(p).check(der(cert), URI)
    assert exc.value.status == "BadCertificateUntrusted"
    saved = list(p.rejected.iterdir())
    assert len(saved) == 1 and saved[0].read_bytes() == der(cert)
    assert str(p.trusted) in exc.value.reason and "trust_all" in exc.value.reason
    # once the integrator moves it into trusted/, the same certificate passes
    p.trusted.mkdir(parents=True)
    saved[0].rename(p.trusted / saved[0].name)
    assert (await ServerTrust(p).check(der(cert), URI)).subject == cert.subject


async def test_trust_all_accepts_anything(tmp_path: Path) -> None:
    cert, _ = self_signed()
    assert await ServerTrust(pki(tmp_path), trust_all=True).check(der(cert), "urn:other")


async def test_pem_files_and_other_trusted_certificates(tmp_path: Path) -> None:
    cert, _ = self_signed()
    other, _ = self_signed("urn:other")
    p = pki(tmp_path)
    p.trusted.mkdir(parents=True)
    (p.trusted / "other.der").write_bytes(der(other))
    (p.trusted / "notes.txt").write_text("ignored")
    (p.trusted / "broken.der").write_bytes(b"not a certificate")
    with pytest.raises(TrustError):
        await ServerTrust(p).check(der(cert), URI)
    (p.trusted / "server.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    await ServerTrust(p).check(der(cert), URI)


async def test_wrong_application_uri_and_expired_certificates(tmp_path: Path) -> None:
    cert, key = self_signed()
    p = pki(tmp_path)
    p.trusted.mkdir(parents=True)
    (p.trusted / "s.der").write_bytes(der(cert))
    with pytest.raises(TrustError) as exc:
        await ServerTrust(p).check(der(cert), "urn:someone:else")
    assert exc.value.status == "BadCertificateUriInvalid" and "urn:someone:else" in exc.value.reason
    now = dt.datetime.now(dt.UTC)
    expired = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.subject)
        .public_key(cert.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now - dt.timedelta(days=1))
        .add_extension(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value, critical=False)
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    (p.trusted / "expired.der").write_bytes(der(expired))
    with pytest.raises(TrustError) as exc:
        await ServerTrust(p).check(der(expired), URI)
    assert exc.value.status == "BadCertificateTimeInvalid"


async def test_certificate_signed_by_a_trusted_ca(tmp_path: Path) -> None:
    ca_key = cert_gen.generate_private_key()
    ca = cert_gen.generate_self_signed_app_certificate(ca_key, "Plant CA", {}, [], [])  # no EKU: a CA
    key = cert_gen.generate_private_key()
    sans = [x509.UniformResourceIdentifier(URI)]
    csr = cert_gen.generate_app_certificate_signing_request(key, URI, {}, sans, SERVER_USE)
    leaf = cert_gen.sign_certificate_request(csr, ca, ca_key)
    p = pki(tmp_path)
    with pytest.raises(TrustError):
        await ServerTrust(p).check(der(leaf), URI)
    p.trusted.mkdir(parents=True, exist_ok=True)
    (p.trusted / "ca.der").write_bytes(der(ca))
    await ServerTrust(p).check(der(leaf), URI)
    # a revocation list from the CA in crl/ withdraws it
    now = dt.datetime.now(dt.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=1))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(leaf.serial_number).revocation_date(now).build()
        )
        .sign(ca_key, hashes.SHA256())
    )
    p.crl.mkdir(parents=True)
    (p.crl / "ca.crl.der").write_bytes(crl.public_bytes(Encoding.DER))
    with pytest.raises(TrustError) as exc:
        await ServerTrust(p).check(der(leaf), URI)
    assert exc.value.status == "BadCertificateRevoked"


async def test_unreadable_certificate(tmp_path: Path) -> None:
    with pytest.raises(TrustError) as exc:
        await ServerTrust(pki(tmp_path)).check(b"\x30\x03garbage", URI)
    assert exc.value.status == "BadCertificateInvalid"


async def test_client_certificate_generated_once_with_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    sec = OpcUaSecurity(pki_dir="pki", application_uri="urn:me:client")
    p = Pki.from_config(sec, tmp_path)
    cert_path, key_path, generated = await ensure_client_certificate(sec, p, tmp_path)
    assert generated and cert_path == tmp_path / "pki/own/certs/client_cert.der"
    assert os.stat(key_path).st_mode & 0o077 == 0
    cert = x509.load_der_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "urn:me:client" in san.get_values_for_type(x509.UniformResourceIdentifier)
    assert ExtendedKeyUsageOID.CLIENT_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "twinbridge"
    again = await ensure_client_certificate(sec, p, tmp_path)
    assert again == (cert_path, key_path, False) and cert_path.read_bytes() == der(cert)
    # a new ApplicationUri needs a new certificate (the key is kept)
    key_before = key_path.read_bytes()
    sec2 = OpcUaSecurity(pki_dir="pki", application_uri="urn:me:renamed")
    _, _, regenerated = await ensure_client_certificate(sec2, p, tmp_path)
    assert regenerated and key_path.read_bytes() == key_before


async def test_explicit_client_certificate_must_exist(tmp_path: Path) -> None:
    sec = OpcUaSecurity(certificate="mine.der", private_key="mine.pem")
    with pytest.raises(FileNotFoundError, match=r"mine\.der"):
        await ensure_client_certificate(sec, Pki.from_config(sec, tmp_path), tmp_path)
