"""A running gateway records history: in process (a sim plant), and across kill -9 of a real ``twinbridge run``."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.history.embedded import FILE, open_reader
from gateway.history.model import Aggregate, HistoryRow, reader_of
from gateway.runtime import Gateway

pytestmark = pytest.mark.integration

FLUSH_S = 1.0


def mapping(tmp_path: Path, history: str, points: int = 8, interval: str = "50ms") -> Path:
    lines = [
        "twin: {name: hist, base_iri: 'http://example.org/hist/', history: " + history + "}",
        f"sources: [{{id: sim1, kind: sim, interval: {interval}, seed: 1}}]",
        "assets:",
        "  - id: plant",
        "    source: sim1",
        "    points:",
    ]
    for i in range(points):
        lines.append(
            f"      - {{id: t{i}, unit: DEG_C, "
            "address: {signal: random_walk, initial: 20, step: 0.1, min: 0, max: 50}}"
        )
    path = tmp_path / "m.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def test_a_sim_gateway_has_history_of_every_point_and_keeps_it_across_a_restart(tmp_path: Path) -> None:
    path = mapping(tmp_path, "{path: hist, flush_interval: 200ms}")
    gw = Gateway.from_files([path])
    await gw.start(services=False)
    reader = reader_of(gw.view)
    assert reader is not None
    start = int(time.time() * 1e6) - 10_000_000
    end = start + 3_600_000_000
    await _wait_for(lambda: all(len(reader.read_raw(p, start, end, limit=5)) >= 5 for p in gw.model.points))
    await gw.stop()
    before = {p: open_reader(str(tmp_path / "hist")).read_raw(p, start, end, limit=100_000) for p in gw.model.points}
    # rows equal what the twin applied, and the averages come back from the store
    row = before["plant.t3"][0]
    assert isinstance(row, HistoryRow) and row.status == 0 and 0 <= row.value <= 50  # type: ignore[operator]
    await gw.start(services=False)
    reader = reader_of(gw.view)
    assert reader is not None
    await _wait_for(lambda: len(reader.read_raw("plant.t0", start, end, limit=100_000)) > len(before["plant.t0"]))
    again = reader.read_raw("plant.t0", start, end, limit=100_000)
    assert again[: len(before["plant.t0"])] == before["plant.t0"]
    buckets = reader.read_processed(["plant.t0"], start, end, end - start, Aggregate.COUNT)
    assert buckets[0].value == len(again)
    await gw.stop()
    assert gw.view.history is None


def _newest_server_us(directory: Path, points: list[str]) -> int:
    reader = open_reader(str(directory))
    newest = max(
        (rows[0].server_us for p in points if (rows := reader.read_raw(p, 0, 2**62, limit=1, reverse=True))),
        default=0,
    )
    reader.close()
    return newest


def _count(directory: Path, points: list[str]) -> int:
    reader = open_reader(str(directory))
    n = sum(len(reader.read_raw(p, 0, 2**62, limit=10**7)) for p in points)
    reader.close()
    return n


def _start(path: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "gateway.cli", "run", str(path)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_kill_9_mid_ingest_loses_at_most_one_flush_interval_and_the_gateway_restarts_on_the_store(
    tmp_path: Path,
) -> None:
    path = mapping(tmp_path, f"{{path: hist, flush_interval: {FLUSH_S}s, upkeep_interval: 1s}}", points=20)
    points = [f"plant.t{i}" for i in range(20)]
    store = tmp_path / "hist"
    proc = _start(path)
    try:
        deadline = time.monotonic() + 60
        while not (store / FILE).exists() or _count(store, points) < 2000:  # a few upkeeps (compactions) done
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "no history written"
            time.sleep(0.2)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lost_s = killed_at - _newest_server_us(store, points) / 1e6
    assert lost_s <= FLUSH_S + 0.5, f"{lost_s:.2f} s of samples lost"  # one flush interval (+ the write itself)
    with sqlite3.connect(store / FILE) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    before = _count(store, points)
    proc = _start(path)  # the same store, again
    try:
        deadline = time.monotonic() + 60
        while _count(store, points) < before + 200:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the restarted gateway wrote no history"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    reader = open_reader(str(store))
    rows = reader.read_raw("plant.t0", 0, 2**62, limit=10**7)
    reader.close()
    assert [r.source_us for r in rows] == sorted(r.source_us for r in rows)
    assert _count(store, points) >= before + 200
