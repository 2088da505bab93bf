"""Open a history backend by name: the recorder's store, or a read-only reader (any process)."""

from __future__ import annotations

import importlib
from typing import Any, cast

from gateway.history.model import HistoryReader, HistoryStore, StoreLocation

# backend name -> module with open_store(target) and open_reader(target) (gateway/history/model.py)
MODULES = {"embedded": "gateway.history.embedded", "postgresql": "gateway.history.postgres"}


def _module(location: StoreLocation) -> Any:
    name = MODULES.get(location.backend)
    if name is None:
        raise ValueError(f"unknown history backend '{location.backend}' (known: {', '.join(sorted(MODULES))})")
    return importlib.import_module(name)


def open_store(location: StoreLocation) -> HistoryStore:
    """The read-write store at ``location`` (one per gateway)."""
    return cast(HistoryStore, _module(location).open_store(location.target))


def open_reader(location: StoreLocation) -> HistoryReader:
    """A read-only reader at ``location``, usable while the gateway writes (it has ``close()``)."""
    return cast(HistoryReader, _module(location).open_reader(location.target))
