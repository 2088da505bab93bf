"""Shared test helpers: build points and models without YAML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.contract.model import Asset, AssetLevel, DataType, Point, PointKind, Transform
from adapters.sim.config import SimAddress, SimSourceConfig
from gateway.model import TwinModel, TwinSettings


def make_point(
    pid: str = "a.p",
    *,
    datatype: DataType = DataType.DOUBLE,
    writable: bool = False,
    kind: PointKind = PointKind.MEASUREMENT,
    unit: str | None = "DEG_C",
    source: str = "sim1",
    transform: Transform | None = None,
    address: dict[str, Any] | None = None,
    **kw: Any,
) -> Point:
    """A point on a sim source."""
    asset = pid.rsplit(".", 1)[0]
    return Point(
        id=pid,
        asset=asset,
        kind=kind,
        datatype=datatype,
        source=source,
        address=SimAddress.model_validate(address or {}),
        label=pid,
        unit=unit,
        writable=writable,
        transform=transform or Transform(),
        **kw,
    )


def make_model(points: list[Point], *, base_iri: str = "http://test.local/") -> TwinModel:
    """A model holding the points, their assets and one sim source per source id."""
    model = TwinModel(settings=TwinSettings(base_iri=base_iri))
    for p in points:
        model.points[p.id] = p
        model.assets.setdefault(p.asset, Asset(p.asset, AssetLevel.EQUIPMENT, (), p.asset))
        model.sources.setdefault(p.source, SimSourceConfig(id=p.source, interval=0.05))
    return model


@pytest.fixture
def point_factory() -> Any:
    return make_point


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Any]:
    """A real MQTT broker process (mosquitto) for one test, on an ephemeral loopback port; tests kill, freeze and
    restart it (``tests/integration/adapters/mqtt/mqtt_helpers.py``)."""
    from tests.integration.adapters.mqtt.mqtt_helpers import Broker

    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.kill()


def skip_unless_ci(what: str, install: str) -> None:
    """Skip a test whose system binary is absent, with the install line as the reason; in CI (whose .ci/run
    installs every binary) that is a failure instead, so nothing there is skipped for it."""
    import os

    if os.environ.get("CI"):
        pytest.fail(f"{what} missing in CI: .ci/run should have run '{install}'")
    pytest.skip(install)


async def wait_for(cond: Any, timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``cond()`` until true; fail after ``timeout`` seconds (tests wait on state, not on sleeps)."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(0.02)


@pytest.fixture(autouse=True, scope="session")
def _private_user_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Keep what the gateway stores per user (the demo's PKI) out of the real user's home during tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    yield
    mp.undo()
