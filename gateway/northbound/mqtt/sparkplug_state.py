"""The edge node's memory of its session: the primary host's STATE and the bdSeq kept on disk.

A primary host application publishes its STATE retained on ``spBv1.0/STATE/<host_id>`` as JSON
``{"online": true|false, "timestamp": <ms>}`` (Sparkplug 3.0); hosts written for 2.2 publish ``ONLINE`` or
``OFFLINE`` on ``STATE/<host_id>``. Both are accepted. A STATE older than the last accepted one (an old session's
will delivered late) is ignored. ``bdSeq`` numbers the node's MQTT sessions: the will of each CONNECT carries the
next one, so it is kept on disk and a restarted gateway goes on from where the last one stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from protocols.sparkplug.codec import SPARKPLUG_NS

log = logging.getLogger("twinbridge.mqtt.sparkplug")


class StateError(ValueError):
    """A STATE payload that is neither Sparkplug 3.0 JSON nor a 2.2 ONLINE/OFFLINE."""


@dataclass(frozen=True, slots=True)
class HostState:
    """One STATE message of a host application (``timestamp`` None: a 2.2 message, which has none)."""

    online: bool
    timestamp: int | None


def state_topics(host_id: str) -> list[str]:
    """The topics a host's STATE may come on: Sparkplug 3.0's, then 2.2's."""
    return [f"{SPARKPLUG_NS}/STATE/{host_id}", f"STATE/{host_id}"]


def parse_state(topic: str, payload: bytes) -> HostState:
    """A STATE payload (``StateError`` when malformed). 3.0 topics carry JSON; 2.2 topics a plain word (JSON is
    accepted there too, as some hosts publish it on the old topic)."""
    text = payload.decode("utf-8", errors="replace").strip()
    if not topic.startswith(f"{SPARKPLUG_NS}/") and text.upper() in ("ONLINE", "OFFLINE"):
        return HostState(text.upper() == "ONLINE", None)
    try:
        doc = json.loads(text)
    except ValueError:
        raise StateError(f"STATE payload is not JSON: {text[:80]!r}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("online"), bool):
        raise StateError(f'STATE payload needs {{"online": true|false, "timestamp": <ms>}}: {text[:80]!r}')
    ts = doc.get("timestamp")
    if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int | float)):
        raise StateError(f"STATE timestamp is not a number: {ts!r}")
    return HostState(doc["online"], int(ts) if ts is not None else None)


class PrimaryHost:
    """Whether the primary host is online, by the STATE messages accepted so far."""

    def __init__(self, host_id: str) -> None:
        self.host_id = host_id
        self.online = False
        self._last_ts: int | None = None  # of the last accepted STATE (kept across reconnects)

    def apply(self, state: HostState) -> bool:
        """Take a STATE into account unless it is older than the last accepted one; whether it was accepted."""
        if state.timestamp is not None and self._last_ts is not None and state.timestamp < self._last_ts:
            log.info(
                "Sparkplug: STATE of %s from %d ignored (older than %d)", self.host_id, state.timestamp, self._last_ts
            )
            return False
        if state.timestamp is not None:
            self._last_ts = state.timestamp
        self.online = state.online
        return True

    def disconnected(self) -> None:
        """The link dropped: the host's STATE is unknown until the retained one comes again."""
        self.online = False


class BdSeqStore:
    """The bdSeq of the node's MQTT sessions, 0..255, kept in ``<folder>/sparkplug-bdseq.json`` (in memory only
    without a folder)."""

    FILE = "sparkplug-bdseq.json"

    def __init__(self, folder: Path | str | None, group: str, node: str) -> None:
        self.path = Path(folder) / self.FILE if folder is not None else None
        self.key = f"{group}/{node}"
        self.last: int | None = self._load()

    def _load(self) -> int | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            value = doc[self.key]
            if isinstance(value, int) and 0 <= value <= 255:
                return value
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("Sparkplug: %s unreadable (%s); bdSeq starts again at 0", self.path, exc)
        return None

    def next(self) -> int:
        """The bdSeq of the next connection (the last one plus one, wrapping after 255), saved before use."""
        value = 0 if self.last is None else (self.last + 1) % 256
        self.last = value
        if self.path is not None:
            self._save(value)
        return value

    def _save(self, value: int) -> None:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            doc: dict[str, int] = {}
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                doc = loaded if isinstance(loaded, dict) else {}
            doc[self.key] = value
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".bdseq-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("Sparkplug: cannot save bdSeq to %s: %s (a restart will reuse numbers)", self.path, exc)
