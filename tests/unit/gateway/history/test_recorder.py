"""The recorder's decisions (gateway/history/recorder.py): what each mode records, quality changes, batching."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from adapters.contract.sample import PointState, Quality
from gateway.config.history import HistoryPolicy
from gateway.history.model import HistoryRow, Retention, RowBatch, us_of
from gateway.history.recorder import Recorder

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class ListStore:
    """Collects what the recorder writes (a pure-logic stand-in for a backend)."""

    def __init__(self) -> None:
        self.rows: list[HistoryRow] = []
        self.retention: Mapping[str, Retention] = {}
        self.flushes = 0
        self.upkeeps: list[int] = []

    def append_batch(self, batch: RowBatch) -> None:
        self.rows.extend(batch.rows())

    def append(self, rows: Sequence[HistoryRow]) -> None:
        self.rows.extend(rows)

    def flush(self) -> None:
        self.flushes += 1

    def configure(self, retention: Mapping[str, Retention], default: Retention) -> None:
        self.retention = retention

    def apply_retention(self, now_us: int) -> None:
        self.upkeeps.append(now_us)


def state(point: str, value: object, seconds: float, status: str = "Good", fault: bool = False) -> PointState:
    t = T0 + timedelta(seconds=seconds)
    quality = Quality.of_status(status)
    return PointState(point, value, t, t + timedelta(microseconds=80), quality, status, None, t if fault else None)  # type: ignore[arg-type]


def record(policy: HistoryPolicy | None, states: list[PointState]) -> list[HistoryRow]:
    store = ListStore()
    rec = Recorder(store, {"p": policy}, None)  # type: ignore[arg-type]
    for s in states:
        rec.on_state(s)
    rec.flush()
    return store.rows


def test_mode_all_records_every_sample_with_both_times_and_the_status_code() -> None:
    rows = record(
        HistoryPolicy(), [state("p", 1.0, 0), state("p", 1.0, 1), state("p", 2.0, 2, "UncertainLastUsableValue")]
    )
    assert [(r.value, r.status) for r in rows] == [(1.0, 0), (1.0, 0), (2.0, 0x40900000)]
    assert rows[0].source_us == us_of(T0) and rows[0].server_us == us_of(T0) + 80


def test_deadband_records_changes_of_at_least_the_deadband_from_the_last_recorded_value() -> None:
    values = [10.0, 10.1, 10.25, 10.3, 9.9, 9.75]
    rows = record(HistoryPolicy("deadband", deadband=0.2), [state("p", v, i) for i, v in enumerate(values)])
    assert [r.value for r in rows] == [10.0, 10.25, 9.9]


def test_interval_records_at_most_one_sample_per_interval() -> None:
    rows = record(HistoryPolicy("interval", interval=10.0), [state("p", float(i), i * 3) for i in range(10)])
    assert [r.source_us - us_of(T0) for r in rows] == [0, 12_000_000, 24_000_000]


def test_a_quality_change_is_recorded_whatever_the_mode() -> None:
    states = [
        state("p", 1.0, 0),
        state("p", 1.0, 1, "BadTimeout", fault=True),
        state("p", 1.0, 2, "BadTimeout", fault=True),
        state("p", 1.0, 3),
    ]
    rows = record(HistoryPolicy("deadband", deadband=5.0), states)
    assert [(r.value, r.status) for r in rows] == [(1.0, 0), (None, 0x800A0000), (1.0, 0)]
    rows = record(HistoryPolicy("interval", interval=3600.0), states)
    assert len(rows) == 3


def test_off_and_unknown_points_follow_the_default() -> None:
    store = ListStore()
    rec = Recorder(store, {"p": None}, HistoryPolicy())  # type: ignore[arg-type]
    rec.on_state(state("p", 1.0, 0))
    rec.on_state(state("discovered", 2.0, 0))
    rec.flush()
    assert [r.point for r in store.rows] == ["discovered"]
    assert set(store.retention) == set()  # nothing configured for an unrecorded point


def test_upkeep_uses_the_injected_clock() -> None:
    store = ListStore()
    rec = Recorder(store, {}, HistoryPolicy(), clock=lambda: 1_000.5)  # type: ignore[arg-type]
    rec.upkeep()
    assert store.upkeeps == [1_000_500_000]
