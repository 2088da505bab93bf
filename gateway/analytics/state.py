"""Where analytics keeps what must survive a restart: detector models, alarm states, running integrals.

One SQLite file (``analytics-state.sqlite``) in the analytics state folder, a key/value table per kind of state
(``detector``, ``alarm``, ``window``...), values as JSON text or bytes. Engines save in batches (at an interval
and at stop), off the event loop; loading happens once at start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FILE_NAME = "analytics-state.sqlite"


class StateStore:
    """A small persistent key/value store, safe to use from several threads."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / FILE_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS state (kind TEXT, key TEXT, value BLOB, PRIMARY KEY (kind, key))")

    def load(self, kind: str) -> dict[str, bytes]:
        """Every saved entry of a kind, by key."""
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM state WHERE kind = ?", (kind,)).fetchall()
        return {k: bytes(v) if not isinstance(v, str) else v.encode() for k, v in rows}

    def load_json(self, kind: str) -> dict[str, Any]:
        """Every saved entry of a kind, decoded from JSON (entries that do not decode are skipped)."""
        out: dict[str, Any] = {}
        for key, raw in self.load(kind).items():
            try:
                out[key] = json.loads(raw)
            except ValueError:
                continue
        return out

    def save(self, kind: str, items: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> None:
        """Insert or replace entries in one transaction."""
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        if not pairs:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO state (kind, key, value) VALUES (?, ?, ?)", [(kind, k, v) for k, v in pairs]
            )
            self._db.execute("COMMIT")

    def save_json(self, kind: str, items: Mapping[str, Any]) -> None:
        """Insert or replace entries, encoded as JSON."""
        self.save(kind, {k: json.dumps(v, separators=(",", ":")).encode() for k, v in items.items()})

    def delete(self, kind: str, keys: Iterable[str]) -> None:
        """Remove entries (a point or rule that no longer exists)."""
        with self._lock:
            self._db.executemany("DELETE FROM state WHERE kind = ? AND key = ?", [(kind, k) for k in keys])

    def close(self) -> None:
        with self._lock:
            self._db.close()
