"""Live table: N samples of one point between flushes make one graph write."""

from __future__ import annotations

import pyoxigraph as ox

from adapters.contract.sample import PointState, Quality, utcnow
from gateway.twin.live import LiveTable
from gateway.twin.vocab import TwinIRIs
from tests.conftest import make_point


def test_coalescing_writes_each_changed_point_once() -> None:
    ids = TwinIRIs("http://t/")
    table = LiveTable(ids)
    table.add_points([make_point("a.x"), make_point("a.y")])
    store = ox.Store()
    update, n = table.take_update()
    store.update(update)
    assert n == 2
    for i in range(1000):
        now = utcnow()
        table.set(PointState("a.x", float(i), now, now, Quality.GOOD, "Good", None))
    update, n = table.take_update()
    assert n == 1 and table.dirty == 0
    store.update(update)
    values = [
        float(q.object.value)
        for q in store.quads_for_pattern(
            ox.NamedNode("http://t/point/a.x"), ox.NamedNode("https://w3id.org/twinbridge#value"), None
        )
    ]
    assert values == [999.0]
    # nothing changed: no update at all
    assert table.take_update() == ("", 0)
    # exactly one value and one quality per point after many flushes
    assert len(list(store.quads_for_pattern(None, ox.NamedNode("https://w3id.org/twinbridge#quality"), None))) == 2
