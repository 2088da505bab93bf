"""The OPC UA server passes the twin's status names through unchanged: every name the code uses must exist.

A status name that OPC UA does not define is sent as the bare class (Bad/Uncertain/Good), losing the detail a
SCADA operator would see; these tests catch a new adapter or stage introducing such a name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole

from adapters.contract.sample import Quality
from gateway.northbound.credentials import hash_password
from gateway.northbound.opcua.config import UaUser
from gateway.northbound.opcua.users import TwinUserManager
from gateway.northbound.opcua.values import status_code as _status

ROOT = Path(__file__).resolve().parents[5]
_NAME = re.compile(r"""["']((?:Good|Uncertain|Bad)[A-Z][A-Za-z0-9]+)""")


def _status_names_in_source() -> dict[str, str]:
    """Status-name string literals in adapters/ and gateway/ -> the first file using each."""
    found: dict[str, str] = {}
    for folder in ("adapters", "gateway"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in _NAME.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


NAMES = _status_names_in_source()


def test_the_scan_finds_the_names_adapters_use() -> None:
    # guards the scan itself: these are emitted by the supervisor, the twin's write checks and the adapters
    assert {"BadCommunicationError", "BadOutOfRange", "BadTypeMismatch", "BadNotWritable", "BadTimeout"} <= set(NAMES)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_status_name_in_the_code_is_an_opcua_status_code(name: str) -> None:
    code = getattr(ua.StatusCodes, name, None)
    assert code is not None, f"{name} (used in {NAMES[name]}) is not an OPC UA status code"
    assert _status(name).value == code


@pytest.mark.parametrize("name", sorted(NAMES))
def test_quality_class_agrees_with_the_codes_severity(name: str) -> None:
    code = ua.StatusCode(getattr(ua.StatusCodes, name))
    expected = Quality.GOOD if code.is_good() else Quality.UNCERTAIN if code.is_uncertain() else Quality.BAD
    assert Quality.of_status(name) is expected


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("BadNoSuchThing", ua.StatusCodes.Bad),
        ("UncertainNoSuchThing", ua.StatusCodes.Uncertain),
        ("GoodNoSuchThing", ua.StatusCodes.Good),
        ("Bad", ua.StatusCodes.Bad),
        ("Good", ua.StatusCodes.Good),
    ],
)
def test_an_unknown_name_keeps_its_class(name: str, code: int) -> None:
    assert _status(name).value == code


def test_sessions_roles() -> None:
    users = TwinUserManager([], allow_anonymous=True)
    assert users.role(None) == "reader"
    assert users.role(User(role=UserRole.User, name="anonymous")) == "reader"
    assert users.role(User(role=UserRole.User, name="someone-unconfigured")) == "reader"


def test_the_servers_internal_session_is_an_operator() -> None:
    assert TwinUserManager([], allow_anonymous=False).role(User(role=UserRole.Admin)) == "operator"


def test_roles_come_from_the_login_not_from_the_name() -> None:
    pw = "long-enough-pw"
    users = TwinUserManager(
        [UaUser(name="anonymous", password_hash=hash_password(pw, iterations=1000), role="operator")],
        allow_anonymous=True,
    )
    anonymous = users.get_user(None)
    logged_in = users.get_user(None, username="anonymous", password=pw)
    assert anonymous is not None and logged_in is not None
    assert anonymous.name == logged_in.name == "anonymous"
    assert (users.role(anonymous), users.role(logged_in)) == ("reader", "operator")
    # a session user the manager did not make lends nothing, whatever its name
    assert users.role(User(role=UserRole.User, name="anonymous")) == "reader"
