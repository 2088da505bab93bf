"""The analytics state store: what detectors, alarms and integrals keep across a restart."""

from __future__ import annotations

from pathlib import Path

from gateway.analytics.state import FILE_NAME, StateStore


def test_entries_survive_reopening(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    store.save_json("alarm", {"p/limit": {"active": True, "acked": False}})
    store.save("detector", {"p": b"\x00\x01"})
    store.close()
    again = StateStore(tmp_path / "state")
    assert again.load_json("alarm") == {"p/limit": {"active": True, "acked": False}}
    assert again.load("detector") == {"p": b"\x00\x01"}
    assert (tmp_path / "state" / FILE_NAME).exists()
    again.close()


def test_kinds_are_apart_and_entries_replace_and_delete(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save_json("alarm", {"k": 1})
    store.save_json("integral", {"k": 2})
    store.save_json("alarm", {"k": 3})
    assert store.load_json("alarm") == {"k": 3}
    assert store.load_json("integral") == {"k": 2}
    store.delete("alarm", ["k"])
    assert store.load_json("alarm") == {}
    store.close()


def test_an_entry_that_is_not_json_is_skipped(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save("alarm", {"bad": b"\xff not json", "good": b"1"})
    assert store.load_json("alarm") == {"good": 1}
    store.close()
