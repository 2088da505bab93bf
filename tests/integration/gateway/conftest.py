"""Real SPARQL stores for the gateway's integration tests (remote_store, replication, central).

``virtuoso`` and ``oxigraph`` are module-scoped servers (bench/_sparql_stores.py); ``store`` is either, by id
``"oxigraph"`` / ``"virtuoso"``. Tests that kill or wipe a store take ``own_store`` (or ``own_virtuoso`` /
``own_oxigraph``): one for that test alone. Tests on a shared server keep to graphs of their own under
``graph_base`` (a fresh IRI per test). A missing binary skips with its install line, and fails when CI is set.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench._sparql_stores import SERVERS, OxigraphServer, StoreNotInstalled, StoreServer, VirtuosoServer
from tests.conftest import skip_unless_ci

STORE_IDS = ["oxigraph", "virtuoso"]


def skip_missing(exc: StoreNotInstalled) -> None:
    """Skip with the store's install line (a failure in CI)."""
    skip_unless_ci(str(exc), exc.install)


@contextmanager
def started(kind: str, folder: Path) -> Iterator[StoreServer]:
    """A started server of ``kind`` with its data in ``folder``; removed afterwards."""
    try:
        server = SERVERS[kind](folder)
    except StoreNotInstalled as exc:
        skip_missing(exc)
        raise
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtuosoServer]:
    """A Virtuoso shared by this test module."""
    with started("virtuoso", tmp_path_factory.mktemp("virtuoso")) as server:
        assert isinstance(server, VirtuosoServer)
        yield server


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    """An Oxigraph server shared by this test module."""
    with started("oxigraph", tmp_path_factory.mktemp("oxigraph")) as server:
        assert isinstance(server, OxigraphServer)
        yield server


@pytest.fixture(scope="module", params=STORE_IDS)
def store(request: pytest.FixtureRequest) -> StoreServer:
    """Each store in turn (module-scoped: graphs of other tests are there too)."""
    server: StoreServer = request.getfixturevalue(request.param)
    return server


@pytest.fixture
def own_virtuoso(tmp_path: Path) -> Iterator[VirtuosoServer]:
    """A Virtuoso for this test alone, which it may kill, restart or wipe."""
    with started("virtuoso", tmp_path / "virtuoso") as server:
        assert isinstance(server, VirtuosoServer)
        yield server


@pytest.fixture
def own_oxigraph(tmp_path: Path) -> Iterator[OxigraphServer]:
    """An Oxigraph server for this test alone, which it may kill, restart or wipe."""
    with started("oxigraph", tmp_path / "oxigraph") as server:
        assert isinstance(server, OxigraphServer)
        yield server


@pytest.fixture(params=STORE_IDS)
def own_store(request: pytest.FixtureRequest) -> StoreServer:
    """Each store in turn, for this test alone."""
    server: StoreServer = request.getfixturevalue(f"own_{request.param}")
    return server


@pytest.fixture
def graph_base() -> str:
    """A base IRI no other test uses (``graph:`` of the store settings), so tests can share one server."""
    return f"http://test.local/{uuid.uuid4().hex[:12]}/"
