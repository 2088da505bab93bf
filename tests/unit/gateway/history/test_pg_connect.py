"""PostgreSQL history targets (URL + gateway), secrets kept out of messages, capped backoff; no database needed."""

from __future__ import annotations

import pytest

from gateway.history.pg_connect import (
    DEFAULT_GATEWAY,
    Backoff,
    Target,
    describe_error,
    parse_target,
    redact,
    target_for,
    with_gateway,
)

URL = "postgresql://hist:s3cr%40t!@db.plant:5433/history?sslmode=require"


def test_the_gateway_rides_in_the_url_and_comes_off_before_libpq_sees_it() -> None:
    target = with_gateway(URL, "plant 1/north")
    parsed = parse_target(target)
    assert parsed.gateway == "plant 1/north"
    assert parsed.url == URL  # the URL libpq gets is the configured one, sslmode kept
    assert parse_target(URL).gateway == DEFAULT_GATEWAY
    assert parse_target("host=db password=x").gateway == DEFAULT_GATEWAY


def test_a_configured_url_names_the_gateway_else_the_twin_does() -> None:
    assert parse_target(target_for(URL, "twin_a")).gateway == "twin_a"
    assert parse_target(target_for(with_gateway(URL, "explicit"), "twin_a")).gateway == "explicit"
    assert target_for("host=db password=x", "twin_a") == "host=db password=x"  # key=value strings cannot
    with pytest.raises(ValueError, match="postgresql:// URL"):
        with_gateway("host=db password=x", "g")


def test_messages_lose_the_url_and_the_password_in_every_spelling() -> None:
    message = (
        f'missing "=" after "{URL}" in connection info string; password s3cr@t! or s3cr%40t! '
        "or postgresql://other:hunter2@h/db or password=hunter3 password='a b'"
    )
    out = redact(message, URL)
    for secret in ("s3cr@t!", "s3cr%40t!", "hunter2", "hunter3", "'a b'", URL):
        assert secret not in out
    assert "postgresql://other:***@h/db" in out


def test_a_target_shows_where_it_points_never_the_secret() -> None:
    target = parse_target(URL)
    assert "s3cr" not in repr(target)
    assert target.describe() == "hist@db.plant:5433/history"

    class Refused(Exception):
        sqlstate = "28P01"

    text = describe_error(Refused(f"password authentication failed for {URL}\nDETAIL: more"), target)
    assert text.startswith("Refused [28P01]: password authentication failed") and "s3cr" not in text
    assert "DETAIL" not in text
    assert isinstance(target, Target)


def test_backoff_doubles_up_to_its_cap_and_a_success_resets_it() -> None:
    backoff = Backoff(0.5, 4.0)
    assert backoff.ready(0.0)
    delays = [backoff.failed(now=0.0) for _ in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert not backoff.ready(3.9) and backoff.ready(4.0)
    backoff.succeeded()
    assert backoff.ready(0.0) and backoff.failed(now=0.0) == 0.5
