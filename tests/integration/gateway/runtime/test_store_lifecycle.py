"""One Gateway object stopped and started again keeps writing its on-disk store."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from adapters.contract.sample import Quality
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.runtime.test_gateway_sim import MAPPING

pytestmark = pytest.mark.integration
TB = "https://w3id.org/twinbridge#"


def _on_disk_gateway_time(path: Path) -> str:
    store = ox.Store(str(path))  # the lock is free: the gateway is stopped
    q = f"SELECT ?t WHERE {{ GRAPH ?g {{ <http://t.local/point/boiler1.raw> <{TB}gatewayTime> ?t }} }}"
    rows = list(store.query(q))
    assert len(rows) == 1 and len(store) > 100  # model and live graphs, not an empty store
    return str(rows[0]["t"].value)


async def test_second_start_of_the_same_gateway_keeps_its_store(tmp_path: Path) -> None:
    db = tmp_path / "db"
    text = MAPPING.replace("flush_interval: 50ms}", f"flush_interval: 50ms, store: '{db}'}}")
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))
    await gw.start(services=False)
    await wait_for(lambda: gw.twin.state("boiler1.raw").quality is Quality.GOOD)
    await gw.stop()
    first = _on_disk_gateway_time(db)
    await gw.start(services=False)
    try:
        await wait_for(lambda: gw.twin.state("boiler1.raw").gateway_ts.isoformat() > first.replace("Z", "+00:00"))
        gw.twin.flush()
        assert len(gw.twin.store) > 100  # the store in use is the on-disk one, not a fresh in-memory one
    finally:
        await gw.stop()
    assert _on_disk_gateway_time(db) > first  # the second run's values reached the disk
