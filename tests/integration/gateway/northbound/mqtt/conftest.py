"""Fixtures of the northbound MQTT tests: a real mosquitto per test (tests kill and restart it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh broker process for one test, on an ephemeral loopback port."""
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.kill()


@pytest.fixture
def watcher(broker: Broker) -> Iterator[TestClient]:
    """An independent paho client on the test broker (subscribe to see what the gateway publishes)."""
    c = TestClient(broker)
    yield c
    c.close()
