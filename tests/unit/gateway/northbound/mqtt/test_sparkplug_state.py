"""The primary host's STATE (Sparkplug 3.0 JSON and 2.2 words) and the bdSeq kept on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.northbound.mqtt.sparkplug_state import (
    BdSeqStore,
    HostState,
    PrimaryHost,
    StateError,
    parse_state,
    state_topics,
)


def test_state_topics_and_payloads_of_both_versions() -> None:
    assert state_topics("scada") == ["spBv1.0/STATE/scada", "STATE/scada"]
    v3 = "spBv1.0/STATE/scada"
    assert parse_state(v3, b'{"online": true, "timestamp": 1700000000000}') == HostState(True, 1700000000000)
    assert parse_state(v3, b'{"online":false,"timestamp":5}') == HostState(False, 5)
    assert parse_state("STATE/scada", b"ONLINE") == HostState(True, None)
    assert parse_state("STATE/scada", b"OFFLINE\n") == HostState(False, None)
    assert parse_state("STATE/scada", b'{"online": true, "timestamp": 9}') == HostState(True, 9)
    for bad in (b"ONLINE", b"{}", b'{"online": "yes"}', b'{"online": true, "timestamp": "x"}', b"\xff\xfe", b"[1]"):
        with pytest.raises(StateError):
            parse_state(v3, bad)


def test_an_old_sessions_offline_state_delivered_late_is_ignored() -> None:
    host = PrimaryHost("scada")
    assert not host.online
    assert host.apply(HostState(True, 200)) and host.online
    assert not host.apply(HostState(False, 100)) and host.online  # the will of a session before this one
    assert host.apply(HostState(False, 200)) and not host.online  # this session's will
    assert host.apply(HostState(True, 300)) and host.online
    host.disconnected()
    assert not host.online
    assert host.apply(HostState(True, 300)) and host.online  # the retained STATE again after a reconnect
    assert host.apply(HostState(False, None)) and not host.online  # 2.2: no timestamp, always honoured


def test_bdseq_goes_on_across_restarts_and_wraps(tmp_path: Path) -> None:
    store = BdSeqStore(tmp_path, "plant", "gw1")
    assert [store.next(), store.next()] == [0, 1]
    restarted = BdSeqStore(tmp_path, "plant", "gw1")
    assert restarted.last == 1 and restarted.next() == 2
    other_node = BdSeqStore(tmp_path, "plant", "gw2")  # one file, a counter per node
    assert other_node.next() == 0
    assert json.loads((tmp_path / BdSeqStore.FILE).read_text()) == {"plant/gw1": 2, "plant/gw2": 0}
    (tmp_path / BdSeqStore.FILE).write_text(json.dumps({"plant/gw1": 255}))
    assert BdSeqStore(tmp_path, "plant", "gw1").next() == 0


def test_bdseq_without_a_folder_or_with_a_broken_file(tmp_path: Path) -> None:
    mem = BdSeqStore(None, "g", "n")
    assert [mem.next(), mem.next()] == [0, 1]
    (tmp_path / BdSeqStore.FILE).write_text("not json")
    broken = BdSeqStore(tmp_path, "g", "n")
    assert broken.next() == 0 and BdSeqStore(tmp_path, "g", "n").last == 0  # rewritten
