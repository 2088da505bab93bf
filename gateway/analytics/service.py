"""The analytics service the runtime runs beside history: state folder, journal, selections and the engines.

``Gateway`` builds ``Analytics(model)``, registers ``on_state`` as a twin state listener, and at start hands it
``apply`` (twin.apply, for derived values and anomaly scores) and ``add_points`` (run-time score points, source
``analytics``). Each engine is built by a small factory (``build(ctx) -> engine | None``) so one part
failing to build never stops the others or the gateway. What must survive a restart lives in the state folder
(``analytics.state``, else ``<twin.store>-analytics``, else a temporary folder removed at stop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adapters.contract.model import Asset, Point
from adapters.contract.sample import PointState, Sample
from gateway.analytics import alarm_graph, alarms, anomaly, derived
from gateway.analytics.context import AnalyticsContext, Engine
from gateway.analytics.journal import Journal, open_journal
from gateway.analytics.selectors import Selections
from gateway.analytics.state import StateStore
from gateway.history.model import location_of
from gateway.model import TwinModel
from gateway.rules.spec import DERIVED_SOURCE
from gateway.state_folder import StateFolder

log = logging.getLogger("twinbridge.analytics")

# Engines by name, in the order they hear states and start: derived values first (alarms may watch them), the
# alarm graph after the alarm engine it follows.
ENGINES: tuple[tuple[str, Callable[[AnalyticsContext], Engine | None]], ...] = (
    ("derived", derived.build),
    ("alarms", alarms.build),
    ("alarm_graph", alarm_graph.build),
    ("anomaly", anomaly.build),
)


class Analytics:
    """Derived points, alarms and anomaly detection of one gateway; started after history, stopped before it."""

    def __init__(self, model: TwinModel) -> None:
        self.model = model
        self.spec = model.analytics
        # on even with nothing to run yet: a source's profile may bring rules with points discovered at run time
        self.enabled = self.spec is not None
        self.engines: dict[str, Engine] = {}
        self.state: StateStore | None = None
        self.journal: Journal | None = None
        self.selections: Selections | None = None
        self.context: AnalyticsContext | None = None
        self.failures: dict[str, str] = {}  # engine -> why it did not start
        self._listeners: tuple[Callable[[PointState], None], ...] = ()
        explicit = self.spec.settings.state if self.spec is not None else None
        self._folder = StateFolder("analytics", model.settings.store, explicit, hint="analytics.state")

    # -- where state lives ----------------------------------------------------------------------------
    def folder(self) -> Path:
        """The state folder (a temporary one is made on first use when nothing says where)."""
        return self._folder.path()

    def describe(self) -> str:
        """One line for the start-up summary."""
        if not self.enabled or self.spec is None:
            return "analytics: off"
        s = self.spec
        parts = [
            f"{len(s.derived)} derived point(s)",
            f"{sum(len(r) for r in s.alarms.values()) + len(s.class_alarms)} alarm rule(s)",
            f"{len(s.anomaly) + len(s.class_anomaly)} detector(s)",
        ]
        where = "temporary folder" if self._folder.temporary else str(self.folder())
        return f"analytics: {', '.join(parts)}; state in {where}"

    # -- lifecycle ------------------------------------------------------------------------------------
    async def start(
        self, view: Any, apply: Callable[[Sample], Any], add_points: Callable[[Sequence[Point]], list[Point]]
    ) -> None:
        """Open the state store and journal, build and start the engines, and hand services the alarms."""
        if not self.enabled or self.spec is None or self.context is not None:
            return
        folder = self.folder()
        self.state = StateStore(folder)
        self.journal = self._open_journal(view, folder)
        self.selections = Selections(view)
        ctx = AnalyticsContext(
            model=self.model,
            spec=self.spec,
            view=view,
            apply=apply,
            add_points=add_points,
            state=self.state,
            journal=self.journal,
            selections=self.selections,
        )
        self.context = ctx
        for name, factory in ENGINES:
            engine = self._build(name, factory, ctx)
            if engine is None:
                continue
            if name == "alarms":
                ctx.alarms = engine
                view.analytics = engine
            try:
                await engine.start()
            except Exception as exc:
                log.exception("analytics: the %s engine did not start", name)
                self.failures[name] = f"{type(exc).__name__}: {exc}"
                if name == "alarms":
                    ctx.alarms = view.analytics = None
                continue
            self.engines[name] = engine
        # every applied state goes to each engine that hears states (on the ingest path: keep the tuple short)
        self._listeners = tuple(e.on_state for e in self.engines.values() if getattr(e, "hears_states", True))
        view.add_model_listener(self._on_model)

    def _on_model(self, assets: list[Asset], points: list[Point]) -> None:
        """Points discovered at run time whose profile computes, watches or judges them: each engine adopts its part."""
        ids = [p.id for p in points]
        for name, engine in self.engines.items():
            try:
                engine.adopt(ids)
            except Exception:
                log.exception("analytics: the %s engine could not adopt %d discovered point(s)", name, len(ids))

    def _build(
        self, name: str, factory: Callable[[AnalyticsContext], Engine | None], ctx: AnalyticsContext
    ) -> Engine | None:
        try:
            return factory(ctx)
        except Exception as exc:  # one part failing to build must not stop the others or the gateway
            log.exception("analytics: building the %s engine failed", name)
            self.failures[name] = f"{type(exc).__name__}: {exc}"
            return None

    @staticmethod
    def _open_journal(view: Any, folder: Path) -> Journal | None:
        try:
            return open_journal(location_of(view), folder)
        except Exception:
            log.exception("analytics: opening the alarm journal failed; transitions are not recorded")
            return None

    def on_state(self, state: PointState) -> None:
        """The twin's listener: every applied state, to every running engine (each keeps it cheap)."""
        for listener in self._listeners:
            listener(state)

    async def stop(self, view: Any = None) -> None:
        """Stop the engines (they save their state), close the journal and the store; idempotent."""
        self._listeners = ()
        for name in reversed(list(self.engines)):
            try:
                await self.engines[name].stop()
            except Exception:
                log.exception("analytics: stopping the %s engine failed", name)
        self.engines.clear()
        if self.selections is not None:
            self.selections.close()
            self.selections = None
        if view is not None and self.context is not None and view.analytics is self.context.alarms:
            view.analytics = None
        self.context = None
        if self.journal is not None:
            try:
                self.journal.close()
            except Exception:
                log.exception("analytics: closing the journal failed")
            self.journal = None
        if self.state is not None:
            self.state.close()
            self.state = None
        self._folder.cleanup()

    # -- health ---------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The ``analytics`` entry of the sources' health (``SourceHealth`` fields): state and counters."""
        counters: dict[str, Any] = {}
        for name, engine in self.engines.items():
            stats = getattr(engine, "stats", None)
            if callable(stats):
                try:
                    counters.update({f"{name}_{k}": v for k, v in stats().items()})
                except Exception:
                    log.exception("analytics: the %s engine's counters failed", name)
        if self.selections is not None:
            counters["selection_errors"] = self.selections.errors
        running = self.context is not None
        error = "; ".join(f"{k}: {v}" for k, v in self.failures.items()) or None
        points = sum(1 for p in self.model.points.values() if p.source == DERIVED_SOURCE)
        return {
            "id": DERIVED_SOURCE,
            "kind": DERIVED_SOURCE,
            "label": "Analytics (derived points, alarms, anomaly detection)",
            "endpoint": None,
            "state": "connected" if running else "stopped",
            "last_error": error,
            "points": points,
            "counters": counters,
            "details": {"engines": sorted(self.engines), "state_folder": str(self.folder()) if running else None},
        }
