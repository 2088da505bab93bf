"""An alarm engine on a loaded mapping with a fake clock and hand-fed point states (pure logic, no I/O but
the state store's SQLite file)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from adapters.contract.model import Asset, AssetLevel, DataType, Point, PointKind
from adapters.contract.sample import PointState, Quality
from gateway.analytics.alarm_text import Feed
from gateway.analytics.alarms import AlarmEngine
from gateway.analytics.context import AnalyticsContext
from gateway.analytics.model import AlarmEvent, Transition
from gateway.analytics.state import StateStore
from gateway.model import TwinModel, TwinSettings
from gateway.rules.spec import AlarmKind, AlarmRule, AnalyticsModel, ClassRule, DerivedAddress, Threshold

# local id, label, unit, datatype
POINTS = [
    ("temp", "Supply temperature", "DEG_C", DataType.FLOAT),
    ("temp_f", "Return temperature", "DEG_F", DataType.FLOAT),
    ("sp", "Setpoint", "DEG_C", DataType.FLOAT),
    ("pressure", "Pressure", "BAR", DataType.FLOAT),
    ("run", "Pump running", None, DataType.BOOL),
    ("score", "Anomaly score", None, DataType.FLOAT),
]
START = 1_700_000_000.0


def plant() -> TwinModel:
    """One boiler with a few points (built directly: these tests are about alarms, not the loader)."""
    model = TwinModel(settings=TwinSettings(name="t", base_iri="http://t.local/"))
    model.assets["boiler1"] = Asset("boiler1", AssetLevel.EQUIPMENT, (), "Boiler 1")
    for local, label, unit, datatype in POINTS:
        pid = f"boiler1.{local}"
        model.points[pid] = Point(
            pid, "boiler1", PointKind.MEASUREMENT, datatype, "sim1", DerivedAddress(), label, unit=unit
        )
    return model


def rule(kind: AlarmKind = AlarmKind.LIMIT, name: str | None = None, **kw: Any) -> AlarmRule:
    return AlarmRule(name=name or kind.value, kind=kind, **kw)


def q(value: float, unit: str | None = "DEG_C") -> Threshold:
    return Threshold(value, unit)


class FakeSelections:
    """``Selections`` with fixed answers; ``added`` calls the watchers like a point appearing at run time."""

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids
        self.watchers: list[Any] = []

    async def watch(self, selector: Any, cb: Any) -> set[str]:
        self.watchers.append(cb)
        return set(self.ids)

    def added(self, ids: set[str]) -> None:
        for cb in self.watchers:
            cb(ids)


class Harness:
    def __init__(
        self,
        folder: Path,
        alarms: dict[str, tuple[AlarmRule, ...]] | None = None,
        class_alarms: list[ClassRule] | None = None,
        selections: Any = None,
    ) -> None:
        self.model = plant()
        self.now = START
        self.states = {pid: PointState.initial(pid) for pid in self.model.points}
        view = SimpleNamespace(model=self.model, states=lambda: self.states)
        spec = AnalyticsModel(alarms=alarms or {}, class_alarms=class_alarms or [])
        self.store = StateStore(folder)
        self.ctx = AnalyticsContext(
            model=self.model,
            spec=spec,
            view=view,  # type: ignore[arg-type]
            apply=lambda s: None,
            add_points=lambda ps: [],
            state=self.store,
            selections=selections,
        )
        self.engine = AlarmEngine(self.ctx, clock=lambda: self.now, tick=3600)
        self.feed: Feed | None = None

    async def start(self) -> AlarmEngine:
        await self.engine.start()
        self.feed = self.engine.subscribe()
        return self.engine

    def push(self, point: str, value: Any, dt: float = 1.0, status: str = "Good") -> None:
        """Advance the clock by ``dt`` and apply a state to the point."""
        self.now += dt
        ts = datetime.fromtimestamp(self.now, UTC)
        state = PointState(f"boiler1.{point}", value, ts, ts, Quality.of_status(status), status, None)
        self.states[state.point] = state
        self.engine.on_state(state)

    def tick(self, dt: float) -> None:
        self.now += dt
        self.engine.tick()

    def events(self) -> list[AlarmEvent]:
        assert self.feed is not None
        return [e for e in self.feed._queue.drain() if e is not None]

    def transitions(self) -> list[tuple[str, Transition]]:
        return [(e.alarm.id, e.transition) for e in self.events()]
