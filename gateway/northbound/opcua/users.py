"""Users and roles of the OPC UA server: the asyncua user manager (password hashes: ``credentials.py``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from asyncua.crypto.permission_rules import User, UserRole

from gateway.northbound.credentials import check_password
from gateway.northbound.opcua.config import UaUser
from gateway.northbound.roles import RoleName

log = logging.getLogger("twinbridge.opcua.users")


@dataclass
class TwinUser(User):
    """A session user with the twinbridge role it was given at login (never looked up again by name)."""

    twin_role: RoleName = "reader"


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
                return TwinUser(role=UserRole.User, name="anonymous", twin_role="reader")
            self.failed_logins += 1
            log.warning("refused an anonymous OPC UA session (allow_anonymous is off)")
            return None
        user = self.users.get(username)
        if user is not None and password is not None and check_password(password, user.password_hash):
            return TwinUser(role=UserRole.User, name=username, twin_role=user.role)
        self.failed_logins += 1
        log.warning("refused OPC UA login for user %r (unknown user or wrong password)", username)
        return None

    def role(self, user: User | None) -> RoleName:
        """The twinbridge role of a session user: the one given at login, never looked up by name.

        Why by identity: anonymous sessions are named "anonymous" too, so a configured user of that name
        would otherwise lend them its role.
        """
        if isinstance(user, TwinUser):
            return user.twin_role
        if user is not None and user.role == UserRole.Admin:  # the server's own internal session
            return "operator"
        return "reader"
