"""Fixtures of the replication tests; the stores themselves come from tests/integration/gateway/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._sparql_stores import OxigraphServer, StoreNotInstalled
from tests.integration.gateway.conftest import skip_missing


@pytest.fixture
def oxigraph_later(tmp_path: Path) -> Iterator[OxigraphServer]:
    """An Oxigraph server with its port chosen but not started: the test starts it when it wants the store up."""
    try:
        server = OxigraphServer(tmp_path / "oxigraph-later")
    except StoreNotInstalled as exc:
        skip_missing(exc)
        raise
    try:
        yield server
    finally:
        server.remove()
