"""Semantic aggregates: sum, avg, min, max or count over the points a selector picks, in the result's unit.

Members come from ``Selections`` (resolved at start, kept up to date as points are added at run time). Each
member's value is converted into the aggregate point's unit (W and kW sum to kW); a member whose unit cannot
convert is left out, logged once and counted. Only Good and Uncertain members enter the value. Quality: the
worst of the members used; when some members are Bad or have no value yet the result is Uncertain
(``UncertainDataSubNormal``, naming how many); when none can be used it is Bad, and an empty selection is Bad
``BadNoData``. ``count`` counts the usable members and takes any unit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from adapters.contract.model import Point
from adapters.contract.sample import PointState, Quality
from gateway import units
from gateway.rules.spec import AggregateSpec

log = logging.getLogger("twinbridge.analytics")

EMPTY_STATUS = "BadNoData"
PARTIAL_STATUS = "UncertainDataSubNormal"

Convert = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One evaluation's result: the value (None when Bad), its quality, status, reason and source time."""

    value: float | int | None
    quality: Quality
    status: str
    reason: str | None
    source_ts: datetime | None


def _identity(v: float) -> float:
    return v


@dataclass
class Aggregate:
    """One aggregate point and its current members with their converters."""

    point: str
    spec: AggregateSpec
    unit: str | None
    members: dict[str, Convert] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)  # member -> why it is left out

    def add_members(self, points: Iterable[Point]) -> list[str]:
        """Take new members (their unit converters made now); returns the ids actually added."""
        added: list[str] = []
        for p in points:
            if p.id == self.point or p.id in self.members or p.id in self.excluded:
                continue
            why = self._converter(p)
            if isinstance(why, str):
                self.excluded[p.id] = why
                log.warning("aggregate %s leaves out %s: %s", self.point, p.id, why)
                continue
            self.members[p.id] = why
            added.append(p.id)
        return added

    def drop(self, point: str, why: str) -> None:
        """Leave a member out (it would make a cycle)."""
        if self.members.pop(point, None) is not None:
            self.excluded[point] = why
            log.warning("aggregate %s leaves out %s: %s", self.point, point, why)

    def _converter(self, p: Point) -> Convert | str:
        if self.spec.function == "count":
            return _identity
        if not p.datatype.is_numeric and p.datatype.pytype is not bool:
            return f"its values are {p.datatype.value}, not numbers"
        if self.unit is None or p.unit is None:
            if self.unit == p.unit:
                return _identity
            return f"unit {p.unit or 'none'} does not match the aggregate's {self.unit or 'none'}"
        try:
            return units.converter(p.unit, self.unit)
        except units.UnitError as exc:
            return str(exc)

    def evaluate(self, states: Mapping[str, PointState]) -> Outcome:
        """The aggregate over its members' current states."""
        fn = self.spec.function
        values: list[float] = []
        worst = Quality.GOOD
        worst_status, worst_reason = "Good", None
        newest: datetime | None = None
        unusable: list[str] = []
        for pid, convert in self.members.items():
            st = states.get(pid)
            if st is None or st.value is None or st.quality is Quality.BAD or isinstance(st.value, str):
                unusable.append(pid)
                continue
            values.append(convert(float(st.value)))
            if st.quality > worst:
                worst, worst_status = st.quality, st.status
                worst_reason = f"member {pid}: {st.status}" + (f" ({st.reason})" if st.reason else "")
            if st.source_ts is not None and (newest is None or st.source_ts > newest):
                newest = st.source_ts
        if not self.members:
            what = self.spec.selector.describe()
            return Outcome(None, Quality.BAD, EMPTY_STATUS, f"no member: the selection ({what}) picks no point", None)
        if not values and fn != "count":
            first = states.get(unusable[0])
            status = first.status if first is not None and first.quality is Quality.BAD else "BadWaitingForInitialData"
            return Outcome(
                None, Quality.BAD, status, f"no usable member ({len(unusable)} Bad or without value)", newest
            )
        value: float | int
        if fn == "sum":
            value = math.fsum(values)
        elif fn == "avg":
            value = math.fsum(values) / len(values)
        elif fn == "min":
            value = min(values)
        elif fn == "max":
            value = max(values)
        else:
            value = len(values)
        if unusable and worst is not Quality.BAD:
            shown = ", ".join(sorted(unusable)[:3]) + (" ..." if len(unusable) > 3 else "")
            worst, worst_status = Quality.UNCERTAIN, PARTIAL_STATUS
            worst_reason = f"{len(unusable)} of {len(self.members)} members left out (Bad or no value: {shown})"
        return Outcome(value, worst, worst_status, worst_reason, newest)
