"""A full push of the live graph (catch-up) and the changes made while it is under way (pure logic: the store is
a stand-in whose PUT lets the twin change before it returns)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.contract.sample import Quality, Sample
from gateway.remote_store.settings import ReplicaSettings
from gateway.replication.replicator import Replicator
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView
from tests.conftest import make_model, make_point


class _Store:
    """Accepts one PUT; while it is in flight the twin applies ``during`` (as the drain task would mark it)."""

    def __init__(self, twin: Twin, rep: Replicator, during: Sample, *, fail: bool = False) -> None:
        self.twin, self.rep, self.during, self.fail = twin, rep, during, fail
        self.pushed = ""

    async def put_graph(self, graph: str, ntriples: str) -> None:
        self.twin.apply(self.during)
        self.rep.live.mark(self.during.point)
        if self.fail:
            raise ConnectionError("store went away")
        self.pushed = ntriples


def _sample(pid: str, value: float) -> Sample:
    return Sample(pid, value, datetime.now(UTC), Quality.GOOD, "Good", None, "sim1")


def _replicator(fail: bool = False) -> tuple[Replicator, _Store]:
    model = make_model([make_point("a.p"), make_point("a.q")])
    twin = Twin(model)
    twin.apply(_sample("a.p", 1.0))
    twin.apply(_sample("a.q", 2.0))
    rep = Replicator(ReplicaSettings(url="http://127.0.0.1:9/query"), TwinView(twin))
    store = _Store(twin, rep, _sample("a.p", 42.0), fail=fail)
    rep.store = store  # type: ignore[assignment]
    rep.live.mark_all(model.points)
    return rep, store


async def test_a_change_during_a_full_live_push_is_sent_after_it() -> None:
    rep, store = _replicator()
    await rep._push_live()
    assert '"1.0"' in store.pushed or "1.0E0" in store.pushed  # the push carried the state read before it
    assert set(rep.live.dirty) == {"a.p"}  # the change made meanwhile still waits; a.q went with the push
    (batch,) = list(rep.live.take(rep._state, 10_000))
    assert batch.points == ["a.p"] and "42" in batch.update


async def test_a_failed_full_push_leaves_every_point_waiting() -> None:
    rep, _ = _replicator(fail=True)
    first = dict(rep.live.dirty)
    with pytest.raises(ConnectionError):
        await rep._push_live()
    assert rep.live.dirty == first  # both points again, since the time they first changed
