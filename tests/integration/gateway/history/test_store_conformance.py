"""Every history backend answers the same: raw pages both ways, at-time, Part 13 aggregates, readers elsewhere.

Parametrized over backends by ``history_store``: ``embedded`` (a folder per test) and ``postgresql`` (helper G's
``pg_store_factory``, which skips without the server binaries outside CI). A new backend adds one entry to
``FACTORIES``. The aggregates are checked against values computed here from the rows ``read_raw`` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.history.backends import open_reader
from gateway.history.embedded import EmbeddedStore
from gateway.history.model import (
    BAD_NO_DATA,
    CALCULATED,
    GOOD,
    Aggregate,
    HistoryRow,
    HistoryStore,
    Retention,
    Rollup,
)

S = 1_000_000
HOUR = 3600 * S
T0 = 1_767_225_600_000_000
BAD = 0x80310000


def _embedded(request: pytest.FixtureRequest, tmp_path: Path) -> HistoryStore:
    return EmbeddedStore(tmp_path / "history")


def _postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> HistoryStore:
    factory: Callable[..., Any] = request.getfixturevalue("pg_store_factory")
    return factory()  # type: ignore[no-any-return]


FACTORIES: dict[str, Callable[[pytest.FixtureRequest, Path], HistoryStore]] = {
    "embedded": _embedded,
    "postgresql": _postgresql,
}


@pytest.fixture(params=list(FACTORIES))
def history_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    store = FACTORIES[request.param](request, tmp_path)
    yield store
    store.close()


def rows_of(point: str, n: int, step_s: int = 10, bad_every: int = 0) -> list[HistoryRow]:
    out = []
    for k in range(n):
        status = BAD if bad_every and k % bad_every == bad_every - 1 else GOOD
        out.append(HistoryRow(point, T0 + k * step_s * S, T0 + k * step_s * S + 120, round(20 + k * 0.01, 2), status))
    return out


def test_rows_read_back_as_written_before_and_after_upkeep(history_store: HistoryStore) -> None:
    written = [*rows_of("a", 500), HistoryRow("s", T0, T0 + 1, "on", GOOD), HistoryRow("s", T0 + S, T0 + S, None, BAD)]
    written += [HistoryRow("i", T0, T0, 7, GOOD), HistoryRow("b", T0, T0, True, GOOD)]
    history_store.append(written)
    history_store.flush()
    for _ in range(2):
        for point in ("a", "s", "i", "b"):
            got = history_store.read_raw(point, T0, T0 + 10 * HOUR, limit=10_000)
            assert got == [r for r in written if r.point == point]
        history_store.configure({}, Retention(None, ()))
        history_store.apply_retention(T0 + 10 * HOUR)


def test_pages_by_cursor_cover_the_range_once_in_both_orders(history_store: HistoryStore) -> None:
    written = rows_of("a", 250)
    history_store.append(written)
    history_store.flush()
    for reverse in (False, True):
        seen: list[HistoryRow] = []
        after = None
        while True:
            page = history_store.read_raw("a", T0 + 5 * S, T0 + 2000 * S, limit=40, reverse=reverse, after=after)
            seen += page
            if len(page) < 40:
                break
            after = page[-1].cursor
        expected = [r for r in written if T0 + 5 * S <= r.source_us < T0 + 2000 * S]
        assert seen == (expected[::-1] if reverse else expected)


def test_unknown_points_and_empty_ranges_read_as_nothing(history_store: HistoryStore) -> None:
    history_store.append(rows_of("a", 10))
    history_store.flush()
    assert history_store.read_raw("nope", T0, T0 + HOUR, limit=10) == []
    assert history_store.read_raw("a", T0 + HOUR, T0 + 2 * HOUR, limit=10) == []
    assert history_store.read_at_time("nope", [T0]) == [None]
    assert [b.status for b in history_store.read_processed(["nope"], T0, T0 + 20 * S, 10 * S, Aggregate.AVERAGE)] == [
        BAD_NO_DATA,
        BAD_NO_DATA,
    ]


def test_read_at_time_is_the_latest_row_at_or_before(history_store: HistoryStore) -> None:
    written = rows_of("a", 20)
    history_store.append(written)
    history_store.flush()
    got = history_store.read_at_time("a", [T0 - 1, T0, T0 + 15 * S, T0 + HOUR])
    assert got == [None, written[0], written[1], written[-1]]


def _reference(rows: list[HistoryRow], start: int, end: int, interval: int, aggregate: Aggregate) -> list[Any]:
    """Average/Minimum/Maximum/Count of Good values per interval, straight from the rows."""
    out = []
    for a in range(start, end, interval):
        good = [r.value for r in rows if a <= r.source_us < min(a + interval, end) and r.status == GOOD]
        if aggregate is Aggregate.COUNT:
            out.append(len(good))
        elif not good:
            out.append(None)
        else:
            fn = {Aggregate.AVERAGE: lambda v: sum(v) / len(v), Aggregate.MINIMUM: min, Aggregate.MAXIMUM: max}
            out.append(fn[aggregate](good))
    return out


@pytest.mark.parametrize("aggregate", [Aggregate.AVERAGE, Aggregate.MINIMUM, Aggregate.MAXIMUM, Aggregate.COUNT])
def test_aggregates_equal_those_computed_from_the_raw_rows(history_store: HistoryStore, aggregate: Aggregate) -> None:
    history_store.append(rows_of("a", 2000, step_s=7, bad_every=9))
    history_store.flush()
    start, end = T0 + 13 * S, T0 + 3 * HOUR + 11 * S
    raw = history_store.read_raw("a", start, end, limit=100_000)
    buckets = history_store.read_processed(["a"], start, end, 600 * S, aggregate)
    assert [b.start_us for b in buckets] == list(range(start, end, 600 * S))
    assert [b.value for b in buckets] == pytest.approx(_reference(raw, start, end, 600 * S, aggregate))


def test_roll_ups_answer_like_raw_rows(history_store: HistoryStore) -> None:
    history_store.append(rows_of("a", 3000, step_s=5, bad_every=7))
    history_store.flush()
    raw = {a: history_store.read_processed(["a"], T0, T0 + 4 * HOUR, HOUR, a) for a in Aggregate}
    history_store.configure({"a": Retention(None, (Rollup(600 * S, None),))}, Retention())
    history_store.apply_retention(T0 + 5 * HOUR)
    for aggregate in (Aggregate.AVERAGE, Aggregate.MINIMUM, Aggregate.MAXIMUM, Aggregate.COUNT, Aggregate.START):
        rolled = history_store.read_processed(["a"], T0, T0 + 4 * HOUR, HOUR, aggregate)
        assert [(b.value, b.status) for b in rolled] == [(pytest.approx(b.value), b.status) for b in raw[aggregate]], (
            aggregate
        )
    assert raw[Aggregate.AVERAGE][0].status == 0x40A40000 | CALCULATED  # bad rows in it: uncertain


def test_a_reader_opened_by_location_sees_flushed_rows(history_store: HistoryStore) -> None:
    reader = open_reader(history_store.location())
    try:
        history_store.append(rows_of("a", 5))
        history_store.flush()
        assert len(reader.read_raw("a", T0, T0 + HOUR, limit=10)) == 5
        history_store.append(rows_of("a", 8)[5:])
        history_store.flush()
        assert len(reader.read_raw("a", T0, T0 + HOUR, limit=10)) == 8
    finally:
        reader.close()  # type: ignore[attr-defined]
