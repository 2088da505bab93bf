"""The PostgreSQL history backend against a real cluster: values, raw paging, at-time, partitions, gateways.

(The behaviour every backend shares is in the conformance suite; these are what only PostgreSQL has.)
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from collections.abc import Callable

import psycopg
import pytest
from pg_cluster import PgServer

from gateway.history.model import HistoryRow, Retention
from gateway.history.pg_connect import with_gateway
from gateway.history.pg_schema import DAY_US, REGISTRY, schema_for
from gateway.history.postgres import PostgresHistoryStore, open_reader

pytestmark = pytest.mark.integration
Factory = Callable[..., PostgresHistoryStore]
T0 = 1_700_000_000_000_000  # 2023-11-14, µs
H = 3_600_000_000


def _partitions(url: str, gateway: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace"
            " WHERE n.nspname = %s AND p.relname = 'samples' ORDER BY 1",
            [schema_for(gateway)],
        ).fetchall()
    return [r[0] for r in rows]


def test_every_value_type_and_status_reads_back_exactly(pg_store_factory: Factory) -> None:
    values = [True, False, 0, -(2**63), 2**63 - 1, 2**64 - 1, 1.5, -0.0, math.inf, -math.inf, "ünï ✓", "", None]
    statuses = [0, 0x40A40000, 0x80340000, 0xFFFFFFFF, 0x00A80000]
    rows = [HistoryRow("p.v", T0 + i, T0 + i + 7, v, statuses[i % len(statuses)]) for i, v in enumerate(values)] + [
        HistoryRow("p.v", T0 + 100, T0 + 101, math.nan, 0)
    ]
    store = pg_store_factory()
    store.append(rows)
    store.flush()
    back = store.read_raw("p.v", T0, T0 + 1000, limit=100)
    assert [(r.source_us, r.server_us, r.status) for r in back] == [(r.source_us, r.server_us, r.status) for r in rows]
    for want, got in zip(rows[:-1], back[:-1], strict=True):
        assert type(got.value) is type(want.value) and got.value == want.value, (want, got)
    assert math.copysign(1, back[7].value) == -1  # -0.0 stays negative zero
    assert isinstance(back[-1].value, float) and math.isnan(back[-1].value)


def test_raw_pages_forward_and_backward_through_equal_source_times(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    # three rows share one source time; the cursor's tie-breaker (server time) keeps them apart
    rows = [HistoryRow("a.x", T0 + s, T0 + 1000 + srv, float(k), 0) for k, (s, srv) in enumerate(
        [(0, 0), (10, 1), (10, 2), (10, 3), (20, 4), (30, 5), (40, 6)]
    )]  # fmt: skip
    store.append([*reversed(rows), HistoryRow("a.other", T0 + 10, T0, 9.0, 0)])
    store.flush()

    def pages(reverse: bool) -> list[list[float]]:
        out, after = [], None
        while True:
            page = store.read_raw("a.x", T0 + 10, T0 + 40, limit=2, reverse=reverse, after=after)
            out.append([r.value for r in page])
            if len(page) < 2:
                return out
            after = page[-1].cursor

    assert pages(False) == [[1.0, 2.0], [3.0, 4.0], [5.0]]  # [start, end): the row at T0+40 is out
    assert pages(True) == [[5.0, 4.0], [3.0, 2.0], [1.0]]
    assert store.read_raw("nobody", T0, T0 + 100, limit=10) == []
    assert store.read_raw("a.x", T0 + 40, T0, limit=10) == []


def test_at_time_takes_the_latest_row_at_or_before_each_time_whatever_its_status(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    store.append([
        HistoryRow("a.x", T0, T0, 1.0, 0),
        HistoryRow("a.x", T0 + 100, T0 + 1, 2.0, 0),
        HistoryRow("a.x", T0 + 100, T0 + 2, 3.0, 0),
        HistoryRow("a.x", T0 + 200, T0 + 3, None, 0x808A0000),
    ])  # fmt: skip
    store.flush()
    got = store.read_at_time("a.x", [T0 - 1, T0, T0 + 150, T0 + 100, T0 + 10**9])
    assert [None if r is None else (r.value, r.status) for r in got] == [
        None, (1.0, 0), (3.0, 0), (3.0, 0), (None, 0x808A0000)
    ]  # fmt: skip
    assert store.read_at_time("nobody", [T0]) == [None]


def test_rows_land_in_one_partition_per_day_created_as_time_moves_on(
    pg_server: PgServer, pg_store_factory: Factory
) -> None:
    store = pg_store_factory(gateway="days")
    far_past, far_future = -5 * DAY_US + 3, 7_258_118_400_000_000  # 1969-12-27, 2200-01-01
    times = [T0, T0 + DAY_US, T0 + 2 * DAY_US + 5, far_past, far_future]
    store.append([HistoryRow("a.x", t, t, float(i), 0) for i, t in enumerate(times)])
    store.flush()
    starts = sorted((t // DAY_US) * DAY_US for t in times)
    names = _partitions(pg_server.url, "days")
    assert sorted(names) == sorted(f"samples_p{'m' if s < 0 else 'p'}{abs(s)}" for s in starts)
    assert [r.value for r in store.read_raw("a.x", far_past, far_future + 1, limit=10)] == [3.0, 0.0, 1.0, 2.0, 4.0]
    # a second store on the same gateway (a restart) finds the partitions and adds to them
    store.close()
    again = pg_store_factory(gateway="days")
    again.append([HistoryRow("a.x", T0 + 1, T0, 9.0, 0), HistoryRow("a.y", T0 + 3 * DAY_US, T0, 1.0, 0)])
    again.flush()
    assert len(_partitions(pg_server.url, "days")) == len(names) + 1
    assert [r.value for r in again.read_raw("a.x", T0, T0 + 2, limit=10)] == [0.0, 9.0]


def test_retention_drops_expired_partitions_and_deletes_shorter_lived_points(
    pg_server: PgServer, pg_store_factory: Factory
) -> None:
    store = pg_store_factory(gateway="aging")
    store.append([HistoryRow(p, T0 + d * DAY_US, T0, float(d), 0) for d in range(10) for p in ("a.short", "a.long")])
    store.flush()
    store.configure({"a.short": Retention(raw_us=2 * DAY_US)}, Retention(raw_us=5 * DAY_US))
    now = T0 + 9 * DAY_US + H
    store.apply_retention(now)
    # every partition wholly older than the longest retention (5 days) is gone
    assert len(_partitions(pg_server.url, "aging")) == 6
    # rows older than now - retention are gone: the long-lived point keeps 5 days, the short-lived one 2
    assert [r.value for r in store.read_raw("a.long", 0, now, limit=100)] == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert [r.value for r in store.read_raw("a.short", 0, now, limit=100)] == [8.0, 9.0]
    # a late row for a dropped day comes back into a new partition, then ages out again
    store.append([HistoryRow("a.long", T0 + 1, T0, -1.0, 0)])
    store.flush()
    assert store.read_raw("a.long", 0, T0 + 2, limit=10)[0].value == -1.0
    store.apply_retention(now)
    assert store.read_raw("a.long", 0, T0 + 2, limit=10) == []
    # a point kept forever keeps every partition
    store.configure({"a.long": Retention(raw_us=None)}, Retention(raw_us=DAY_US))
    store.append([HistoryRow("a.long", T0 + 1, T0, -1.0, 0)])
    store.flush()
    store.apply_retention(now + 10 * DAY_US)
    assert [r.value for r in store.read_raw("a.long", 0, T0 + 2, limit=10)] == [-1.0]
    assert store.read_raw("a.short", 0, now + 10 * DAY_US, limit=10) == []


def test_gateways_share_one_database_each_in_its_own_schema(pg_server: PgServer, pg_store_factory: Factory) -> None:
    one, two = pg_store_factory(gateway="plant-1"), pg_store_factory(gateway="plant_1")
    one.append([HistoryRow("boiler.t", T0, T0, 1.0, 0)])
    two.append([HistoryRow("boiler.t", T0, T0, 2.0, 0)])
    one.flush()
    two.flush()
    assert [r.value for r in one.read_raw("boiler.t", T0, T0 + 1, limit=5)] == [1.0]
    assert [r.value for r in two.read_raw("boiler.t", T0, T0 + 1, limit=5)] == [2.0]
    with psycopg.connect(pg_server.url) as conn:
        registry = dict(conn.execute(f"SELECT name, schema_name FROM {REGISTRY}.gateways").fetchall())
    assert registry["plant-1"] != registry["plant_1"]
    assert registry["plant_1"] == "tbh_plant_1"
    # a reader opened from the location (as the SPARQL worker does) reads the same gateway's rows
    reader = open_reader(one.location().target)
    try:
        assert [r.value for r in reader.read_raw("boiler.t", T0, T0 + 1, limit=5)] == [1.0]
    finally:
        reader.close()


def test_a_reader_in_another_process_sees_what_a_flush_committed(pg_store_factory: Factory) -> None:
    store = pg_store_factory()
    store.append([HistoryRow("a.x", T0 + i, T0, float(i), 0) for i in range(5)])
    store.flush()
    code = (
        "import json, sys\nfrom gateway.history.postgres import open_reader\n"
        "r = open_reader(sys.stdin.read())\n"
        "print(json.dumps([row.value for row in r.read_raw('a.x', 0, 2**62, limit=100)]))\nr.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=store.location().target, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_stores_starting_together_on_a_new_gateway_make_its_schema_once(pg_server: PgServer) -> None:
    from pg_cluster import drop_gateway

    target = with_gateway(pg_server.url, "racing")
    made: list[PostgresHistoryStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            made.append(PostgresHistoryStore(target))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(made) == 4
        for i, store in enumerate(made):
            store.append([HistoryRow("a.x", T0 + i, T0, float(i), 0)])
            store.flush()
        assert len(made[0].read_raw("a.x", T0, T0 + 10, limit=10)) == 4
    finally:
        for store in made:
            store.close()
        drop_gateway(pg_server.url, "racing")
