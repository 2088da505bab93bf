"""Where history, analytics and the MQTT buffers keep their state: named, beside the store, or temporary."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.state_folder import StateFolder


def test_the_named_folder_wins_then_the_one_beside_the_store(tmp_path: Path) -> None:
    assert StateFolder("mqtt", tmp_path / "twin/", tmp_path / "here", hint="x").path() == tmp_path / "here"
    beside = StateFolder("mqtt", str(tmp_path / "twin") + "/", hint="x")
    assert beside.path() == tmp_path / "twin-mqtt" and not beside.temporary
    assert beside.cleanup() is False  # a configured folder is never removed


def test_a_temporary_folder_is_made_once_said_once_and_removed(caplog: pytest.LogCaptureFixture) -> None:
    folder = StateFolder("analytics", None, hint="analytics.state")
    with caplog.at_level(logging.INFO, logger="twinbridge.state"):
        first, again = folder.path(), folder.path()
    assert first == again and first.is_dir() and first.name.startswith("twinbridge-analytics-") and folder.temporary
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "will not survive a restart (set analytics.state or twin.store)" in lines[0]
    assert folder.cleanup() and not first.exists() and not folder.temporary
