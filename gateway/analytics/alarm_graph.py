"""Alarm conditions in the twin's graph, so SPARQL finds them with the equipment they concern.

The graph ``<base>graph/alarms`` holds one node per retained condition (active, or not yet acknowledged or
confirmed), ``<point IRI>/alarm/<rule>``::

    <http://t.local/point/boiler1.supply_temp/alarm/limit> a tb:AlarmCondition ;
        tb:id "boiler1.supply_temp/limit" ; tb:alarmOf <.../point/boiler1.supply_temp> ;
        tb:concerns <.../asset/boiler1> ; tb:alarmKind "limit" ; tb:severity 800 ;
        tb:active true ; tb:acked false ; tb:confirmed true ; tb:alarmState "unacknowledged" ;
        tb:limitState "High" ; tb:message "Boiler 1: ..." ; tb:activeSince "..."^^xsd:dateTime ; ...

There is no standard class for an alarm *condition* in SOSA/SSN, and ``brick:Alarm`` is a Point (a signal), so
typing conditions with it would make every "all points" query count them: the terms are twinbridge's
(ontology/twinbridge.ttl, rdfs:seeAlso brick:Alarm and OPC UA's AlarmConditionType). ``tb:alarmState`` uses the
states of ISA-18.2. A condition that is cleared and acknowledged leaves the graph; the graph is emptied at start
(conditions are written again from the alarm engine's state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from adapters.contract.rdf import IRI, RDF, TB
from gateway.analytics.model import AlarmService, AlarmSnapshot

if TYPE_CHECKING:
    from gateway.analytics.context import AnalyticsContext
    from gateway.twin.view import TwinView

from adapters.contract.sample import PointState
from gateway.twin.terms import iri, term

log = logging.getLogger("twinbridge.analytics.graph")

ALARM_CONDITION = TB + "AlarmCondition"
ALARM_OF = TB + "alarmOf"
CONCERNS = TB + "concerns"


def condition_iri(view: TwinView, s: AlarmSnapshot) -> str:
    """``<point IRI>/alarm/<rule>`` (never a point IRI: those have no '/' after ``point/``)."""
    return f"{view.ids.point(s.point)}/alarm/{quote(s.rule, safe='-._~')}"


def alarm_state(s: AlarmSnapshot) -> str:
    """The ISA-18.2 state: normal, unacknowledged, acknowledged, returned-unacknowledged, shelved, suppressed,
    out-of-service."""
    if not s.enabled:
        return "out-of-service"
    if s.shelved:
        return "shelved"
    if s.suppressed:
        return "suppressed"
    if s.active:
        return "acknowledged" if s.acked else "unacknowledged"
    return "normal" if s.acked else "returned-unacknowledged"


def condition_triples(view: TwinView, s: AlarmSnapshot) -> list[str]:
    """The N-Triples lines of one condition's node."""
    node = iri(condition_iri(view, s))
    props: list[tuple[str, Any]] = [
        (RDF + "type", IRI(ALARM_CONDITION)),
        (TB + "id", s.id),
        (ALARM_OF, IRI(view.ids.point(s.point))),
        (CONCERNS, IRI(view.ids.asset(s.asset))),
        (TB + "alarmKind", s.kind),
        (TB + "severity", int(s.severity)),
        (TB + "active", s.active),
        (TB + "acked", s.acked),
        (TB + "confirmed", s.confirmed),
        (TB + "alarmState", alarm_state(s)),
        (TB + "message", s.message),
        (TB + "changedAt", s.changed_at),
    ]
    optional = ((TB + "limitState", s.limit_state), (TB + "activeSince", s.active_since), (TB + "shelving", s.shelved))
    props.extend((p, v) for p, v in optional if v is not None)
    return [f"{node} <{p}> {term(v)} ." for p, v in props]


class AlarmGraph:
    """Keeps ``graph_alarms`` equal to the retained conditions, following the alarm engine's feed."""

    def __init__(self, view: TwinView, alarms: AlarmService) -> None:
        self.view = view
        self.alarms = alarms
        self.graph = view.ids.graph_alarms
        self.updates = 0
        self.errors = 0
        self._task: asyncio.Task[None] | None = None
        self._feed: Any = None

    hears_states = False  # the service leaves it out of the per-state fan-out (the ingest path)

    def on_state(self, state: PointState) -> None:
        """Nothing: the graph follows alarm transitions, not values."""

    async def start(self) -> None:
        self._feed = self.alarms.subscribe()  # before reading the state: no transition falls in between
        retained = [s for s in self.alarms.alarms() if s.retain]
        await self._apply(f"DROP SILENT GRAPH <{self.graph}>", retained)
        self._task = asyncio.create_task(self._follow(), name="alarm-graph")

    def adopt(self, points: Sequence[str]) -> None:
        """Nothing to do: new conditions reach the graph through the alarm feed."""

    async def stop(self) -> None:
        if self._feed is not None:
            self._feed.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def stats(self) -> dict[str, int]:
        return {"graph_updates": self.updates, "graph_errors": self.errors}

    async def _follow(self) -> None:
        while True:
            events = await self._feed.get()
            if not events:  # without a timeout, only a closed feed answers nothing
                return
            latest = {e.alarm.id: e.alarm for e in events}  # a burst: only each condition's last state matters
            await self._apply(self._deletes(latest.values()), [s for s in latest.values() if s.retain])

    def _deletes(self, snapshots: Iterable[AlarmSnapshot]) -> str:
        return " ;\n".join(
            f"DELETE WHERE {{ GRAPH <{self.graph}> {{ {iri(condition_iri(self.view, s))} ?p ?o }} }}" for s in snapshots
        )

    async def _apply(self, first: str, retained: list[AlarmSnapshot]) -> None:
        parts = [first] if first else []
        if retained:
            lines = "\n".join(t for s in retained for t in condition_triples(self.view, s))
            parts.append(f"INSERT DATA {{ GRAPH <{self.graph}> {{\n{lines}\n}} }}")
        if not parts:
            return
        try:
            # off the loop: the update waits for the twin's flush lock
            await asyncio.to_thread(self.view.update_graph, " ;\n".join(parts))
            self.updates += 1
        except Exception:
            self.errors += 1
            log.exception("updating the alarm graph failed")


def build(ctx: AnalyticsContext) -> AlarmGraph | None:
    """The engine factory ``service.Analytics`` calls (after the alarm engine): None without alarms."""
    return None if ctx.alarms is None else AlarmGraph(ctx.view, ctx.alarms)
