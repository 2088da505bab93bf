"""The per-point backlog and the updates built from it (pure logic; the store side is in tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyoxigraph as ox

from adapters.contract.sample import PointState, Quality
from gateway.replication.live import RemoteLive
from gateway.replication.sync import GraphText, skolemize

GRAPH = "http://t/gateway/a/live"
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"


def _state(pid: str, value: float, second: int = 0) -> PointState:
    t = datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC)
    return PointState(pid, value, t, t, Quality.GOOD, "Good", None)


def _table(points: int = 3) -> tuple[RemoteLive, dict[str, PointState]]:
    states = {f"p{i}": _state(f"p{i}", float(i)) for i in range(points)}
    live = RemoteLive(GRAPH, lambda pid: (f"http://t/point/{pid}", None, XSD_DOUBLE) if pid in states else None)
    return live, states


def _apply(store: ox.Store, update: str) -> None:
    store.update(update)


def _graph(store: ox.Store) -> set[str]:
    return {str(q.triple) for q in store.quads_for_pattern(None, None, None, ox.NamedNode(GRAPH))}


def test_a_point_changing_many_times_waits_once() -> None:
    live, _ = _table()
    for _ in range(1000):
        live.mark("p1")
    live.mark("p2")
    assert live.backlog == 2


def test_updates_leave_the_store_equal_to_the_states_and_send_only_what_differs() -> None:
    live, states = _table(50)
    store = ox.Store()
    live.mark_all(states)
    for batch in live.take(states.get, 10_000):
        _apply(store, batch.update)
        live.sent(batch)
    first = _graph(store)
    assert len(first) == live.triples == 50 * 5  # value, source time, gateway time, quality, status (state_lines)
    states["p3"] = _state("p3", 99.0, 5)
    live.mark("p3")
    (batch,) = list(live.take(states.get, 10_000))
    assert batch.points == ["p3"]
    assert "DELETE DATA" in batch.update and "Good" not in batch.update  # quality and status did not change
    _apply(store, batch.update)
    live.sent(batch)
    expected = (first - {t for t in first if "point/p3>" in t}) | {t for t in _graph(store) if "point/p3>" in t}
    assert _graph(store) == expected
    assert any('"99' in t for t in _graph(store))


def test_batches_respect_the_size_limit() -> None:
    live, states = _table(100)
    live.mark_all(states)
    batches = list(live.take(states.get, 40))
    assert len(batches) > 5
    assert all(b.triples <= 40 for b in batches)
    assert sorted(p for b in batches for p in b.points) == sorted(states)


def test_a_failed_batch_comes_back_and_is_rewritten_by_subject() -> None:
    live, states = _table(5)
    store = ox.Store()
    live.mark_all(states)
    (batch,) = list(live.take(states.get, 10_000))
    _apply(store, batch.update)  # applied, but the answer was lost: the replicator cannot know
    live.failed(batch)
    assert live.backlog == 5 and live.unknown == set(states)
    states["p0"] = _state("p0", 7.0, 9)
    (again,) = list(live.take(states.get, 10_000))
    assert "VALUES ?s" in again.update
    _apply(store, again.update)
    live.sent(again)
    assert not live.unknown
    assert len(_graph(store)) == live.triples == 5 * 5  # no duplicate triples left from the first attempt


def test_failure_keeps_the_oldest_change_time() -> None:
    live, states = _table(1)
    live.mark("p0", now=10.0)
    (batch,) = list(live.take(states.get, 10_000))
    live.mark("p0", now=20.0)  # changed again while the batch was in flight
    live.failed(batch)
    assert live.oldest() == 10.0


def test_skolemized_names_follow_content_not_labels() -> None:
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    a = [
        "<http://t/Q> <http://t/oneOf> _:x1 .\n",
        f"_:x1 <{rdf}first> <http://t/Good> .\n",
        f"_:x1 <{rdf}rest> _:x2 .\n",
        f"_:x2 <{rdf}first> <http://t/Bad> .\n",
        f"_:x2 <{rdf}rest> <{rdf}nil> .\n",
    ]
    b = [line.replace("_:x1", "_:zz").replace("_:x2", "_:x1") for line in a]
    ga, gb = GraphText.of("".join(a), "http://t/genid/"), GraphText.of("".join(b), "http://t/genid/")
    assert ga.hash == gb.hash and ga.lines == gb.lines
    assert not any("_:" in line for line in ga.lines)
    # two list cells with the same first element but different rests stay apart
    out = skolemize(a, "http://t/genid/")
    assert len({line.split(" ")[0] for line in out if line.startswith("<http://t/genid/")}) == 2
    assert len(list(ox.parse("".join(out), format=ox.RdfFormat.N_TRIPLES))) == 5  # valid N-Triples
