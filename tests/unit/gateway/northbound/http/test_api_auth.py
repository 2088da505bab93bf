"""Bearer-token settings and checks: hashed or ${VAR} tokens, roles, 401 versus 403, nothing secret logged."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys

import pytest
from pydantic import ValidationError

from gateway.northbound.credentials import sha256_hex
from gateway.northbound.http.auth import Principal, TokenAuth
from gateway.northbound.http.config import HttpApiConfig, TokenSpec
from gateway.northbound.http.errors import ApiError

READER = "reader-secret-0123456789"
OPERATOR = "operator-secret-0123456789"
ADMIN = "admin-secret-0123456789"


def _auth(**kw: object) -> TokenAuth:
    cfg = HttpApiConfig.model_validate(
        {
            "tokens": [
                {"name": "dash", "role": "reader", "token": READER},
                {"name": "ops", "role": "operator", "token": OPERATOR},
                {"name": "root", "role": "admin", "token_sha256": hashlib.sha256(ADMIN.encode()).hexdigest().upper()},
            ],
            **kw,
        }
    )
    return TokenAuth(cfg)


def _status(auth: TokenAuth, header: str | None, role: str) -> int | Principal:
    try:
        return auth.require(header, role)
    except ApiError as exc:
        return exc.status


def test_roles_are_ordered() -> None:
    auth = _auth()
    table = {
        None: (401, 401, 401),
        f"Bearer {READER}": ("dash", 403, 403),
        f"Bearer {OPERATOR}": ("ops", "ops", 403),
        f"bearer {ADMIN}": ("root", "root", "root"),  # the scheme is case-insensitive; the hash may be upper case
        f"Bearer  {ADMIN}  ": ("root", "root", "root"),
        "Bearer wrong-token-0123456789": (401, 401, 401),
        f"Basic {READER}": (401, 401, 401),
        "Bearer ": (401, 401, 401),
    }
    for header, expected in table.items():
        got = tuple(_status(auth, header, role) for role in ("reader", "operator", "admin"))
        assert tuple(g.name if isinstance(g, Principal) else g for g in got) == expected, header


def test_messages_say_what_is_needed() -> None:
    auth = _auth()
    with pytest.raises(ApiError) as e:
        auth.require(f"Bearer {READER}", "operator")
    assert e.value.status == 403 and "dash" in e.value.message and "operator" in e.value.message
    with pytest.raises(ApiError) as e:
        auth.require(None, "reader")
    assert e.value.status == 401 and "Authorization: Bearer" in e.value.message
    with pytest.raises(ApiError) as e:
        auth.require(f"Basic {READER}", "reader")
    assert "Bearer" in e.value.message


def test_anonymous_reads_only_when_enabled() -> None:
    assert _status(_auth(), None, "reader") == 401
    anon = _auth(anonymous_read=True)
    p = anon.require(None, "reader")
    assert p == Principal("anonymous", "reader")
    assert _status(anon, None, "operator") == 401  # anonymous never writes: it is asked to authenticate
    assert _status(anon, "Bearer wrong-token-0123456789", "reader") == 401  # a wrong token is not anonymous


def test_failures_are_counted_and_tokens_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    auth = _auth()
    wrong = "Bearer this-is-a-guessed-token-42"
    with caplog.at_level(logging.DEBUG):
        for header in (wrong, f"Basic {READER}", f"Bearer {READER}"):
            _status(auth, header, "admin")
    assert auth.failures == 2
    text = caplog.text + repr(caplog.records)
    assert "this-is-a-guessed-token-42" not in text and READER not in text


def test_token_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="exactly one of token"):
        TokenSpec(name="x")
    with pytest.raises(ValidationError, match="exactly one of token"):
        TokenSpec(name="x", token=READER, token_sha256="0" * 64)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least 16"):
        TokenSpec(name="x", token="short")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="pattern"):
        TokenSpec(name="x", token_sha256="not-a-digest")
    with pytest.raises(ValidationError):
        TokenSpec(name="x", role="root", token=READER)  # type: ignore[arg-type]
    spec = TokenSpec(name="x", token=READER)  # type: ignore[arg-type]
    assert READER not in repr(spec) and READER not in str(spec.model_dump())  # SecretStr


def test_hash_helper_prints_the_digest() -> None:
    cmd = [sys.executable, "-m", "gateway.cli", "hash", "token"]
    r = subprocess.run(cmd, input=READER + "\n", capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0 and r.stdout.strip() == sha256_hex(READER) == hashlib.sha256(READER.encode()).hexdigest()
    r = subprocess.run(cmd, input="short\n", capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 2 and "16 characters" in r.stderr and r.stdout == ""
