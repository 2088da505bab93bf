"""What every history backend stores and answers: rows, aggregates and the store interface.

Backends (the embedded store, PostgreSQL) implement ``HistoryStore``; the recorder writes to it from a worker
thread, the northbound services (REST, OPC UA HistoryRead, SPARQL functions) read through ``HistoryReader``.
Times are integer microseconds since the Unix epoch (UTC) everywhere below this interface: cheap to sort,
compare and store columnar; the services convert at their edge.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

HistoryValue = float | int | bool | str | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One recorded sample of one point."""

    point: str
    source_us: int  # source timestamp, µs since epoch UTC
    server_us: int  # when the gateway applied it, µs since epoch UTC
    value: HistoryValue  # None when the sample carried no value (a quality change)
    status: int  # OPC UA StatusCode (0 = Good)


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
    """One processed interval of one point: ``start_us`` is the interval start."""

    point: str
    start_us: int
    value: HistoryValue
    status: int  # Good, or a Part 13 status (e.g. BadNoData, UncertainDataSubNormal)


class HistoryReader(Protocol):
    """What northbound services read (implemented by every backend)."""

    def read_raw(
        self,
        point: str,
        start_us: int,
        end_us: int,
        *,
        limit: int,
        reverse: bool = False,
        after: tuple[int, int] | None = None,  # cursor: (source_us, tie-breaker) of the last row returned
    ) -> list[HistoryRow]: ...

    def read_processed(
        self, points: Sequence[str], start_us: int, end_us: int, interval_us: int, aggregate: Aggregate
    ) -> list[Bucket]: ...

    def read_at_time(self, point: str, times_us: Sequence[int]) -> list[HistoryRow | None]: ...


class HistoryStore(HistoryReader, Protocol):
    """A backend: append in batches (from one writer thread), age data, close."""

    def append(self, rows: Sequence[HistoryRow]) -> None: ...

    def flush(self) -> None: ...  # make appended rows durable

    def apply_retention(self, now_us: int) -> None: ...  # drop expired raw rows, compute due roll-ups

    def close(self) -> None: ...
