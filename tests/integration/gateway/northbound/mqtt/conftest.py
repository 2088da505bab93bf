"""Fixtures of the northbound MQTT tests (the real mosquitto, ``broker``, is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient


@pytest.fixture
def watcher(broker: Broker) -> Iterator[TestClient]:
    """An independent paho client on the test broker (subscribe to see what the gateway publishes)."""
    c = TestClient(broker)
    yield c
    c.close()
