"""Fixtures of the MQTT adapter integration tests (helpers live in mqtt_helpers.py; ``broker`` is in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mqtt_helpers import Broker, TestClient


@pytest.fixture
def client(broker: Broker) -> Iterator[TestClient]:
    """A paho client connected to the test broker."""
    c = TestClient(broker)
    yield c
    c.close()
