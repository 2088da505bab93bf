"""Connecting to the PostgreSQL historian: the target string, the secret kept out of logs, capped backoff.

A target is a libpq URL (``postgresql://user:password@host:port/db``) with one optional query parameter of our
own, ``gateway=<id>``: which gateway's history this is (many gateways share one historian, one schema each;
docs/history.md). The URL holds a password and comes from the environment: nothing here puts it in a message,
and errors from the driver (whose texts may quote the URL) are rewritten before they are logged or raised.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:  # psycopg is imported only when a connection is made: the gateway runs without it
    import psycopg

DEFAULT_GATEWAY = "default"
GATEWAY_PARAM = "gateway"
CONNECT_TIMEOUT_S = 5
_URL_PASSWORD = re.compile(r"(://[^:/?#@\s]*:)([^@\s]*)(@)")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class HistoryUnavailable(RuntimeError):
    """The historian cannot be reached or refused us; the message never holds the URL's password."""


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed target: the libpq URL (secret) and the gateway whose history it holds."""

    url: str
    gateway: str

    def __repr__(self) -> str:
        return f"Target(url='***', gateway={self.gateway!r})"

    def redact(self, text: str) -> str:
        """``text`` with this target's URL and password replaced by ``***``."""
        return redact(text, self.url)

    def describe(self) -> str:
        """Where it points, safe to log: ``user@host:port/db``."""
        try:
            parts = urlsplit(self.url)
            return f"{parts.username or ''}@{parts.hostname or ''}:{parts.port or 5432}{parts.path}"
        except ValueError:
            return "(unparsable URL)"


def parse_target(target: str) -> Target:
    """Split ``gateway=`` off a target; a target that is not a postgresql:// URL keeps the default gateway."""
    text = target.strip()
    if not _is_url(text):
        return Target(text, DEFAULT_GATEWAY)
    parts = urlsplit(text)
    query = parse_qsl(parts.query, keep_blank_values=True)
    gateway = next((v for k, v in query if k == GATEWAY_PARAM), DEFAULT_GATEWAY)
    rest = urlencode([(k, v) for k, v in query if k != GATEWAY_PARAM], quote_via=quote)
    return Target(urlunsplit(parts._replace(query=rest)), gateway or DEFAULT_GATEWAY)


def with_gateway(url: str, gateway: str) -> str:
    """The target naming ``gateway`` on the historian at ``url`` (what ``StoreLocation.target`` holds)."""
    if not _is_url(url):
        raise ValueError("only a postgresql:// URL can name a gateway (a key=value string cannot)")
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != GATEWAY_PARAM]
    query.append((GATEWAY_PARAM, gateway))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def redact(text: str, url: str) -> str:
    """Remove a URL, its password (raw and percent-decoded) and any ``password=`` from a message."""
    out = text.replace(url, "***") if url else text
    password = _password_of(url)
    if password:
        for form in {password, unquote(password), quote(password, safe="")}:
            if form:
                out = out.replace(form, "***")
    out = _URL_PASSWORD.sub(r"\1***\3", out)
    return _KV_PASSWORD.sub(r"\1***", out)


def _password_of(url: str) -> str | None:
    match = _URL_PASSWORD.search(url)
    if match:
        return match.group(2)
    kv = _KV_PASSWORD.search(url)
    return kv.group(2).strip("'") if kv else None


def target_for(url: str, gateway: str) -> str:
    """The target of a configured URL: the gateway its ``?gateway=`` names, else ``gateway`` (the twin's name).

    A ``key=value`` connection string cannot carry a gateway: it keeps the default one."""
    if not _is_url(url) or GATEWAY_PARAM in dict(parse_qsl(urlsplit(url.strip()).query)):
        return url
    return with_gateway(url, gateway)


def _is_url(text: str) -> bool:
    return text.strip().startswith(("postgresql://", "postgres://"))


def connect(target: Target, *, autocommit: bool = False, application: str = "twinbridge-history") -> psycopg.Connection:
    """A new connection, or ``HistoryUnavailable`` with a message free of the secret."""
    try:
        import psycopg
    except ImportError:
        raise HistoryUnavailable(
            "the PostgreSQL history backend needs psycopg: pip install 'twinbridge[postgresql]'"
        ) from None
    try:
        return psycopg.connect(
            target.url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S, application_name=application
        )
    except psycopg.Error as exc:
        raise HistoryUnavailable(f"cannot connect to the history database: {describe_error(exc, target)}") from None


def describe_error(exc: BaseException, target: Target) -> str:
    """One line naming the error, its SQLSTATE when it has one, with the secret removed."""
    first = (str(exc).strip().splitlines() or [""])[0]
    state = getattr(exc, "sqlstate", None)
    tag = f"{type(exc).__name__}" + (f" [{state}]" if state else "")
    return target.redact(f"{tag}: {first}")


class Backoff:
    """Capped doubling delay between reconnect attempts, reset by a success (the supervisor's rule)."""

    def __init__(self, initial_s: float = 0.5, cap_s: float = 30.0) -> None:
        self.initial_s = initial_s
        self.cap_s = cap_s
        self._delay = 0.0
        self._next_at = 0.0

    def ready(self, now: float | None = None) -> bool:
        """Whether an attempt may be made now."""
        return (time.monotonic() if now is None else now) >= self._next_at

    def failed(self, now: float | None = None) -> float:
        """Record a failure; returns the delay before the next attempt."""
        self._delay = self.initial_s if self._delay == 0 else min(self._delay * 2, self.cap_s)
        self._next_at = (time.monotonic() if now is None else now) + self._delay
        return self._delay

    def succeeded(self) -> None:
        """Record a success: the next failure waits ``initial_s`` again."""
        self._delay = 0.0
        self._next_at = 0.0
