"""Bearer tokens with roles: reader < operator (may write values) < admin (see ``gateway.northbound.roles``)."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from gateway.northbound.credentials import sha256_hex
from gateway.northbound.http.config import HttpApiConfig
from gateway.northbound.http.errors import ApiError
from gateway.northbound.roles import allows

log = logging.getLogger("twinbridge.http.auth")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling."""

    name: str
    role: str

    def allows(self, role: str) -> bool:
        """Whether this principal has at least ``role``."""
        return allows(self.role, role)


ANONYMOUS = Principal("anonymous", "reader")  # a read without a token, where anonymous_read allows it


class TokenAuth:
    """Checks bearer tokens against the configured hashes in constant time."""

    def __init__(self, config: HttpApiConfig) -> None:
        self._tokens: list[tuple[str, Principal]] = []
        for t in config.tokens:
            digest = t.token_sha256.lower() if t.token_sha256 else sha256_hex(t.token.get_secret_value())  # type: ignore[union-attr]
            self._tokens.append((digest, Principal(t.name, t.role)))
        self.anonymous_read = config.anonymous_read
        self.failures = 0

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of an Authorization header; None when absent; ApiError 401 when wrong."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self.failures += 1
            raise ApiError(401, "use 'Authorization: Bearer <token>'")
        digest = sha256_hex(token.strip())
        for known, principal in self._tokens:
            if hmac.compare_digest(known, digest):
                return principal
        self.failures += 1
        log.warning("rejected an unknown API token")
        raise ApiError(401, "unknown or revoked token")

    def require(self, authorization: str | None, role: str) -> Principal:
        """The caller if allowed ``role``; 401 without credentials, 403 without the role."""
        principal = self.authenticate(authorization)
        if principal is None:
            if role == "reader" and self.anonymous_read:
                return ANONYMOUS
            raise ApiError(401, "this endpoint needs a bearer token (Authorization: Bearer <token>)")
        if not principal.allows(role):
            raise ApiError(403, f"token '{principal.name}' has role {principal.role}; this needs {role}")
        return principal
