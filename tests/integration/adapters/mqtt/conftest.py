"""Fixtures of the MQTT adapter integration tests (helpers live in mqtt_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mqtt_helpers import Broker, TestClient


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh broker process for one test (tests kill and restart it)."""
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.kill()


@pytest.fixture
def client(broker: Broker) -> Iterator[TestClient]:
    """A paho client connected to the test broker."""
    c = TestClient(broker)
    yield c
    c.close()
