"""The PostgreSQL history backend when the database goes away: a real server killed (``pg_ctl stop -m
immediate``) and restarted mid-run; the bounded queue; refused rows; the URL's password never in a log.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest
from pg_cluster import PgCluster, PgServer

from gateway.history.model import HistoryRow
from gateway.history.pg_connect import Backoff, HistoryUnavailable, with_gateway
from gateway.history.postgres import PostgresHistoryStore, open_reader

pytestmark = pytest.mark.integration
T0 = 1_700_000_000_000_000
Factory = Callable[..., PostgresHistoryStore]


def _schema(store: PostgresHistoryStore) -> str:
    assert store.writer.layout is not None
    return store.writer.layout.schema


def _store(cluster: PgCluster, gateway: str = "g", **options: object) -> PostgresHistoryStore:
    return PostgresHistoryStore(with_gateway(cluster.url, gateway), backoff=Backoff(0.02, 0.2), **options)  # type: ignore[arg-type]


def _flush_until_written(store: PostgresHistoryStore, deadline_s: float = 30.0) -> None:
    """Flush until nothing is queued (the writer reconnects with its own backoff meanwhile)."""
    deadline = time.monotonic() + deadline_s
    store.flush()
    while store.pending_rows:
        if time.monotonic() > deadline:
            raise AssertionError(f"{store.pending_rows} rows still queued after {deadline_s} s")
        time.sleep(0.02)
        store.flush()


def _values(store: PostgresHistoryStore, point: str = "a.seq") -> list[float]:
    return [r.value for r in store.read_raw(point, 0, 2**62, limit=10**6)]  # type: ignore[misc]


def test_postgres_killed_mid_run_loses_nothing_and_writes_nothing_twice(
    pg_own_cluster: PgCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = _store(pg_own_cluster)
    stop = threading.Event()
    sent: list[int] = []

    def record() -> None:  # the recorder's writer thread: append then flush, over and over
        n = 0
        while not stop.is_set():
            store.append([HistoryRow("a.seq", T0 + n + i, T0, float(n + i), 0) for i in range(50)])
            sent.append(n)
            n += 50
            store.flush()
            time.sleep(0.002)

    writer = threading.Thread(target=record)
    writer.start()
    try:
        _wait(lambda: len(sent) > 20, "rows written before the kill")
        pg_own_cluster.kill()
        count_at_kill = len(sent)
        _wait(lambda: len(sent) > count_at_kill + 20, "rows queued while the server is down")
        assert store.pending_rows > 0
        pg_own_cluster.start()
        _wait(lambda: store.writer.connected and len(sent) > count_at_kill + 60, "the writer to reconnect")
    finally:
        stop.set()
        writer.join()
    _flush_until_written(store)
    total = len(sent) * 50
    assert _values(store) == [float(i) for i in range(total)]  # every row, once, in order
    assert store.dropped_rows == 0
    down = [r for r in caplog.records if "unreachable" in r.getMessage()]
    back = [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert len(down) == 1 and len(back) == 1  # logged once when the fault starts, once when it ends
    store.close()


def test_the_queue_is_bounded_and_drops_the_oldest_rows_counted(pg_own_cluster: PgCluster) -> None:
    store = _store(pg_own_cluster, buffer_limit=1000)
    pg_own_cluster.kill()
    for k in range(5):
        store.append([HistoryRow("a.seq", T0 + k * 500 + i, T0, float(k * 500 + i), 0) for i in range(500)])
        store.flush()
    assert (store.pending_rows, store.dropped_rows) == (1000, 1500)
    pg_own_cluster.start()
    _flush_until_written(store)
    assert _values(store) == [float(i) for i in range(1500, 2500)]  # the newest 1000
    store.close()


def test_a_reader_rides_over_a_restart_and_says_when_the_server_is_away(pg_own_cluster: PgCluster) -> None:
    store = _store(pg_own_cluster)
    store.append([HistoryRow("a.seq", T0, T0, 1.0, 0)])
    store.flush()
    reader = open_reader(store.location().target)
    assert _values(reader) == [1.0]  # type: ignore[arg-type]
    pg_own_cluster.kill()
    with pytest.raises(HistoryUnavailable) as err:
        reader.read_raw("a.seq", 0, 2**62, limit=10)
    assert pg_own_cluster.password not in str(err.value)
    pg_own_cluster.start()
    assert _values(reader) == [1.0]  # type: ignore[arg-type]  # its pooled connection died: replaced
    reader.close()
    store.close()


def test_a_batch_whose_commit_reply_was_lost_is_not_written_twice(
    pg_server: PgServer, pg_store_factory: Factory
) -> None:
    store = pg_store_factory(backoff=Backoff(0.02, 0.2))
    store.append([HistoryRow("a.seq", T0 + i, T0, float(i), 0) for i in range(10)])
    store.flush()
    with psycopg.connect(pg_server.url) as conn:
        (landed,) = conn.execute(f"SELECT id FROM {_schema(store)}.batches").fetchone()  # type: ignore[misc]
    # as if the COMMIT of that batch went through but the connection died before its reply came back
    from gateway.history.model import RowBatch

    redo = RowBatch.of([HistoryRow("a.seq", T0 + i, T0, float(i), 0) for i in range(10)])
    store.writer._inflight = (landed, [redo])
    store.writer.pending_rows += 10
    store.writer.close()  # the connection is gone: the next flush reconnects and settles the batch first
    _flush_until_written(store)
    assert _values(store) == [float(i) for i in range(10)]
    # and one that did not land is written on reconnect
    store.writer._inflight = (uuid.uuid4(), [RowBatch.of([HistoryRow("a.seq", T0 + 10, T0, 10.0, 0)])])
    store.writer.pending_rows += 1
    store.writer.close()
    _flush_until_written(store)
    assert _values(store) == [float(i) for i in range(11)]
    store.close()


def test_rows_the_database_refuses_are_dropped_counted_and_writing_goes_on(
    pg_server: PgServer, pg_store_factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    store = pg_store_factory()
    store.append([HistoryRow("a.seq", T0, T0, 0.0, 0)])
    store.flush()
    with psycopg.connect(pg_server.url, autocommit=True) as conn:  # a DBA's rule our rows break
        conn.execute(f"ALTER TABLE {_schema(store)}.samples ADD CONSTRAINT no_12345 CHECK (status <> 12345)")
    store.writer.chunk_rows = 3
    store.append([HistoryRow("a.seq", T0 + i, T0, float(i), 12345 if i == 2 else 0) for i in range(1, 4)])
    store.append([HistoryRow("a.seq", T0 + i, T0, float(i), 0) for i in range(4, 7)])
    store.flush()
    assert store.dropped_rows == 3 and store.pending_rows == 0
    assert _values(store) == [0.0, 4.0, 5.0, 6.0]
    assert any("refused 3 rows" in r.getMessage() and "no_12345" in r.getMessage() for r in caplog.records)
    store.close()


def test_the_url_and_its_password_never_reach_a_log_or_an_error(
    pg_own_cluster: PgCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = pg_own_cluster.password
    texts: list[str] = []
    # a wrong password, a malformed URL, the server away, a kill and restart mid-run
    wrong = PostgresHistoryStore(with_gateway(pg_own_cluster.url.replace(secret, secret + "x"), "g"))
    wrong.append([HistoryRow("a.seq", T0, T0, 1.0, 0)])
    wrong.flush()
    with pytest.raises(HistoryUnavailable) as err:
        wrong.read_raw("a.seq", 0, 1, limit=1)
    texts += [str(err.value), repr(wrong), repr(wrong.location()), str(wrong.location())]
    wrong.close()
    # malformed URLs: libpq's own messages quote them (a typo in the scheme makes it a key=value string)
    for bad in (
        f"postgresq://twinbridge:{secret}@127.0.0.1:{pg_own_cluster.port}/history",
        f"postgresql://twinbridge:{secret}@127.0.0.1:{pg_own_cluster.port}:5/history",
    ):
        malformed = open_reader(bad)
        with pytest.raises(HistoryUnavailable) as err:
            malformed.read_raw("a.seq", 0, 1, limit=1)
        texts.append(str(err.value))
        logging.getLogger("test").warning("reader failed: %s", err.value)  # what a service would log
        broken = PostgresHistoryStore(bad)
        broken.flush()
        texts.append(repr(broken))
        broken.close()
    store = _store(pg_own_cluster)
    store.append([HistoryRow("a.seq", T0, T0, 1.0, 0)])
    store.flush()
    pg_own_cluster.kill()
    store.append([HistoryRow("a.seq", T0 + 1, T0, 1.0, 0)])
    store.flush()
    pg_own_cluster.start()
    _flush_until_written(store)
    texts += [repr(store), repr(store.location()), str(store.writer.__dict__.get("_target"))]
    store.close()
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "unreachable" in logged and "password authentication failed" in logged  # the faults were logged
    for text in [logged, *texts]:
        assert secret not in text
        assert pg_own_cluster.url not in text


def _wait(cond: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        time.sleep(0.01)
