"""What each analytics engine gets from the service that runs it (``service.Analytics``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from adapters.contract.model import Point
from adapters.contract.sample import PointState, Sample

if TYPE_CHECKING:
    from gateway.analytics.state import StateStore
    from gateway.model import TwinModel
    from gateway.rules.spec import AnalyticsModel
    from gateway.twin.view import TwinView


class Engine(Protocol):
    """One part of analytics: hears every applied state (cheaply, on the loop), starts and stops with it."""

    def on_state(self, state: PointState) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def adopt(self, points: Sequence[str]) -> None:
        """Points discovered at run time: take what ``spec`` (the loader merged their profile's part) says of them."""
        ...


@dataclass
class AnalyticsContext:
    """The running gateway as analytics sees it."""

    model: TwinModel
    spec: AnalyticsModel
    view: TwinView
    # applies a computed sample (a derived value, an anomaly score) to the twin, on the loop: listeners run again
    apply: Callable[[Sample], Any]
    # adds points at run time (anomaly score points of class detectors); returns the points actually added
    add_points: Callable[[Sequence[Point]], list[Point]]
    state: StateStore
    journal: Any = None  # gateway.analytics.journal.Journal: where alarm transitions are recorded
    selections: Any = None  # gateway.analytics.selectors.Selections: class/SPARQL selections, kept up to date
    alarms: Any = None  # gateway.analytics.alarms engine (the AlarmService), for detectors that add rules
