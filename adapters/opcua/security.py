"""Client certificates and server trust for OPC UA sessions.

The PKI folder follows the layout OPC UA tools share (UaExpert, open62541)::

    <pki_dir>/own/certs/client_cert.der     generated on first use (asyncua's cert_gen), valid one year
    <pki_dir>/own/private/client_key.pem    mode 0600
    <pki_dir>/trusted/                      server certificates (or their CAs) the integrator trusts
    <pki_dir>/rejected/                     untrusted server certificates land here, to be moved to trusted/
    <pki_dir>/crl/                          optional revocation lists of the trusted CAs

A server certificate is trusted when the same certificate is in ``trusted/`` (the usual case for self-signed
server certificates) or when it chains to a CA certificate there, is inside its validity period, names the
server's ApplicationUri and is not revoked. ``trust_all`` skips all of this and is logged loudly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asyncua import ua
from asyncua.crypto import cert_gen, security_policies
from asyncua.crypto.truststore import TrustStore
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from adapters.opcua.config import OpcUaSecurity

POLICIES: dict[str, type[security_policies.SecurityPolicy]] = {
    "None": security_policies.SecurityPolicyNone,
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MODES: dict[str, ua.MessageSecurityMode] = {
    "None": ua.MessageSecurityMode.None_,
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}


class TrustError(Exception):
    """A server certificate that is not trusted; ``status`` is the OPC UA status name."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Pki:
    """Resolved folders of one source's PKI."""

    root: Path
    trusted: Path

    @classmethod
    def from_config(cls, sec: OpcUaSecurity, base_dir: str | Path) -> Pki:
        """Folders relative to the mapping file's directory."""
        root = _resolve(sec.pki_dir, base_dir)
        trusted = _resolve(sec.trust_dir, base_dir) if sec.trust_dir else root / "trusted"
        return cls(root, trusted)

    @property
    def own_cert(self) -> Path:
        """The generated client certificate (DER)."""
        return self.root / "own" / "certs" / "client_cert.der"

    @property
    def own_key(self) -> Path:
        """The generated client private key (PEM)."""
        return self.root / "own" / "private" / "client_key.pem"

    @property
    def rejected(self) -> Path:
        """Where untrusted server certificates are saved for the integrator to review."""
        return self.root / "rejected"

    @property
    def crl(self) -> Path:
        """Revocation lists of trusted CAs."""
        return self.root / "crl"


def _resolve(path: str, base_dir: str | Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


async def ensure_client_certificate(sec: OpcUaSecurity, pki: Pki, base_dir: str | Path) -> tuple[Path, Path, bool]:
    """The client certificate and key to use, generated on first use; returns (cert, key, generated)."""
    if sec.certificate and sec.private_key:
        cert, key = _resolve(sec.certificate, base_dir), _resolve(sec.private_key, base_dir)
        for p in (cert, key):
            if not p.is_file():
                raise FileNotFoundError(f"{p} does not exist")
        return cert, key, False
    cert, key = pki.own_cert, pki.own_key
    existed = cert.is_file() and key.is_file()
    key.parent.mkdir(parents=True, exist_ok=True)
    cert.parent.mkdir(parents=True, exist_ok=True)
    if not key.is_file():
        # write the key ourselves so it is never world-readable, even for a moment
        pem = cert_gen.dump_private_key_as_pem(cert_gen.generate_private_key())
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    before = cert.stat().st_mtime_ns if cert.is_file() else None
    # regenerates the certificate when it is missing, expired or names another ApplicationUri/host
    await cert_gen.setup_self_signed_certificate(
        key,
        cert,
        sec.application_uri,
        socket.gethostname(),
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        {"organizationName": "twinbridge"},
    )
    after = cert.stat().st_mtime_ns if cert.is_file() else None
    return cert, key, (not existed) or before != after


def fingerprint(cert: x509.Certificate, algorithm: str = "sha256") -> str:
    """Colon-separated hex digest of the DER certificate."""
    digest = hashlib.new(algorithm, cert.public_bytes(Encoding.DER)).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def common_name(cert: x509.Certificate) -> str:
    """The certificate's CN, or its subject string."""
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else cert.subject.rfc4514_string()


def _load_certs(folder: Path) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    if not folder.is_dir():
        return out
    for f in sorted(folder.iterdir()):
        if f.suffix.lower() not in (".der", ".pem", ".crt", ".cer"):
            continue
        data = f.read_bytes()
        try:
            out.append(
                x509.load_pem_x509_certificate(data)
                if data.lstrip().startswith(b"-----")
                else x509.load_der_x509_certificate(data)
            )
        except ValueError:
            logging.getLogger(__name__).warning("ignoring %s: not a certificate", f)
    return out


class ServerTrust:
    """Decides whether a server certificate is trusted, from the PKI folders (re-read on every check)."""

    def __init__(self, pki: Pki, *, trust_all: bool = False) -> None:
        self.pki = pki
        self.trust_all = trust_all

    async def check(self, der: bytes, application_uri: str | None) -> x509.Certificate:
        """Return the parsed certificate when trusted; raise ``TrustError`` (and save it to rejected/) if not."""
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise TrustError("BadCertificateInvalid", f"the server sent an unreadable certificate ({exc})") from None
        if self.trust_all:
            return cert
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise TrustError(
                "BadCertificateTimeInvalid",
                f"server certificate '{common_name(cert)}' is valid only from {cert.not_valid_before_utc:%Y-%m-%d} "
                f"to {cert.not_valid_after_utc:%Y-%m-%d}",
            )
        if application_uri:
            try:
                san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                uris = san.get_values_for_type(x509.UniformResourceIdentifier)
            except x509.ExtensionNotFound:
                uris = []
            if application_uri not in uris:
                raise TrustError(
                    "BadCertificateUriInvalid",
                    f"server certificate '{common_name(cert)}' does not name the server's ApplicationUri "
                    f"'{application_uri}' (it names {', '.join(uris) or 'none'})",
                )
        trusted = _load_certs(self.pki.trusted)
        if not (self._directly_trusted(cert, trusted) or self._chains_to_ca(cert, trusted)):
            saved = self._save_rejected(cert)
            raise TrustError(
                "BadCertificateUntrusted",
                f"server certificate '{common_name(cert)}' (SHA-256 {fingerprint(cert)[:23]}...) is not trusted: "
                f"copy {saved} into {self.pki.trusted}/ to trust it, or set security.trust_all: true while "
                "commissioning",
            )
        if await self._revoked(cert):
            raise TrustError("BadCertificateRevoked", f"server certificate '{common_name(cert)}' is revoked")
        return cert

    @staticmethod
    def _directly_trusted(cert: x509.Certificate, trusted: list[x509.Certificate]) -> bool:
        der = cert.public_bytes(Encoding.DER)
        return any(t.public_bytes(Encoding.DER) == der for t in trusted)

    @staticmethod
    def _chains_to_ca(cert: x509.Certificate, trusted: list[x509.Certificate]) -> bool:
        cas = []
        for t in trusted:
            try:
                if t.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                    cas.append(t)
            except x509.ExtensionNotFound:
                continue
        if not cas:
            return False
        # asyncua's extension policies (CA must say ca=true, the leaf may carry any extensions)
        builder = TrustStore([], []).policy_builder.store(x509.verification.Store(cas))
        try:
            builder.build_client_verifier().verify(cert, [])
        except x509.verification.VerificationError:
            return False
        return True

    async def _revoked(self, cert: x509.Certificate) -> bool:
        if not self.pki.crl.is_dir():
            return False
        store = TrustStore([], [self.pki.crl])
        await store.load_crl()
        return store.is_revoked(cert)

    def _save_rejected(self, cert: x509.Certificate) -> Path:
        self.pki.rejected.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", common_name(cert))[:60] or "server"
        path = self.pki.rejected / f"{name} [{fingerprint(cert, 'sha1').replace(':', '')[:16]}].der"
        if not path.exists():
            path.write_bytes(cert.public_bytes(Encoding.DER))
        return path
