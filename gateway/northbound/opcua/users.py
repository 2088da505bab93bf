"""Users and roles of the OPC UA server: password hashes (PBKDF2-SHA256) and the asyncua user manager."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Literal

from asyncua.crypto.permission_rules import User, UserRole

from gateway.northbound.opcua.config import UaUser

log = logging.getLogger("twinbridge.opcua.users")
ITERATIONS = 200_000


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hash>`` of a password."""
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether a password matches a stored hash (constant time)."""
    _, iterations, salt, digest = stored.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(candidate.hex(), digest)


@dataclass
class TwinUser(User):
    """A session user with the twinbridge role it was given at login (never looked up again by name)."""

    twin_role: Literal["viewer", "operator"] = "viewer"


class TwinUserManager:
    """asyncua user manager: configured users with roles; anonymous only when allowed."""

    def __init__(self, users: list[UaUser], allow_anonymous: bool) -> None:
        self.users = {u.name: u for u in users}
        self.allow_anonymous = allow_anonymous
        self.failed_logins = 0

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        # ``certificate`` is the secure channel's client certificate, present for anonymous sessions too;
        # certificate user identities are not offered (only Anonymous and UserName tokens), so it is ignored.
        if username is None:
            if self.allow_anonymous:
                return TwinUser(role=UserRole.User, name="anonymous", twin_role="viewer")
            self.failed_logins += 1
            log.warning("refused an anonymous OPC UA session (allow_anonymous is off)")
            return None
        user = self.users.get(username)
        if user is not None and password is not None and check_password(password, user.password_hash):
            return TwinUser(role=UserRole.User, name=username, twin_role=user.role)
        self.failed_logins += 1
        log.warning("refused OPC UA login for user %r (unknown user or wrong password)", username)
        return None

    def role(self, user: User | None) -> str:
        """The twinbridge role of a session user: the one given at login, never looked up by name.

        Why by identity: anonymous sessions are named "anonymous" too, so a configured user of that name
        would otherwise lend them its role.
        """
        if isinstance(user, TwinUser):
            return user.twin_role
        if user is not None and user.role == UserRole.Admin:  # the server's own internal session
            return "operator"
        return "viewer"


def main() -> int:
    """``python -m gateway.northbound.opcua.users``: read a password from stdin, print its hash."""
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("use a password of at least 8 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
