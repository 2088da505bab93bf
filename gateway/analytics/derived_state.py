"""What derived points keep across time: windows prefilled from history at start, running integrals saved.

At start each window (``avg(p, 15min)``...) is filled with the last window length of ``p`` from the history
store, when history is on, so a restarted gateway does not show a 15-minute average of one sample. Running
integrals (``integral(p)``, no window) are saved in the analytics ``StateStore`` (kind ``integral``, by input
point) every minute and at stop, and restored at start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from gateway.analytics.state import StateStore
from gateway.analytics.windows import WindowSet
from gateway.history.model import is_bad, reader_of

log = logging.getLogger("twinbridge.analytics")

KIND = "integral"
PREFILL_LIMIT = 100_000  # rows per window read from history at start


def _prefill_sync(reader: Any, windows: WindowSet, now: float) -> int:
    rows_in = 0
    for (point, seconds), window in windows.series.items():
        end_us = int(now * 1e6) + 1
        start_us = end_us - int(seconds * 1e6)
        rows = [r for r in reader.read_at_time(point, [start_us]) if r is not None]
        rows += reader.read_raw(point, start_us, end_us, limit=PREFILL_LIMIT)
        for row in rows:
            if row.value is None or is_bad(row.status) or isinstance(row.value, str):
                continue
            window.add(row.source_us / 1e6, float(row.value))
            rows_in += 1
    return rows_in


async def prefill(view: Any, windows: WindowSet) -> None:
    """Fill the windows from history (off the loop); a failing read leaves them empty and is logged."""
    reader = reader_of(view)
    if reader is None or not windows.series:
        return
    try:
        n = await asyncio.to_thread(_prefill_sync, reader, windows, time.time())
    except Exception:
        log.exception("prefilling the analytics windows from history failed; they start empty")
        return
    log.info("analytics windows prefilled with %d row(s) from history", n)


def load_integrals(store: StateStore, windows: WindowSet) -> None:
    """Continue the running integrals from their saved totals."""
    if not windows.integrals:
        return
    saved = store.load_json(KIND)
    for point, integral in windows.integrals.items():
        entry = saved.get(point)
        if isinstance(entry, dict):
            integral.restore(entry)


def save_integrals(store: StateStore, windows: WindowSet, now: float) -> None:
    """Save every running integral's total up to ``now`` (call off the loop)."""
    if windows.integrals:
        store.save_json(KIND, {p: i.snapshot(now) for p, i in windows.integrals.items()})
