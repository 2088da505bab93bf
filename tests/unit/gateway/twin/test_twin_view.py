"""The twin's view: the door northbound services get instead of the running gateway."""

from __future__ import annotations

import threading

import pyoxigraph as ox

from adapters.contract.sample import Quality, Sample, utcnow
from gateway.runtime import Gateway
from gateway.twin.twin import Twin
from gateway.twin.view import SourceHealth, TwinView
from tests.conftest import make_model, make_point


def _twin() -> Twin:
    return Twin(make_model([make_point("a.x"), make_point("a.y", writable=True), make_point("b.z", source="sim2")]))


def _sample(pid: str, v: float) -> Sample:
    return Sample(pid, v, utcnow(), Quality.GOOD, "Good", None)


def test_held_updates_dump_plus_following_updates_is_the_twin() -> None:
    twin = _twin()
    view = TwinView(twin)
    updates: list[str] = []
    view.add_update_listener(updates.append)
    twin.apply(_sample("a.x", 1.0))
    flushed = threading.Event()
    with view.held_updates() as dump:
        flusher = threading.Thread(target=lambda: (view.flush(), flushed.set()))
        flusher.start()
        assert not flushed.wait(0.2)  # a flush waits while updates are held
        replica = ox.Store()
        replica.load(dump(), ox.RdfFormat.N_QUADS)
    flusher.join(5)
    assert flushed.is_set() and len(updates) == 1
    twin.apply(_sample("a.x", 2.0))
    view.flush()
    for u in updates:
        replica.update(u)
    live = ox.NamedNode(view.ids.graph_live)
    assert len(replica) == len(twin.store)  # blank nodes get new labels when loaded: compare live values exactly
    assert set(replica.quads_for_pattern(None, None, None, live)) == set(
        twin.store.quads_for_pattern(None, None, None, live)
    )


async def test_door_reads_queries_subscribes_and_writes() -> None:
    twin = _twin()
    view = TwinView(twin)
    assert set(view.model.points) == {"a.x", "a.y", "b.z"}
    assert view.ids.point("a.x") == "http://test.local/point/a.x"
    sub = view.subscribe(["a.x"])
    twin.apply(_sample("a.x", 3.5))
    assert view.state("a.x").value == 3.5 and view.states()["a.x"].quality is Quality.GOOD
    assert [s.value for s in sub.get_nowait()] == [3.5]
    ask = f"ASK {{ <{view.ids.point('a.x')}> ?p 3.5e0 }}"
    assert await view.query(ask) is True  # the applied sample is in the graph for the query
    assert (await view.write("a.y", 1.0, actor="test")).status == "BadNoCommunication"  # no adapters running
    assert (await view.write("nope", 1.0, actor="test")).status == "BadNodeIdUnknown"
    st = view.stats()
    assert st.samples_applied == 1 and st.subscribers == 1 and st.points_by_quality[Quality.GOOD] == 1
    assert st.writes == {"BadNoCommunication": 1, "BadNodeIdUnknown": 1}
    assert view.source_health() == {}


def test_gateway_view_reports_source_health_as_snapshots() -> None:
    model = make_model([make_point("a.x"), make_point("b.z", source="sim2")])
    model.sources["sim2"] = model.sources["sim2"].model_copy(update={"enabled": False})
    gw = Gateway(model)
    try:
        health = gw.view.source_health()
        assert {sid: h.state for sid, h in health.items()} == {"sim1": "stopped", "sim2": "disabled"}
        h = health["sim1"]
        assert isinstance(h, SourceHealth) and not h.connected and h.points == 1 and h.kind == "sim"
        assert h.as_dict() == gw.supervisors["sim1"].info()  # the API's /sources entry, unchanged
        assert gw.view.metrics is gw.metrics.registry
    finally:
        gw.twin.close()
