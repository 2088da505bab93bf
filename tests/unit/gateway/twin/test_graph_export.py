"""Reading the twin store for ``twinbridge graph``: free, in use (snapshot), in use and unreadable."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from gateway.twin.export import StoreInUse, read_store


def test_free_store_opens_normally_and_a_locked_one_as_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "db"
    store, snapshot = read_store(path)
    store.add(ox.Quad(ox.NamedNode("http://s"), ox.NamedNode("http://p"), ox.Literal("x")))
    store.flush()
    assert not snapshot
    # ``store`` still holds the lock, as a running gateway does
    again, snapshot = read_store(path)
    assert snapshot and len(again) == 1


def test_locked_store_that_cannot_be_read_says_it_is_in_use(tmp_path: Path) -> None:
    path = tmp_path / "db"
    held = ox.Store(str(path))

    def unreadable(p: str) -> ox.Store:
        raise OSError(f"IO error: {p}/CURRENT changed underneath")

    with pytest.raises(StoreInUse, match="in use by a running gateway"):
        read_store(path, read_only=unreadable)
    del held
