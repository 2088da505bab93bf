"""Offline replay: a ``timestamp,value`` CSV through a detector, scores out (``twinbridge anomaly replay``).

Timestamps may be ISO 8601 (``2024-01-01T00:00:00Z``, ``2014-04-01 00:00:00``; no offset means UTC) or epoch
seconds. A header row is optional; with one, the ``timestamp`` and ``value`` columns are taken by name. An empty
value or ``nan`` is kept in the output with an empty score. Bad rows are errors naming ``file:line``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.analytics.anomaly.detectors import Detector


class ReplayError(ValueError):
    """A CSV that cannot be replayed: the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Series:
    """A CSV's rows: the timestamps as written, as epoch seconds, and the values (NaN where empty)."""

    stamps: list[str]
    times: list[float]
    values: list[float]


def parse_time(text: str) -> float:
    """Epoch seconds of an ISO 8601 timestamp (UTC unless it says otherwise) or of a number of seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    stamp = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def read_series(path: str | Path) -> Series:
    """The rows of a ``timestamp,value`` CSV (``ReplayError`` naming file:line on a bad row or an empty file)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ReplayError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    ts_col, value_col, first = 0, 1, 0
    if rows and rows[0] and not _is_time(rows[0][0]):
        header = [c.strip().lower() for c in rows[0]]
        if "timestamp" not in header or "value" not in header:
            raise ReplayError(f"{path}:1: the header needs 'timestamp' and 'value' columns (got {','.join(rows[0])})")
        ts_col, value_col, first = header.index("timestamp"), header.index("value"), 1
    stamps: list[str] = []
    times: list[float] = []
    values: list[float] = []
    last = -math.inf
    for line, row in enumerate(rows[first:], start=first + 1):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(ts_col, value_col):
            raise ReplayError(f"{path}:{line}: expected timestamp and value columns (got {len(row)} column(s))")
        try:
            t = parse_time(row[ts_col])
        except ValueError:
            raise ReplayError(
                f"{path}:{line}: '{row[ts_col]}' is not a timestamp (ISO 8601 or epoch seconds)"
            ) from None
        if t < last:
            raise ReplayError(f"{path}:{line}: timestamps must not go back in time ({row[ts_col]})")
        text = row[value_col].strip()
        try:
            value = float(text) if text else math.nan
        except ValueError:
            raise ReplayError(f"{path}:{line}: value '{text}' is not a number") from None
        last = t
        stamps.append(row[ts_col].strip())
        times.append(t)
        values.append(value)
    if not stamps:
        raise ReplayError(f"{path}: no rows (expected a timestamp,value CSV)")
    return Series(stamps, times, values)


def _is_time(text: str) -> bool:
    try:
        parse_time(text)
    except ValueError:
        return False
    return True


def replay(detector: Detector, series: Series, batch: int = 10_000) -> list[float]:
    """Every row's score (NaN for rows without a value), fed in batches as the engine does."""
    scores: list[float] = []
    for i in range(0, len(series.values), batch):
        times, values = series.times[i : i + batch], series.values[i : i + batch]
        part = detector.score(times, values)
        scores.extend(math.nan if math.isnan(v) else s for s, v in zip(part, values, strict=True))
    return scores


def format_scores(series: Series, scores: list[float], threshold: float) -> list[str]:
    """``timestamp,value,score,anomaly`` lines (anomaly 1 when the score is above the threshold)."""
    lines = ["timestamp,value,score,anomaly"]
    for stamp, value, score in zip(series.stamps, series.values, scores, strict=True):
        if math.isnan(value):
            lines.append(f"{stamp},,,")
            continue
        lines.append(f"{stamp},{value!r},{score:.6f},{1 if score > threshold else 0}")
    return lines
