"""Test TLS material for the MQTT tests: a CA, a broker certificate for 127.0.0.1/localhost, a client
certificate, and an unrelated CA (PEM files made with cryptography)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class TlsFiles:
    """A test CA and a server certificate for 127.0.0.1/localhost signed by it (PEM files)."""

    ca: Path
    cert: Path
    key: Path
    other_ca: Path  # an unrelated CA: trusting only this one must fail
    client_cert: Path
    client_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key: Any, ca: x509.Certificate, cn: str, sans: list[x509.GeneralName], server: bool) -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usage = x509.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.ExtendedKeyUsageOID.CLIENT_AUTH
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),
            critical=False,  # type: ignore[arg-type]
        )
    )
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, b.sign(ca_key, hashes.SHA256())


def _write(path: Path, key: Any = None, cert: Any = None) -> Path:
    data = b""
    if cert is not None:
        data += cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    path.write_bytes(data)
    return path


def make_tls(
    d: Path, *, server_names: Sequence[str] = ("localhost",), server_ips: Sequence[str] = ("127.0.0.1",)
) -> TlsFiles:
    """Generate the CA, server and client certificates into ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _ca("twinbridge test CA")
    _, other = _ca("some other CA")
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in server_names]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in server_ips]
    skey, scert = _leaf(ca_key, ca, "mqtt test broker", sans, server=True)
    ckey, ccert = _leaf(ca_key, ca, "twinbridge test client", [], server=False)
    return TlsFiles(
        ca=_write(d / "ca.pem", cert=ca),
        cert=_write(d / "server.pem", cert=scert),
        key=_write(d / "server.key", key=skey),
        other_ca=_write(d / "other-ca.pem", cert=other),
        client_cert=_write(d / "client.pem", cert=ccert),
        client_key=_write(d / "client.key", key=ckey),
    )
