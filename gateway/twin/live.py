"""Live values: the in-memory table of point states and its coalesced flush into the graph.

Samples update a dict and mark the point dirty; nothing touches the store on the hot path. A flush writes
each dirty point once — whatever number of samples it received since the last flush — as one SPARQL
``DELETE DATA``/``INSERT DATA`` update. So the graph's write cost follows the number of points that changed,
not the sample rate. The exact triples last written for each point are kept so the delete needs no lookup.

With ``standard_values`` (the default) the value and its source time are also written in SOSA terms on the
point and in Brick terms on its value node (``brick:lastKnownValue`` in the model graph points there), so an
app that knows only SOSA or only Brick finds them; the diff keeps that to the triples that changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from adapters.contract.model import Point
from adapters.contract.sample import PointState, Quality
from gateway.twin.terms import datetime_literal, string_literal, value_literal
from gateway.twin.vocab import (
    BRICK_TIMESTAMP,
    BRICK_VALUE,
    GATEWAY_TIME,
    QUALITY,
    QUALITY_CHANGED_AT,
    QUALITY_IRIS,
    QUALITY_REASON,
    SOSA_RESULT,
    SOSA_RESULT_TIME,
    SOURCE_TIME,
    STATUS_CODE,
    VALUE,
    TwinIRIs,
)


def state_lines(subject: str, state: PointState, xsd: str, value_node: str | None = None) -> list[str]:
    """The live-graph triples of one point state, one N-Triples line each.

    With ``value_node`` (the point's ``brick:lastKnownValue``) the value and source time are written in SOSA
    and Brick terms too.
    """
    s = f"<{subject}> "
    lines = []
    if state.value is not None:
        value = value_literal(state.value, xsd)
        lines.append(f"{s}<{VALUE}> {value} .\n")
        if value_node is not None:
            lines.append(f"{s}<{SOSA_RESULT}> {value} .\n")
            lines.append(f"<{value_node}> <{BRICK_VALUE}> {value} .\n")
    if state.source_ts is not None:
        time = datetime_literal(state.source_ts)
        lines.append(f"{s}<{SOURCE_TIME}> {time} .\n")
        if value_node is not None:
            lines.append(f"{s}<{SOSA_RESULT_TIME}> {time} .\n")
            lines.append(f"<{value_node}> <{BRICK_TIMESTAMP}> {time} .\n")
    if state.gateway_ts is not None:
        lines.append(f"{s}<{GATEWAY_TIME}> {datetime_literal(state.gateway_ts)} .\n")
    lines.append(f"{s}<{QUALITY}> <{QUALITY_IRIS[state.quality]}> .\n")
    lines.append(f"{s}<{STATUS_CODE}> {string_literal(state.status)} .\n")
    if state.reason:
        lines.append(f"{s}<{QUALITY_REASON}> {string_literal(state.reason)} .\n")
    if state.quality_ts is not None:
        lines.append(f"{s}<{QUALITY_CHANGED_AT}> {datetime_literal(state.quality_ts)} .\n")
    return lines


class LiveTable:
    """Current state of every point plus what still has to reach the graph."""

    def __init__(self, ids: TwinIRIs, *, standard_values: bool = True) -> None:
        self.ids = ids
        self.standard_values = standard_values
        self.states: dict[str, PointState] = {}
        self._xsd: dict[str, str] = {}
        self._subject: dict[str, str] = {}
        self._value_node: dict[str, str | None] = {}
        self._written: dict[str, list[str]] = {}
        self._dirty: set[str] = set()
        self.flushes = 0
        self.points_written = 0

    def add_points(self, points: Iterable[Point]) -> None:
        """Track new points, starting in ``BadWaitingForInitialData``."""
        for p in points:
            if p.id in self.states:
                continue
            self.states[p.id] = PointState.initial(p.id)
            self._xsd[p.id] = p.datatype.xsd
            self._subject[p.id] = self.ids.point(p.id)
            self._value_node[p.id] = self.ids.value(p.id) if self.standard_values else None
            self._dirty.add(p.id)

    def set(self, state: PointState) -> None:
        """Record a new state (cheap: the graph is updated at the next flush)."""
        self.states[state.point] = state
        self._dirty.add(state.point)

    @property
    def dirty(self) -> int:
        """How many points changed since the last flush."""
        return len(self._dirty)

    def take_update(self) -> tuple[str, int]:
        """The SPARQL update that brings the live graph up to date, and how many points it writes.

        Returns ``("", 0)`` when nothing changed. The caller must apply the update: the table already
        considers it written.
        """
        if not self._dirty:
            return "", 0
        dirty, self._dirty = self._dirty, set()
        deletes: list[str] = []
        inserts: list[str] = []
        written = self._written
        changed = 0
        for pid in dirty:
            new = state_lines(self._subject[pid], self.states[pid], self._xsd[pid], self._value_node[pid])
            old = written.get(pid)
            if old == new:
                continue
            changed += 1
            written[pid] = new
            if not old:
                inserts.extend(new)
                continue
            # Only the triples that differ: quality and status rarely change with a new value, which saves
            # about 40 % of the store's work on a typical flush.
            old_set = set(old)
            new_set = set(new)
            deletes.extend(line for line in old if line not in new_set)
            inserts.extend(line for line in new if line not in old_set)
        graph = f"<{self.ids.graph_live}>"
        parts = []
        if deletes:
            parts.append(f"DELETE DATA {{ GRAPH {graph} {{\n{''.join(deletes)}}} }}")
        if inserts:
            parts.append(f"INSERT DATA {{ GRAPH {graph} {{\n{''.join(inserts)}}} }}")
        self.flushes += 1
        self.points_written += changed
        return " ;\n".join(parts), changed

    def counts(self) -> Mapping[Quality, int]:
        """Points per quality class."""
        out = dict.fromkeys(Quality, 0)
        for s in self.states.values():
            out[s.quality] += 1
        return out
