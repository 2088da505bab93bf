"""Where a part of the gateway keeps what must survive a restart (history, analytics state, MQTT buffers).

The folder the mapping names, else one beside the twin's store (``<twin.store>-<name>``), else a temporary folder
made on first use, said once in the log (it does not survive a restart) and removed by ``cleanup()``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger("twinbridge.state")


class StateFolder:
    """One part's state folder."""

    def __init__(self, name: str, store: str | Path | None, explicit: str | Path | None = None, *, hint: str) -> None:
        self.name = name  # "history", "analytics", "mqtt": the suffix beside the store and the temp prefix
        self.store = store
        self.explicit = explicit
        self.hint = hint  # the setting that names the folder, for the log line (e.g. "analytics.state")
        self._temp: str | None = None

    @property
    def temporary(self) -> bool:
        """Whether the folder is a temporary one (made, and removed at cleanup)."""
        return self._temp is not None

    def path(self) -> Path:
        """The folder (not created, except a temporary one)."""
        if self.explicit:
            return Path(self.explicit)
        if self.store is not None:
            return Path(str(self.store).rstrip("/") + f"-{self.name}")
        if self._temp is None:
            self._temp = tempfile.mkdtemp(prefix=f"twinbridge-{self.name}-")
            log.info(
                "%s state in a temporary folder %s: it will not survive a restart (set %s or twin.store)",
                self.name,
                self._temp,
                self.hint,
            )
        return Path(self._temp)

    def cleanup(self) -> bool:
        """Remove a temporary folder (True when there was one); a configured folder stays."""
        if self._temp is None:
            return False
        shutil.rmtree(self._temp, ignore_errors=True)
        self._temp = None
        return True
