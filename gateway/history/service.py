"""History as the running gateway has it: where the store is, the recorder, and what services get.

Where the embedded store lives (docs/history.md): ``twin: history: path:`` when given; else next to the twin's
on-disk graph (``<twin.store>-history/``); a twin without a store keeps its graph in memory, and its history
in a temporary folder for the run (readable by the SPARQL worker process, deleted at stop): history that must
survive a restart needs ``twin.store`` or ``history.path``. ``mode: off`` on the twin and nothing else
turning it on means no store at all.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.contract.sample import PointState
from gateway.config.history import HistoryPolicy, twin_default, twin_history
from gateway.history.backends import open_store
from gateway.history.model import HistoryStore, StoreLocation
from gateway.history.pg_connect import target_for
from gateway.history.recorder import Recorder
from gateway.model import TwinModel
from gateway.state_folder import StateFolder

log = logging.getLogger("twinbridge.history")


class History:
    """The gateway's history: opened at start, closed at stop (a gateway may start again)."""

    def __init__(self, model: TwinModel) -> None:
        self.model = model
        self.spec = twin_history(model.settings)
        self.default: HistoryPolicy | None = twin_default(model.settings)
        policies: dict[str, Any] = model.history
        self.enabled = self.default is not None or any(p is not None for p in policies.values())
        self.store: HistoryStore | None = None
        self.recorder: Recorder | None = None
        self._folder = StateFolder("history", model.settings.store, self.spec.path, hint="twin.history.path")

    def location(self) -> StoreLocation:
        """Where the store is (a temporary folder is made on first use when the twin has no data folder)."""
        if self.spec.backend == "postgresql":
            assert self.spec.url is not None
            # one historian, many gateways: each in its own schema, named by the twin unless the URL names one
            return StoreLocation("postgresql", target_for(self.spec.url.get_secret_value(), self.model.settings.name))
        return StoreLocation("embedded", str(self._folder.path()))

    def describe(self) -> str:
        """One line for the start-up summary (no secrets)."""
        if not self.enabled:
            return "history: off"
        loc = self.location()
        where = "PostgreSQL" if loc.backend == "postgresql" else loc.target
        temp = " (temporary: the twin has no store)" if self._folder.temporary else ""
        return f"history: {loc.backend} at {where}{temp}"

    def start(self, view: Any) -> None:
        """Open the store, start recording, and hand services the reader (``view.history``)."""
        if not self.enabled or self.recorder is not None:
            return
        location = self.location()
        self.store = open_store(location)
        self.recorder = Recorder(
            self.store,
            self.model.history,
            self.default,
            flush_interval=self.spec.flush_interval,
            upkeep_interval=self.spec.upkeep_interval,
        )
        self.recorder.start()
        view.history = self.store
        view.history_location = location

    def on_state(self, state: PointState) -> None:
        """The twin's listener: every applied state (recorded while started)."""
        recorder = self.recorder
        if recorder is not None:
            recorder.on_state(state)

    def stop(self, view: Any = None) -> None:
        """Flush, close the store (and remove a temporary one); idempotent."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.stop()
        if self.store is not None:
            self.store.close()
            self.store = None
        if view is not None:
            view.history = None
            view.history_location = None
        if self._folder.cleanup():
            log.info("temporary history removed (give twin.store or twin.history.path to keep history)")

    def stats(self) -> dict[str, float]:
        """The recorder's counters (empty when not recording)."""
        r = self.recorder
        if r is None:
            return {}
        return {
            "recorded": r.recorded,
            "skipped": r.skipped,
            "flushes": r.flushes,
            "flush_errors": r.flush_errors,
            "max_flush_seconds": r.max_flush_seconds,
        }
