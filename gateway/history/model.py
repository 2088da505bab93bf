"""What every history backend stores and answers: rows, aggregates and the store interface.

Backends (the embedded store, PostgreSQL) implement ``HistoryStore``; the recorder writes to it from a worker
thread, the northbound services (REST, OPC UA HistoryRead, SPARQL functions) read through ``HistoryReader``.
Times are integer microseconds since the Unix epoch (UTC) everywhere below this interface: cheap to sort,
compare and store columnar; the services convert at their edge (``us_of`` / ``datetime_of``).

How northbound services reach history: the runtime sets ``TwinView.history`` (the ``HistoryReader`` of the
running store, or None when history is off) and ``TwinView.history_location`` (a ``StoreLocation``: how another
process opens a read-only reader, e.g. the SPARQL query worker). ``gateway.twin`` may not import this layer
(import-linter ``layers``), so those attributes are typed ``Any`` there; services read them typed through
``reader_of(view)`` and ``location_of(view)`` below, and open a reader elsewhere with
``gateway.history.backends.open_reader(location)``.

Backend modules (``gateway/history/embedded.py``, ``gateway/history/postgres.py``) each expose two functions
that ``gateway/history/backends.py`` dispatches to by ``StoreLocation.backend``:
``open_store(target: str) -> HistoryStore`` (the recorder's read-write store) and
``open_reader(target: str) -> HistoryReader`` (read-only; has ``close()``; safe in a process other than the
writer's while the writer runs).
"""

from __future__ import annotations

import enum
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

HistoryValue = float | int | bool | str | None

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def us_of(t: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (naive ones are taken as UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def datetime_of(us: int) -> datetime:
    """The aware UTC datetime of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=us)


# -- status codes (OPC UA Part 4 7.39 StatusCode, Part 11 HistoryInformation bits, Part 13 5.3) ---------------
GOOD = 0x00000000
BAD_NO_DATA = 0x809B0000  # no data in the interval (Average, Minimum... of an empty interval)
UNCERTAIN_DATA_SUB_NORMAL = 0x40A40000  # the interval held Bad/Uncertain raw values, or lacked a bound
# Info bits: InfoType "DataValue" (bits 10-11 = 01) makes the low historian bits meaningful.
INFO_DATA_VALUE = 0x00000400
CALCULATED = INFO_DATA_VALUE | 0x1  # the value was computed from raw values (every aggregate but Start/End)
INTERPOLATED = INFO_DATA_VALUE | 0x2  # the value was interpolated (Interpolative, bounds)
PARTIAL = INFO_DATA_VALUE | 0x4  # the interval was shorter than the processing interval (the last one)


def is_bad(status: int) -> bool:
    """Whether a status code is of the Bad class (top bit set)."""
    return status & 0x80000000 != 0


def is_good(status: int) -> bool:
    """Whether a status code is of the Good class (top two bits clear)."""
    return status & 0xC0000000 == 0


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One recorded sample of one point."""

    point: str
    source_us: int  # source timestamp, µs since epoch UTC
    server_us: int  # when the gateway applied it, µs since epoch UTC
    value: HistoryValue  # None when the sample carried no value (a quality change)
    status: int  # OPC UA StatusCode (0 = Good)

    @property
    def cursor(self) -> tuple[int, int]:
        """The ``after=`` cursor that continues a ``read_raw`` right after this row."""
        return (self.source_us, self.server_us)


@dataclass(slots=True)
class RowBatch:
    """Rows in columns, as the recorder collects them and ``HistoryStore.append_batch`` takes them.

    Appending to four arrays and a list costs far less than building a ``HistoryRow`` per sample, and the
    embedded store encodes the columns as they are.
    """

    points: list[str] = field(default_factory=list)
    source_us: array[int] = field(default_factory=lambda: array("q"))
    server_us: array[int] = field(default_factory=lambda: array("q"))
    values: list[HistoryValue] = field(default_factory=list)
    status: array[int] = field(default_factory=lambda: array("I"))  # uint32

    def add(self, point: str, source_us: int, server_us: int, value: HistoryValue, status: int) -> None:
        """Append one row."""
        self.points.append(point)
        self.source_us.append(source_us)
        self.server_us.append(server_us)
        self.values.append(value)
        self.status.append(status)

    def __len__(self) -> int:
        return len(self.points)

    def rows(self) -> Iterator[HistoryRow]:
        """The rows one by one (for backends that write rows, e.g. a COPY)."""
        for i, p in enumerate(self.points):
            yield HistoryRow(p, self.source_us[i], self.server_us[i], self.values[i], self.status[i])

    @classmethod
    def of(cls, rows: Sequence[HistoryRow]) -> RowBatch:
        """A batch of rows."""
        batch = cls()
        for r in rows:
            batch.add(r.point, r.source_us, r.server_us, r.value, r.status)
        return batch


class Aggregate(enum.StrEnum):
    """OPC UA Part 13 aggregates the history answers (names as REST accepts them)."""

    AVERAGE = "average"
    TIME_AVERAGE = "time_average"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    COUNT = "count"
    START = "start"
    END = "end"
    INTERPOLATIVE = "interpolative"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One processed interval of one point: ``start_us`` is the interval start.

    ``at_us`` is the raw value's own source time for Start and End (Part 13 returns the raw timestamp for
    them), None for every other aggregate (their timestamp is the interval start).
    """

    point: str
    start_us: int
    value: HistoryValue
    status: int  # Good, or a Part 13 status (e.g. BadNoData, UncertainDataSubNormal), with historian bits
    at_us: int | None = None


@dataclass(frozen=True, slots=True)
class Rollup:
    """One roll-up level: per-interval aggregates kept for ``retention_us`` (None: forever)."""

    interval_us: int
    retention_us: int | None


@dataclass(frozen=True, slots=True)
class Retention:
    """How long a point's raw rows are kept (None: forever) and which roll-ups are computed as they age."""

    raw_us: int | None = None
    rollups: tuple[Rollup, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """How to open a backend, picklable so another process (the SPARQL worker) can open a reader on it.

    ``backend`` is ``"embedded"`` (``target``: the store's directory) or ``"postgresql"`` (``target``: the URL,
    a secret: never log it).
    """

    backend: str
    target: str

    def __repr__(self) -> str:
        shown = self.target if self.backend == "embedded" else "***"
        return f"StoreLocation({self.backend!r}, {shown!r})"


class HistoryReader(Protocol):
    """What northbound services read (implemented by every backend). Unknown points read as empty."""

    def read_raw(
        self,
        point: str,
        start_us: int,
        end_us: int,
        *,
        limit: int,
        reverse: bool = False,
        after: tuple[int, int] | None = None,  # cursor: (source_us, tie-breaker) of the last row returned
    ) -> list[HistoryRow]:
        """Rows of one point with ``start_us <= source_us < end_us``, at most ``limit``.

        Ordered by (source_us, server_us) ascending, or descending with ``reverse``. The cursor's tie-breaker is
        the last row's ``server_us`` (``HistoryRow.cursor``): the next page holds the rows strictly after it
        in the order asked (before it with ``reverse``). A page shorter than ``limit`` is the last one.
        """
        ...

    def read_processed(
        self, points: Sequence[str], start_us: int, end_us: int, interval_us: int, aggregate: Aggregate
    ) -> list[Bucket]:
        """Part 13 aggregates over ``[start_us + k*interval_us, ...)`` up to ``end_us`` (the last may be partial).

        One bucket per point per interval, every interval present (empty ones carry BadNoData, or 0 for
        Count), grouped by point in the order given, then by time. Roll-ups answer when ``interval_us`` is a
        multiple of a roll-up interval and ``start_us`` is aligned to it; raw rows otherwise.
        """
        ...

    def read_at_time(self, point: str, times_us: Sequence[int]) -> list[HistoryRow | None]:
        """For each time, the latest row with ``source_us <= t`` (any status), or None when there is none."""
        ...


class HistoryStore(HistoryReader, Protocol):
    """A backend: append in batches, age data, close.

    Threads: ``append``, ``append_batch`` and ``flush`` come from one thread (the recorder's flusher);
    ``apply_retention`` from another (its upkeep thread), possibly while a flush runs, so a long upkeep never
    delays a flush: give each its own connection. Reads may come from any thread.
    """

    def append(self, rows: Sequence[HistoryRow]) -> None:
        """Queue rows for the next ``flush`` (from the writer thread only)."""
        ...

    def append_batch(self, batch: RowBatch) -> None:
        """Queue a columnar batch (``self.append(list(batch.rows()))`` is a correct implementation)."""
        ...

    def flush(self) -> None:
        """Make every appended row durable and visible to readers (other processes included)."""
        ...

    def configure(self, retention: Mapping[str, Retention], default: Retention) -> None:
        """Each point's retention and roll-ups (points not named get ``default``); called before ``apply_retention``."""
        ...

    def apply_retention(self, now_us: int) -> None:
        """Periodic upkeep from the writer thread: compute due roll-ups, drop expired rows (and compact).

        Roll-up buckets are computed once they have ended (``start + interval <= now_us``); raw rows and roll-up
        rows older than their retention (``source_us < now_us - retention``) are dropped after the roll-ups that
        need them are computed. May take a while: it never runs on the event loop.
        """
        ...

    def location(self) -> StoreLocation:
        """Where this store is, for readers in other processes."""
        ...

    def close(self) -> None:
        """Flush and release the store; idempotent."""
        ...


def reader_of(view: Any) -> HistoryReader | None:
    """The history reader a service's ``TwinView`` carries (None when history is off)."""
    return getattr(view, "history", None)


def location_of(view: Any) -> StoreLocation | None:
    """Where another process opens a reader on the running history (None when history is off)."""
    return getattr(view, "history_location", None)
