"""The alarm journal: every transition of every condition, with who, when and why, kept with the history.

``record`` only appends to a queue (it runs on the event loop, inside the alarm engine); a writer thread takes
what has accumulated and writes it in one transaction. Where it is written follows the history store:
- embedded history (or none): ``alarm-journal.sqlite`` in the history store's folder, else in the analytics
  state folder;
- PostgreSQL history: the table ``alarm_events`` in the gateway's own schema (``tbh_<gateway>``,
  journal_pg.py), so alarms are kept and backed up with the values they judged.

A row holds the transition, the actor and comment, and the condition's state after it (JSON), so the journal
alone answers "who acknowledged what, and what did it look like then".
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gateway.analytics.model import AlarmEvent, AlarmSnapshot, Transition

if TYPE_CHECKING:
    from gateway.history.model import StoreLocation

log = logging.getLogger("twinbridge.analytics.journal")

FILE_NAME = "alarm-journal.sqlite"
MAX_QUEUED = 100_000  # events waiting for the writer; beyond that the newest are dropped and counted
BATCH = 1000
LINGER_S = 0.05  # how long the writer gathers events after the first of a batch
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIMES = {"unshelve_at", "active_since", "changed_at"}

# One journal row: (time_us, alarm_id, transition, actor, comment, snapshot JSON)
Row = tuple[int, str, str, str | None, str | None, str]


class JournalBackend(Protocol):
    """Where rows go: ``append`` runs on the writer thread, ``read`` on the caller's (both may raise)."""

    def append(self, rows: Sequence[Row]) -> None: ...

    def read(self, start_us: int | None, end_us: int | None, alarm_ids: Sequence[str] | None, limit: int) -> list[Row]:
        """Rows with ``start_us <= time_us < end_us``, oldest first (insertion order among equal times)."""
        ...

    def close(self) -> None: ...


def time_us(dt: datetime) -> int:
    """µs since the epoch of an aware datetime (naive means UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def us_time(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


def snapshot_to_json(s: AlarmSnapshot) -> dict[str, Any]:
    """A snapshot as plain JSON data: times ISO 8601, ``event_id`` hex, a value JSON cannot hold as its text."""
    out: dict[str, Any] = {}
    for f in fields(AlarmSnapshot):
        v = getattr(s, f.name)
        if isinstance(v, datetime):
            v = v.isoformat()
        elif isinstance(v, bytes):
            v = v.hex()
        elif f.name == "value" and not isinstance(v, bool | int | float | str | type(None)):
            v = str(v)
        out[f.name] = v
    return out


def snapshot_from_json(data: dict[str, Any]) -> AlarmSnapshot:
    """The inverse of ``snapshot_to_json`` (keys the snapshot does not know are ignored, missing ones default)."""
    kw: dict[str, Any] = {}
    for f in fields(AlarmSnapshot):
        v = data.get(f.name)
        if f.name in _TIMES and isinstance(v, str):
            v = datetime.fromisoformat(v)
        elif f.name == "event_id":
            v = bytes.fromhex(v) if isinstance(v, str) else b""
        elif f.name == "changed_at" and v is None:
            v = _EPOCH
        kw[f.name] = v
    return AlarmSnapshot(**kw)


def to_row(event: AlarmEvent) -> Row:
    snapshot = json.dumps(snapshot_to_json(event.alarm), separators=(",", ":"), allow_nan=True)
    return (time_us(event.time), event.alarm.id, event.transition.value, event.actor, event.comment, snapshot)


def from_row(row: Row) -> AlarmEvent:
    t, _, transition, actor, comment, snapshot = row
    data = json.loads(snapshot) if isinstance(snapshot, str) else snapshot  # jsonb arrives decoded
    return AlarmEvent(snapshot_from_json(data), Transition(transition), us_time(t), actor, comment)


class SqliteJournal:
    """The journal in a SQLite file of its own (WAL: reads do not wait for the writer)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS alarm_events (seq INTEGER PRIMARY KEY, time_us INTEGER NOT NULL,"
            " alarm_id TEXT NOT NULL, transition TEXT NOT NULL, actor TEXT, comment TEXT, snapshot TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS alarm_events_time ON alarm_events (time_us)")
        self._db.execute("CREATE INDEX IF NOT EXISTS alarm_events_alarm ON alarm_events (alarm_id, time_us)")

    def append(self, rows: Sequence[Row]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO alarm_events (time_us, alarm_id, transition, actor, comment, snapshot)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")

    def read(self, start_us: int | None, end_us: int | None, alarm_ids: Sequence[str] | None, limit: int) -> list[Row]:
        where, args = _where(start_us, end_us, alarm_ids, "?")
        sql = f"SELECT time_us, alarm_id, transition, actor, comment, snapshot FROM alarm_events{where}"
        with self._lock:
            return self._db.execute(sql + " ORDER BY time_us, seq LIMIT ?", [*args, limit]).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _where(
    start_us: int | None, end_us: int | None, alarm_ids: Sequence[str] | None, mark: str
) -> tuple[str, list[Any]]:
    """A WHERE clause (SQLite ``?`` or psycopg ``%s`` placeholders) and its arguments."""
    terms: list[str] = []
    args: list[Any] = []
    if start_us is not None:
        terms.append(f"time_us >= {mark}")
        args.append(start_us)
    if end_us is not None:
        terms.append(f"time_us < {mark}")
        args.append(end_us)
    if alarm_ids is not None:
        ids = list(alarm_ids) or [""]
        terms.append(f"alarm_id IN ({', '.join([mark] * len(ids))})")
        args.extend(ids)
    return (" WHERE " + " AND ".join(terms) if terms else ""), args


class Journal:
    """Records alarm events off the event loop and reads them back."""

    def __init__(self, backend: JournalBackend, *, retry_s: float = 1.0) -> None:
        self.backend = backend
        self.dropped = 0  # events lost because the queue was full (the backend down for long)
        self.errors = 0
        self._queue: queue.Queue[AlarmEvent | None] = queue.Queue(MAX_QUEUED)
        self._retry_s = retry_s
        self._done = threading.Condition()
        self._queued = 0
        self._written = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="alarm-journal", daemon=True)
        self._thread.start()

    def record(self, event: AlarmEvent) -> None:
        """Queue one event for writing; never blocks (a full queue drops it and counts it)."""
        if self._closed:
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            if self.dropped == 0:
                log.error("alarm journal queue full (%d events): dropping events until it drains", MAX_QUEUED)
            self.dropped += 1
            return
        with self._done:
            self._queued += 1

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the events queued so far are written; False if that took longer than ``timeout``."""
        with self._done:
            target = self._queued
            return self._done.wait_for(lambda: self._written >= target or self._closed, timeout)

    def read(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        alarm_ids: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[AlarmEvent]:
        """Recorded events with ``start <= time < end``, oldest first; blocking I/O: call it off the loop."""
        self.flush(timeout=2.0)  # what was recorded before the call is in the answer
        rows = self.backend.read(
            None if start is None else time_us(start), None if end is None else time_us(end), alarm_ids, limit
        )
        return [from_row(r) for r in rows]

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and close the backend; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)
        self.backend.close()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            batch = [] if first is None else [first]
            stop = first is None
            # linger a moment after the first event: a burst of transitions becomes one transaction instead of
            # one wake-up and commit each (which cost the event loop about a millisecond per event under load)
            deadline = time.monotonic() + LINGER_S
            while len(batch) < BATCH and not stop:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                stop = item is None
                if item is not None:
                    batch.append(item)
            if batch:
                self._write([to_row(e) for e in batch], final=stop)
        with self._done:
            self._done.notify_all()

    def _write(self, rows: list[Row], *, final: bool) -> None:
        """Write a batch, retrying while the backend fails (a PostgreSQL restart); at close, try a few times."""
        attempts = 0
        while True:
            try:
                self.backend.append(rows)
                break
            except Exception as exc:
                self.errors += 1
                attempts += 1
                if attempts == 1:
                    log.warning("writing %d alarm events failed (%s); retrying", len(rows), exc)
                if (final or self._closed) and attempts >= 3:
                    log.error("alarm journal closed with %d events unwritten", len(rows))
                    break
                time.sleep(min(self._retry_s * attempts, 30.0))
        with self._done:
            self._written += len(rows)
            self._done.notify_all()


def open_journal(history_location: StoreLocation | None, state_folder: Path) -> Journal:
    """The journal beside the history store (PostgreSQL or the embedded store's folder), else in ``state_folder``."""
    if history_location is not None and history_location.backend == "postgresql":
        from gateway.analytics.journal_pg import PostgresJournal

        return Journal(PostgresJournal(history_location.target))
    if history_location is not None and history_location.backend == "embedded":
        return Journal(SqliteJournal(Path(history_location.target) / FILE_NAME))
    return Journal(SqliteJournal(Path(state_folder) / FILE_NAME))
