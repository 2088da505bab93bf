"""Embedded store reads that mix the write buffer and blocks, and a reader that comes before the writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway.history.embedded import FILE, EmbeddedStore, open_reader
from gateway.history.model import Aggregate, HistoryRow

S = 1_000_000
T0 = 1_767_225_600_000_000


def test_rows_half_compacted_half_buffered_read_as_one_sorted_series(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "h")
    first = [HistoryRow("p", T0 + k * S, T0 + k * S, float(k), 0) for k in range(0, 100, 2)]
    second = [HistoryRow("p", T0 + k * S, T0 + k * S, float(k), 0) for k in range(1, 100, 2)]
    store.append(first)
    store.compact(T0, force=True)  # in a block now
    store.append(second)
    store.flush()  # in a segment
    rows = store.read_raw("p", T0, T0 + 100 * S, limit=1000)
    assert [r.value for r in rows] == [float(k) for k in range(100)]
    assert store.read_processed(["p"], T0, T0 + 100 * S, 50 * S, Aggregate.COUNT)[0].value == 50
    store.compact(T0, force=True)  # merged into the same day's block
    assert store.read_raw("p", T0, T0 + 100 * S, limit=1000) == rows
    store.close()


def test_a_reader_on_a_store_whose_tables_do_not_exist_yet_reads_nothing(tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    sqlite3.connect(tmp_path / "h" / FILE).close()  # the file, before the writer made its tables
    reader = open_reader(str(tmp_path / "h"))
    assert reader.read_raw("p", 0, 10, limit=5) == []
    assert reader.read_at_time("p", [5]) == [None]
    assert [b.value for b in reader.read_processed(["p"], 0, 10, 5, Aggregate.COUNT)] == [0, 0]
    store = EmbeddedStore(tmp_path / "h")
    store.append([HistoryRow("p", 1, 2, 1.0, 0)])
    store.flush()
    assert len(reader.read_raw("p", 0, 10, limit=5)) == 1
    store.close()
    reader.close()


def test_an_ended_day_is_consolidated_into_one_block_and_freed_pages_go_back(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "h")
    written = [HistoryRow("p", T0 + k * 60 * S, T0 + k * 60 * S, float(k), 0) for k in range(1440)]
    for lo in range(0, 1440, 120):  # twelve compactions during the day: twelve blocks
        store.append(written[lo : lo + 120])
        store.compact(T0, force=True)
    conn = sqlite3.connect(tmp_path / "h" / FILE)
    assert conn.execute("SELECT count(*) FROM block").fetchone() == (12,)
    store.apply_retention(T0 + 86_400 * S + S)  # the day has ended
    assert conn.execute("SELECT count(*), sum(n) FROM block").fetchone() == (1, 1440)
    assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)
    assert store.read_raw("p", T0, T0 + 86_400 * S, limit=2000) == written
    conn.close()
    store.close()
