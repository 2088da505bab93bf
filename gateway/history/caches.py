"""Reader-side caches of the embedded store: decoded blocks and write-buffer segments, bounded, thread-safe."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import numpy.typing as npt

from gateway.history.codec import Columns, decode_segment


class BlockCache:
    """Decoded blocks by (id, rows, first, last time): a merge or a trim changes the key, so no stale entry is hit.

    Readers ask for the same blocks in bursts (a trend's average, minimum and maximum; a page after a page).
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, int, int, int], Columns] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, int, int]) -> Columns | None:
        with self._lock:
            cols = self._items.get(key)
            if cols is not None:
                self._items.move_to_end(key)
            return cols

    def put(self, key: tuple[int, int, int, int], cols: Columns) -> None:
        with self._lock:
            self._items[key] = cols
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class SegmentCache:
    """Decoded segments by id, each with its rows grouped by point (segments never change once written)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[npt.NDArray[np.uint32], npt.NDArray[np.intp], Columns]] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, seg_id: int, data: bytes | None, pid: int) -> Columns:
        with self._lock:
            item = self._items.get(seg_id)
            if item is not None:
                self._items.move_to_end(seg_id)
        if item is None:
            assert data is not None
            ids, cols = decode_segment(data)
            order = np.argsort(ids, kind="stable")
            item = (ids[order], order, cols)
            with self._lock:
                self._items[seg_id] = item
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        ids_sorted, order, cols = item
        lo, hi = np.searchsorted(ids_sorted, [pid, pid + 1])
        return cols.take(order[lo:hi])

    def __contains__(self, seg_id: int) -> bool:
        return seg_id in self._items
