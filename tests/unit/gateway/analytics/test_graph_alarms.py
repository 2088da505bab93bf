"""The alarms graph follows an alarm feed: retained conditions as nodes joined to their point and asset,
state changes rewritten, cleared and acknowledged ones removed, stale nodes dropped at start.

The AlarmService here is a small stand-in (the feed protocol only); the real engine's graph is tested over HTTP
in tests/integration/gateway/northbound/http/test_alarms_rest.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gateway.analytics.alarm_graph import AlarmGraph, alarm_state
from gateway.analytics.model import AlarmEvent, AlarmSnapshot, Transition
from gateway.config.loader import load_mappings
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView
from tests.conftest import wait_for
from tests.unit.gateway.analytics.test_journal import snapshot

MAPPING = """\
twin: {base_iri: "http://m.local/"}
sources:
  - {id: sim1, kind: sim}
assets:
  - id: boiler1
    type: brick:Boiler
    label: Boiler 1
    source: sim1
    points:
      - {id: supply_temp, unit: DEG_C, datatype: float}
"""
QUERY = """PREFIX tb: <https://w3id.org/twinbridge#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?id ?label ?severity ?state ?acked WHERE {
  ?c a tb:AlarmCondition ; tb:id ?id ; tb:concerns ?asset ; tb:alarmOf ?point ; tb:severity ?severity ;
     tb:alarmState ?state ; tb:acked ?acked .
  ?asset rdfs:label ?label . ?point tb:id ?pid .
} ORDER BY ?id"""


class Feed:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[list[AlarmEvent]] = asyncio.Queue()
        self.dropped = 0
        self.closed = False

    async def get(self, timeout: float | None = None) -> list[AlarmEvent]:
        if self.closed:
            return []
        return await self.queue.get()

    def close(self) -> None:
        self.closed = True
        self.queue.put_nowait([])


class Alarms:
    """Just what AlarmGraph uses of an AlarmService."""

    def __init__(self, *current: AlarmSnapshot) -> None:
        self.current = list(current)
        self.feed = Feed()

    def alarms(self) -> list[AlarmSnapshot]:
        return self.current

    def subscribe(self, maxsize: int = 10_000) -> Feed:
        return self.feed

    def send(self, s: AlarmSnapshot, t: Transition) -> None:
        self.feed.queue.put_nowait([AlarmEvent(s, t, datetime.now(UTC))])


def _rows(twin: Twin) -> list[tuple[Any, ...]]:
    return [tuple(r[v].value for v in ("id", "label", "severity", "state", "acked")) for r in twin.query_sync(QUERY)]


async def test_conditions_follow_the_feed_and_join_the_equipment() -> None:
    twin = Twin(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
    view = TwinView(twin)
    g = view.ids.graph_alarms
    stale = f"INSERT DATA {{ GRAPH <{g}> {{ <http://m.local/x> a <https://w3id.org/twinbridge#AlarmCondition> }} }}"
    view.update_graph(stale)  # left from an earlier run
    active = snapshot("boiler1.supply_temp/limit")
    old = snapshot("boiler1.supply_temp/stale", active=False, acked=True, retain=False)
    alarms = Alarms(active, old)
    graph = AlarmGraph(view, alarms)  # type: ignore[arg-type]
    await graph.start()
    assert _rows(twin) == [("boiler1.supply_temp/limit", "Boiler 1", "800", "unacknowledged", "false")]

    alarms.send(replace(active, acked=True), Transition.ACKNOWLEDGED)
    await wait_for(lambda: _rows(twin)[0][3] == "acknowledged")
    assert len(_rows(twin)) == 1  # rewritten, not added
    alarms.send(replace(active, rule="stale", id="boiler1.supply_temp/stale", severity=300), Transition.ACTIVATED)
    await wait_for(lambda: len(_rows(twin)) == 2)
    alarms.send(replace(active, active=False, acked=True, retain=False), Transition.CLEARED)
    await wait_for(lambda: [r[0] for r in _rows(twin)] == ["boiler1.supply_temp/stale"])
    await graph.stop()
    assert graph.errors == 0


def test_alarm_states_are_those_of_isa_18_2() -> None:
    s = snapshot()
    assert alarm_state(s) == "unacknowledged"
    assert alarm_state(replace(s, acked=True)) == "acknowledged"
    assert alarm_state(replace(s, active=False)) == "returned-unacknowledged"
    assert alarm_state(replace(s, active=False, acked=True)) == "normal"
    assert alarm_state(replace(s, shelved="timed")) == "shelved"
    assert alarm_state(replace(s, suppressed=True)) == "suppressed"
    assert alarm_state(replace(s, enabled=False)) == "out-of-service"
