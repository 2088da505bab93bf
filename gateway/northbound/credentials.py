"""Secrets in mappings are stored hashed: API tokens as SHA-256 (they are long and random), OPC UA passwords as
PBKDF2-SHA256 (people choose them, so guessing must be slow). ``twinbridge hash token|password`` makes either
from a secret read on stdin.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
from typing import Any

ITERATIONS = 200_000
_MIN_LENGTH = {"token": 16, "password": 8}


def sha256_hex(token: str) -> str:
    """The hex SHA-256 of an API token, as configured in ``gateway.http.tokens[].token_sha256``."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hash>`` of a password, for ``gateway.opcua.users[].password_hash``."""
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether a password matches a stored hash (constant time)."""
    _, iterations, salt, digest = stored.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(candidate.hex(), digest)


def add_parser(sub: Any) -> None:
    """Register ``hash`` on the ``twinbridge`` sub-command parsers."""
    h = sub.add_parser(
        "hash",
        help="hash an API token (token_sha256) or an OPC UA password (password_hash) read from stdin",
        description='Reads the secret from stdin (e.g. `echo -n "$TOKEN" | twinbridge hash token`) and prints '
        "what the mapping stores: token -> gateway.http.tokens[].token_sha256, password -> "
        "gateway.opcua.users[].password_hash.",
    )
    h.add_argument("what", choices=["token", "password"])


def cmd_hash(args: argparse.Namespace) -> int:
    """Run ``twinbridge hash``; 2 when the secret is too short."""
    secret = sys.stdin.readline().rstrip("\r\n")
    if args.what == "token":
        secret = secret.strip()
    if len(secret) < _MIN_LENGTH[args.what]:
        print(f"a {args.what} must be at least {_MIN_LENGTH[args.what]} characters long", file=sys.stderr)
        return 2
    print(sha256_hex(secret) if args.what == "token" else hash_password(secret))
    return 0
