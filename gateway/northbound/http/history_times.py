"""Times and durations as history clients write them, to and from integer µs since the epoch (UTC).

Shared by the REST routes and the SPARQL history functions, so ``start=-1h`` means the same in both:
- an instant is ISO 8601 (``2026-05-01T12:00:00Z``, ``2026-05-01T14:00:00+02:00``; no offset means UTC), or
  relative to now: ``now``, ``-1h``, ``now-15m``, ``-PT1H``;
- a duration is ``<number><unit>`` with unit ``us``, ``ms``, ``s``, ``m``, ``h``, ``d`` or ``w`` (``90s``,
  ``1.5h``), or ISO 8601 without years and months (``PT15M``, ``P1DT12H``; months have no fixed length).
"""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime, timedelta

US = {"us": 1, "ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000}
US["w"] = 7 * US["d"]
_SHORT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h|d|w)\s*$")
_ISO = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

INSTANT_HELP = "an ISO 8601 time such as 2026-05-01T12:00:00Z, or relative to now: now, -1h, now-15m"
DURATION_HELP = "a duration such as 500ms, 10s, 15m, 1h, 1d or PT15M"


class TimeFormatError(ValueError):
    """A time or duration that cannot be read; the message says what is expected."""


def now_us() -> int:
    """The current time in µs since the epoch."""
    return time.time_ns() // 1000


def parse_duration(text: str) -> int:
    """A duration in µs (``TimeFormatError`` when unreadable or not positive)."""
    m = _SHORT.match(text)
    if m:
        us = round(float(m.group(1)) * US[m.group(2)])
    else:
        iso = _ISO.match(text.strip().upper())
        if iso is None or not any(iso.groups()):
            raise TimeFormatError(f"expected {DURATION_HELP} (got {text!r})")
        weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        us = round(((weeks * 7 + days) * 24 * 3600 + hours * 3600 + minutes * 60 + seconds) * 1e6)
    if us <= 0:
        raise TimeFormatError(f"expected a positive duration, {DURATION_HELP} (got {text!r})")
    return us


def parse_instant(text: str, now: int) -> int:
    """An instant in µs: ISO 8601 or relative to ``now`` (µs); ``TimeFormatError`` when unreadable."""
    s = text.strip()
    low = s.lower()
    if low.startswith("now") or low[:1] in ("-", "+"):
        rel = low[3:].strip() if low.startswith("now") else low
        if not rel:
            return now
        try:
            if rel[0] not in "+-":
                raise TimeFormatError(rel)
            delta = parse_duration(rel[1:])
        except TimeFormatError:
            raise TimeFormatError(f"expected {INSTANT_HELP} (got {text!r})") from None
        return now - delta if rel[0] == "-" else now + delta
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise TimeFormatError(f"expected {INSTANT_HELP} (got {text!r})") from None
    return datetime_us(dt)


def datetime_us(dt: datetime) -> int:
    """µs since the epoch of a datetime (naive means UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def us_datetime(us: int) -> datetime:
    """The UTC datetime of µs since the epoch."""
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


def format_instant(us: int) -> str:
    """ISO 8601 in UTC with a ``Z``, microseconds only when there are any (about 1 µs: a day of rows is many)."""
    seconds, fraction = divmod(us, 1_000_000)
    days, second_of_day = divmod(seconds, 86_400)
    hours, rest = divmod(second_of_day, 3600)
    text = f"{_date(days)}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    if fraction:
        text += f".{fraction:06d}".rstrip("0")
    return text + "Z"


@functools.lru_cache(maxsize=1024)
def _date(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")


def format_duration(us: int) -> str:
    """The shortest ``<number><unit>`` form of a duration (``90s``, ``15m``, ``1500ms``)."""
    for unit in ("w", "d", "h", "m", "s", "ms"):
        if us % US[unit] == 0:
            return f"{us // US[unit]}{unit}"
    return f"{us}us"
