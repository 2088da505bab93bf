"""Client certificates of the OPC UA server: ``pki_dir/trusted/`` and ``pki_dir/rejected/``.

What Kepware and UaExpert users expect: a client the server refuses leaves its certificate in ``rejected/``;
an administrator trusts it by moving it to ``trusted/`` (``twinbridge trust accept``, or a file copy), and the
running server honours the change at the client's next connection attempt, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.northbound.opcua.uatypes import status as status_code

log = logging.getLogger("twinbridge.opcua.trust")
_CERT_SUFFIXES = (".der", ".cer", ".crt", ".pem")
Status = Literal["trusted", "rejected"]


class TrustError(Exception):
    """A trust-list command that cannot be done (no such certificate, ambiguous name...)."""


def demo_pki_dir() -> Path:
    """The demo's PKI, kept per user so that a client trusted once stays trusted (XDG base directories)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "twinbridge" / "demo-pki"


def thumbprint(cert: x509.Certificate) -> str:
    """SHA-1 thumbprint in hex, as UaExpert and Kepware show it."""
    return cert.fingerprint(hashes.SHA1()).hex()


def load_certificate(data: bytes) -> x509.Certificate:
    """A DER or PEM certificate."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


@dataclass(frozen=True)
class CertificateFile:
    """A certificate in the trust folders."""

    path: Path
    status: Status
    thumbprint: str
    subject: str
    application_uri: str | None
    not_after: datetime

    @classmethod
    def read(cls, path: Path, status: Status) -> CertificateFile:
        cert = load_certificate(path.read_bytes())
        uri = None
        with contextlib.suppress(x509.ExtensionNotFound):
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            uris = san.get_values_for_type(x509.UniformResourceIdentifier)
            uri = uris[0] if uris else None
        return cls(path, status, thumbprint(cert), cert.subject.rfc4514_string(), uri, cert.not_valid_after_utc)


class TrustFolders:
    """``trusted/`` and ``rejected/`` under a PKI folder."""

    def __init__(self, pki_dir: str | Path) -> None:
        self.pki = Path(pki_dir)
        self.trusted = self.pki / "trusted"
        self.rejected = self.pki / "rejected"

    def ensure(self) -> None:
        self.trusted.mkdir(parents=True, exist_ok=True)
        self.rejected.mkdir(parents=True, exist_ok=True)

    def _files(self, folder: Path) -> Iterator[Path]:
        if folder.is_dir():
            yield from sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _CERT_SUFFIXES)

    def signature(self) -> tuple[tuple[str, int, int], ...]:
        """What changes when a trusted certificate is added, replaced or removed (names, sizes, mtimes)."""
        out = []
        for p in self._files(self.trusted):
            st = p.stat()
            out.append((p.name, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def certificates(self) -> list[CertificateFile]:
        """Every readable certificate, trusted ones first; unreadable files are logged and skipped."""
        out: list[CertificateFile] = []
        for status, folder in (("trusted", self.trusted), ("rejected", self.rejected)):
            for p in self._files(folder):
                try:
                    out.append(CertificateFile.read(p, status))  # type: ignore[arg-type]
                except (ValueError, OSError) as exc:
                    log.warning("%s is not a certificate: %s", p, exc)
        return out

    def find(self, ident: str, status: Status) -> CertificateFile:
        """The one certificate of ``status`` whose file name or thumbprint (a prefix of 6+ hex digits) is ident."""
        ident_l = ident.lower().replace(":", "")
        found = [
            c
            for c in self.certificates()
            if c.status == status and (c.path.name == ident or (len(ident_l) >= 6 and c.thumbprint.startswith(ident_l)))
        ]
        if not found:
            raise TrustError(f"no {status} certificate {ident!r} in {self.pki} (see `twinbridge trust list`)")
        if len(found) > 1:
            names = ", ".join(c.path.name for c in found)
            raise TrustError(f"{ident!r} matches several {status} certificates ({names}); give more of the thumbprint")
        return found[0]

    def _move(self, cert: CertificateFile, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / cert.path.name
        os.replace(cert.path, target)  # one rename: the server never sees half a file
        return target

    def accept(self, ident: str) -> Path:
        """Trust a rejected certificate (moved to ``trusted/``)."""
        return self._move(self.find(ident, "rejected"), self.trusted)

    def reject(self, ident: str) -> Path:
        """Stop trusting a certificate (moved to ``rejected/``)."""
        return self._move(self.find(ident, "trusted"), self.rejected)

    def save_rejected(self, cert: x509.Certificate) -> Path:
        """Keep a refused client's certificate in ``rejected/`` (named by its CN and thumbprint)."""
        cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        cn = str(cns[0].value) if cns else "certificate"
        name = f"{re.sub(r'[^A-Za-z0-9._-]+', '_', cn).strip('_') or 'certificate'}_{thumbprint(cert)[:16]}.der"
        self.rejected.mkdir(parents=True, exist_ok=True)
        path = self.rejected / name
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(cert.public_bytes(Encoding.DER))
            os.replace(tmp, path)
        return path


class WatchedTrustValidator:
    """asyncua certificate validator over ``trusted/``, re-read whenever that folder changes.

    Refused certificates are saved to ``rejected/``. With an empty ``trusted/`` every secure client is refused.
    """

    _OPTIONS = CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT

    def __init__(self, folders: TrustFolders) -> None:
        self.folders = folders
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._validator: CertificateValidator | None = None
        self._lock = asyncio.Lock()
        self.reloads = 0

    async def _current(self) -> CertificateValidator | None:
        async with self._lock:  # one reload at a time when several clients connect at once
            signature = await asyncio.to_thread(self.folders.signature)
            if signature != self._signature:
                self._signature = signature
                self._validator = None
                if signature:
                    store = TrustStore([self.folders.trusted], [])
                    await store.load()
                    self._validator = CertificateValidator(self._OPTIONS, trust_store=store)
                self.reloads += 1
                log.info("trusted client certificates read from %s: %d file(s)", self.folders.trusted, len(signature))
            return self._validator

    async def __call__(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        validator = await self._current()
        try:
            if validator is None:
                raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
            await validator.validate(cert, app)
        except ServiceError as exc:
            path = await asyncio.to_thread(self.folders.save_rejected, cert)
            log.warning(
                "refused the client certificate of %s (%s, %s): %s; saved as %s, trust it with "
                "`twinbridge trust accept %s --pki %s`",
                app.ApplicationUri,
                cert.subject.rfc4514_string(),
                thumbprint(cert)[:16],
                status_code(exc.code).name,
                path,
                thumbprint(cert)[:16],
                self.folders.pki,
            )
            raise
