"""Retention and roll-ups of the embedded store on a simulated clock: what is dropped, what is kept, and when."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.history.embedded import EmbeddedStore
from gateway.history.model import CALCULATED, GOOD, Aggregate, HistoryRow, Retention, Rollup

S = 1_000_000
MIN = 60 * S
HOUR = 60 * MIN
DAY = 24 * HOUR
T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    s = EmbeddedStore(tmp_path / "h")
    # one row every 10 s for 3 days: value = minutes since T0
    s.append([HistoryRow("p", T0 + k * 10 * S, T0 + k * 10 * S + 50, k / 6, 0) for k in range(3 * 8640)])
    s.flush()
    yield s
    s.close()


def test_raw_rows_older_than_the_retention_are_dropped_to_the_microsecond(store: EmbeddedStore) -> None:
    store.configure({"p": Retention(DAY, ())}, Retention())
    now = T0 + 2 * DAY + 12 * HOUR + 5 * S  # cut at T0 + 1.5 days + 5 s
    store.apply_retention(now)
    rows = store.read_raw("p", T0, T0 + 4 * DAY, limit=100_000)
    assert rows[0].source_us == T0 + DAY + 12 * HOUR + 10 * S  # the first row at or after the cut
    assert rows[-1].source_us == T0 + 3 * DAY - 10 * S  # nothing newer lost
    assert len(rows) == 3 * 8640 - (1.5 * 8640 + 1)


def test_roll_ups_are_computed_when_intervals_end_and_outlive_the_raw_rows(store: EmbeddedStore) -> None:
    store.configure({}, Retention(DAY, (Rollup(MIN, None), Rollup(HOUR, 2 * DAY))))
    store.apply_retention(T0 + DAY + 30 * S)  # day 1 rolled up (minutes up to 1 day + 0 s, hours up to 1 day)
    early = store.read_processed(["p"], T0, T0 + HOUR, HOUR, Aggregate.AVERAGE)
    # minutes 0..59.83 in steps of 1/6: their mean
    assert early[0].value == pytest.approx(sum(k / 6 for k in range(360)) / 360)
    store.apply_retention(T0 + 3 * DAY + 30 * S)  # raw now keeps only the last day
    assert store.read_raw("p", T0, T0 + DAY, limit=10) == []
    with sqlite3.connect(store.path) as conn:  # the expired days' blocks are gone from the file, not just hidden
        assert conn.execute("SELECT count(*), min(t0) FROM block").fetchone() == (1, T0 + 2 * DAY)
    late = store.read_processed(["p"], T0, T0 + HOUR, HOUR, Aggregate.AVERAGE)
    assert late[0].value == pytest.approx(early[0].value) and late[0].status == GOOD | CALCULATED
    minutes = store.read_processed(["p"], T0 + 10 * MIN, T0 + 13 * MIN, MIN, Aggregate.COUNT)
    assert [b.value for b in minutes] == [6, 6, 6]


def test_roll_up_retention_drops_old_roll_ups(store: EmbeddedStore) -> None:
    store.configure({}, Retention(DAY, (Rollup(HOUR, 2 * DAY),)))
    store.apply_retention(T0 + 2 * DAY)  # roll-ups back to T0 are kept (2 days)
    assert store.read_processed(["p"], T0, T0 + HOUR, HOUR, Aggregate.COUNT)[0].value == 360
    store.apply_retention(T0 + 4 * DAY + HOUR)  # hours before T0 + 2 days + 1 h are gone, raw too
    assert store.read_processed(["p"], T0, T0 + HOUR, HOUR, Aggregate.COUNT)[0].value == 0
    assert (
        store.read_processed(["p"], T0 + 2 * DAY + HOUR, T0 + 2 * DAY + 2 * HOUR, HOUR, Aggregate.COUNT)[0].value == 360
    )


def test_raw_rows_are_kept_until_every_roll_up_has_seen_them(tmp_path: Path) -> None:
    s = EmbeddedStore(tmp_path / "h")
    s.append([HistoryRow("p", T0 + k * MIN, T0 + k * MIN, float(k), 0) for k in range(120)])
    s.flush()
    s.configure({}, Retention(MIN, (Rollup(HOUR, None),)))
    s.apply_retention(T0 + HOUR + 30 * MIN)  # the second hour has not ended: its rows must stay
    rows = s.read_raw("p", T0, T0 + 3 * HOUR, limit=1000)
    assert rows[0].source_us == T0 + HOUR and len(rows) == 60
    s.close()


def test_a_row_flushed_just_after_its_interval_ended_is_in_the_roll_up(tmp_path: Path) -> None:
    """The last flush interval's rows reach the store after their minute has ended: the roll-up waits for them."""
    s = EmbeddedStore(tmp_path / "h")
    s.configure({}, Retention(None, (Rollup(MIN, None),)))
    s.append([HistoryRow("p", T0 + k * S, T0 + k * S, 1.0, 0) for k in range(59)])  # seconds 0..58 of minute 0
    s.flush()
    s.apply_retention(T0 + MIN + S // 2)  # an upkeep just after the minute ended
    s.append([HistoryRow("p", T0 + 59 * S + S // 2, T0 + MIN + S, 1.0, 0)])  # second 59.5, flushed at 61 s
    s.flush()
    s.apply_retention(T0 + 20 * MIN)  # the next ageing pass (roll-ups run at most every 10 minutes)
    with sqlite3.connect(s.path) as conn:
        assert conn.execute("SELECT count(*) FROM rollup").fetchone()[0] >= 1  # the minute was rolled up
    count = s.read_processed(["p"], T0, T0 + MIN, MIN, Aggregate.COUNT)
    assert [b.value for b in count] == [60]  # from the roll-up, with the late row
    s.close()
