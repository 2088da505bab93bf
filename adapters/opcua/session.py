"""Opening one authenticated, secured OPC UA session, with every refusal turned into a clear error.

The sequence: ask the server for its endpoints over an unsecured discovery channel, pick the endpoint
matching the configured policy and mode, check the server certificate against the trust folder *before*
anything secret is sent, make sure the client certificate exists, set the user identity, then connect.
asyncua's own reconnect loop stays off (``auto_reconnect=False``): the gateway supervisor owns reconnection,
and asyncua's watchdog only reports a lost connection (keep-alive reads every ``keepalive_interval``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from asyncua import Client, ua
from asyncua.common.utils import ServiceError
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from adapters.contract.adapter import AdapterUnavailable
from adapters.contract.polling import LogOnce
from adapters.contract.status import status_name
from adapters.opcua.config import OpcUaSourceConfig
from adapters.opcua.security import (
    MODES,
    POLICIES,
    Pki,
    ServerTrust,
    TrustError,
    common_name,
    ensure_client_certificate,
    fingerprint,
)

# refusals that retrying cannot fix until someone changes the mapping, a password or a trust list
_FINAL = {
    "BadUserAccessDenied",
    "BadIdentityTokenInvalid",
    "BadIdentityTokenRejected",
    "BadUserSignatureInvalid",
    "BadCertificateUntrusted",
    "BadCertificateInvalid",
    "BadCertificateUriInvalid",
    "BadCertificateTimeInvalid",
    "BadCertificateRevoked",
    "BadCertificateUseNotAllowed",
    "BadSecurityChecksFailed",
    "BadSecurityPolicyRejected",
    "BadSecurityModeRejected",
}


@dataclass
class SessionInfo:
    """Credential-free facts about an open session, for describe() and logs."""

    policy: str
    mode: str
    server_uri: str | None = None
    server_certificate: str | None = None  # "CN (SHA-256 ab:cd:...)"
    client_certificate: str | None = None  # path of the certificate the integrator must trust on the server
    identity: str = "anonymous"


def first_certificate(der: bytes) -> bytes:
    """The leading certificate of a DER chain (servers may send theirs with its CA chain)."""
    if len(der) < 4:
        return der
    return der[: int.from_bytes(der[2:4], "big") + 4]


def _describe_endpoint(ep: ua.EndpointDescription) -> str:
    policy = ep.SecurityPolicyUri.rsplit("#", 1)[-1]
    mode = ua.MessageSecurityMode(ep.SecurityMode).name.rstrip("_")
    return f"{policy}/{mode}"


class SessionOpener:
    """Builds connected asyncua clients for one source; holds the PKI across reconnects."""

    def __init__(self, cfg: OpcUaSourceConfig, base_dir: str, log: logging.Logger) -> None:
        self.cfg = cfg
        self.base_dir = base_dir
        self.log = log
        self.pki = Pki.from_config(cfg.security, base_dir)
        self.trust = ServerTrust(self.pki, trust_all=cfg.security.trust_all)
        self._warn_once = LogOnce(log)

    def _client(self) -> Client:
        cfg = self.cfg
        client = Client(cfg.url, timeout=cfg.request_timeout, watchdog_intervall=cfg.keepalive_interval)
        client.application_uri = cfg.security.application_uri
        client.name = client.description = "twinbridge"
        client.product_uri = "urn:twinbridge"
        client.session_timeout = int(cfg.session_timeout * 1000)
        return client

    async def open(self) -> tuple[Client, SessionInfo]:
        """A connected client, or ``AdapterUnavailable`` saying why not (``retryable=False`` for refusals)."""
        cfg = self.cfg
        sec = cfg.security
        mode = sec.effective_mode
        info = SessionInfo(sec.policy, mode, identity=cfg.auth.type)
        client = self._client()
        try:
            endpoints = await client.connect_and_get_server_endpoints()
        except (OSError, TimeoutError) as exc:
            raise AdapterUnavailable(f"cannot reach {cfg.url}: {_os_reason(exc)}", status="BadNotConnected") from None
        except ua.UaStatusCodeError as exc:
            raise self._refused(exc, "GetEndpoints") from None
        ep = self._pick_endpoint(endpoints)
        info.server_uri = ep.Server.ApplicationUri if ep.Server else None
        server_der = first_certificate(ep.ServerCertificate) if ep.ServerCertificate else None
        if server_der and (sec.policy != "None" or cfg.auth.type != "anonymous"):
            cert = await self._check_server(server_der, info.server_uri)
            info.server_certificate = f"{common_name(cert)} (SHA-256 {fingerprint(cert)[:23]}...)"
            self._install_validator(client)
        elif sec.policy != "None":
            raise AdapterUnavailable(
                f"{cfg.url}: the {info.policy} endpoint has no server certificate",
                retryable=False,
                status="BadCertificateInvalid",
            )
        if sec.policy == "None":
            self._warn_once(
                "none",
                "source %s: security policy None, traffic to %s is neither signed nor encrypted",
                cfg.id,
                cfg.url,
            )
        else:
            info.client_certificate = await self._set_security(client, server_der)  # type: ignore[arg-type]
        await self._set_identity(client, ep)
        try:
            await client.connect()
        except (OSError, TimeoutError) as exc:
            raise AdapterUnavailable(
                f"cannot connect to {cfg.url}: {_os_reason(exc)}", status="BadNotConnected"
            ) from None
        except ua.UaStatusCodeError as exc:
            raise self._refused(exc, "the session") from None
        except ua.UaError as exc:
            raise AdapterUnavailable(f"{cfg.url}: {exc}", status="BadCommunicationError") from None
        return client, info

    def _pick_endpoint(self, endpoints: list[ua.EndpointDescription]) -> ua.EndpointDescription:
        cfg = self.cfg
        uri = POLICIES[cfg.security.policy].URI
        want = MODES[cfg.security.effective_mode]
        for ep in endpoints:
            if ep.SecurityPolicyUri == uri and ep.SecurityMode == want:
                return ep
        offered = ", ".join(sorted({_describe_endpoint(e) for e in endpoints})) or "none"
        raise AdapterUnavailable(
            f"{cfg.url} offers no {cfg.security.policy}/{cfg.security.effective_mode} endpoint (it offers: {offered})",
            retryable=False,
            status="BadSecurityPolicyRejected",
        )

    async def _check_server(self, der: bytes, server_uri: str | None) -> x509.Certificate:
        try:
            cert = await self.trust.check(der, server_uri)
        except TrustError as exc:
            raise AdapterUnavailable(f"{self.cfg.url}: {exc.reason}", retryable=False, status=exc.status) from None
        if self.trust.trust_all:
            self._warn_once(
                "trust_all",
                "source %s: security.trust_all is on, accepting server certificate '%s' (SHA-256 %s) without "
                "checking it; turn it off after commissioning",
                self.cfg.id,
                common_name(cert),
                fingerprint(cert),
            )
        return cert

    async def _set_security(self, client: Client, server_der: bytes) -> str:
        sec = self.cfg.security
        try:
            cert, key, generated = await ensure_client_certificate(sec, self.pki, self.base_dir)
        except (OSError, ValueError) as exc:
            raise AdapterUnavailable(
                f"client certificate: {exc}", retryable=False, status="BadConfigurationError"
            ) from None
        if generated:
            self.log.info(
                "source %s: generated the client certificate %s (ApplicationUri %s); the server must trust it",
                self.cfg.id,
                cert,
                sec.application_uri,
            )
        await client.set_security(
            POLICIES[sec.policy], str(cert), str(key), server_certificate=server_der, mode=MODES[sec.effective_mode]
        )

        return str(cert)

    def _install_validator(self, client: Client) -> None:
        """Check the certificate of CreateSession too (it is the one asyncua encrypts a password for)."""

        async def validate(certificate: x509.Certificate, app: ua.ApplicationDescription) -> None:
            try:
                await self.trust.check(certificate.public_bytes(Encoding.DER), app.ApplicationUri)
            except TrustError as exc:
                raise ServiceError(getattr(ua.StatusCodes, exc.status, ua.StatusCodes.BadCertificateInvalid)) from exc

        client.certificate_validator = validate

    async def _set_identity(self, client: Client, ep: ua.EndpointDescription) -> None:
        auth = self.cfg.auth
        if auth.type == "username":
            token = next((t for t in ep.UserIdentityTokens or [] if t.TokenType == ua.UserTokenType.UserName), None)
            if token is None:
                raise AdapterUnavailable(
                    f"{self.cfg.url} does not accept username/password on this endpoint",
                    retryable=False,
                    status="BadIdentityTokenRejected",
                )
            token_policy = token.SecurityPolicyUri or ep.SecurityPolicyUri
            encrypted = token_policy not in ("", POLICIES["None"].URI)
            if not encrypted and ep.SecurityMode != ua.MessageSecurityMode.SignAndEncrypt:
                if not auth.allow_plaintext_password:
                    raise AdapterUnavailable(
                        f"{self.cfg.url} would receive the password unencrypted on this endpoint; use a "
                        "SignAndEncrypt security mode, or set auth.allow_plaintext_password: true",
                        retryable=False,
                        status="BadSecurityModeInsufficient",
                    )
                self._warn_once("plain", "source %s: sending the password unencrypted", self.cfg.id)
            assert auth.username is not None and auth.password is not None
            client.set_user(auth.username)
            client.set_password(auth.password.get_secret_value())
        elif auth.type == "certificate":
            assert auth.certificate and auth.private_key
            base = Path(self.base_dir)
            try:
                await client.load_client_certificate(str(_abs(auth.certificate, base)))
                await client.load_private_key(_abs(auth.private_key, base))
            except (OSError, ValueError) as exc:
                raise AdapterUnavailable(
                    f"user certificate: {exc}", retryable=False, status="BadConfigurationError"
                ) from None

    def _refused(self, exc: ua.UaStatusCodeError, what: str) -> AdapterUnavailable:
        status = status_name(exc.code)
        doc = str(exc).split("(")[0].strip()
        hint = ""
        if status in ("BadUserAccessDenied", "BadIdentityTokenRejected", "BadIdentityTokenInvalid"):
            hint = f" (check the user name and password of source {self.cfg.id})"
        elif status in ("BadSecurityChecksFailed", "BadCertificateUntrusted") and self.cfg.security.policy != "None":
            hint = f" (the server may not trust the client certificate {self.pki.own_cert}; trust it on the server)"
        return AdapterUnavailable(
            f"{self.cfg.url} refused {what}: {status}: {doc}{hint}", retryable=status not in _FINAL, status=status
        )


def _abs(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__
