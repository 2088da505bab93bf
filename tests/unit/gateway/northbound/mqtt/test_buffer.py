"""The store-and-forward buffer on a real SQLite file: order, exact values and timestamps, bounds, restarts, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.contract.sample import PointState, Quality
from gateway.northbound.mqtt.buffer import StateBuffer

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def state(point: str, value: object, i: int = 0, **kw: object) -> PointState:
    ts = T0 + timedelta(microseconds=i)
    args: dict[str, object] = {"quality": Quality.GOOD, "status": "Good", "reason": None}
    args.update(kw)
    return PointState(point, value, ts, ts + timedelta(milliseconds=3), **args)  # type: ignore[arg-type]


def open_buffer(path: Path, **kw: object) -> StateBuffer:
    args: dict[str, object] = {"max_bytes": 10_000_000, "max_age": 86400.0}
    args.update(kw)
    return StateBuffer(path / "b.sqlite", **args)  # type: ignore[arg-type]


def test_values_and_timestamps_come_back_exactly(tmp_path: Path) -> None:
    b = open_buffer(tmp_path)
    east = timezone(timedelta(hours=5, minutes=30))
    states = [
        state("a.x", None, 1, quality=Quality.BAD, status="BadTimeout", reason="no answer", quality_ts=T0),
        state("a.x", True, 2),
        state("a.x", 1, 3),
        state("a.x", 1.0, 4),
        state("a.x", -0.1, 5),
        state("a.x", "on", 6),
        state("a.x", 2**70, 7),
        state("a.x", 0, 8, quality=Quality.UNCERTAIN, status="UncertainLastUsableValue"),
        PointState("a.y", 3.5, T0.astimezone(east), None, Quality.GOOD, "Good", None),
    ]
    b.append(states)
    back = [s for _, s in b.read()]
    assert back == states  # equal instants, equal values
    for got, sent in zip(back, states, strict=True):
        assert type(got.value) is type(sent.value)  # True stays a bool, 1.0 a float, 2**70 an int
    assert back[-1].source_ts is not None and back[-1].source_ts.tzinfo is UTC
    assert back[-1].gateway_ts is None
    assert back[0].quality_ts == T0 and back[0].reason == "no answer"


def test_fifo_read_after_delete_and_accounting(tmp_path: Path) -> None:
    b = open_buffer(tmp_path)
    b.append([state("p", i, i) for i in range(5)])
    b.append([state("p", i, i) for i in range(5, 12)])
    assert b.count == 12 and b.bytes > 0
    rows = b.read(0, 4)
    assert [s.value for _, s in rows] == [0, 1, 2, 3]
    assert [s.value for _, s in b.read(rows[-1][0], 100)] == list(range(4, 12))
    assert b.delete(rows[0][0], rows[-1][0]) == 4
    assert b.delete(rows[0][0], rows[-1][0]) == 0  # already gone: nothing counted twice
    assert b.count == 8
    assert [s.value for _, s in b.read()] == list(range(4, 12))
    b.delete(0, b.last_seq)
    assert (b.count, b.bytes) == (0, 0)
    # row numbers are never reused: a reader that got to row n finds what is appended after it
    last = b.last_seq
    b.append([state("p", 12, 12)])
    assert [s.value for _, s in b.read(last)] == [12]


def test_full_buffer_drops_the_oldest_and_counts(tmp_path: Path) -> None:
    b = open_buffer(tmp_path, max_bytes=10_000)
    for i in range(0, 400, 10):
        b.append([state("boiler.temp", float(j), j) for j in range(i, i + 10)])
    assert b.bytes <= 10_000
    kept = [s.value for _, s in b.read(0, 1000)]
    assert b.dropped_full == 400 - len(kept) > 0
    assert kept == [float(j) for j in range(400 - len(kept), 400)]  # the newest, in order
    assert b.count == len(kept)


def test_old_values_are_dropped_by_age(tmp_path: Path) -> None:
    now = [1_000_000.0]
    b = open_buffer(tmp_path, max_age=60.0, clock=lambda: now[0])
    gw = datetime.fromtimestamp(now[0], UTC)
    old = [PointState("p", i, gw, gw, Quality.GOOD, "Good", None) for i in range(3)]
    b.append(old)
    now[0] += 30
    new = [PointState("p", i, gw, gw + timedelta(seconds=30), Quality.GOOD, "Good", None) for i in range(3, 5)]
    b.append(new)
    assert b.purge_expired() == 0
    now[0] += 45  # the first three are 75 s old, the others 45 s
    assert b.purge_expired() == 3
    assert [s.value for _, s in b.read()] == [3, 4]
    assert b.dropped_age == 3 and b.count == 2


def test_survives_reopening_and_keeps_numbering(tmp_path: Path) -> None:
    b = open_buffer(tmp_path)
    b.append([state("p", i, i) for i in range(3)])
    last = b.last_seq
    b.close()
    again = open_buffer(tmp_path)
    assert again.count == 3 and again.bytes > 0
    again.append([state("p", 3, 3)])
    assert again.last_seq > last
    assert [s.value for _, s in again.read()] == [0, 1, 2, 3]


def test_a_second_process_cannot_share_the_file(tmp_path: Path) -> None:
    b = open_buffer(tmp_path)
    b.append([state("p", 1)])
    code = f"""
import sys
from gateway.northbound.mqtt.buffer import BufferLocked, StateBuffer
try:
    StateBuffer({str(tmp_path / "b.sqlite")!r}, max_bytes=10**6, max_age=60).read()
except BufferLocked as exc:
    print(exc); sys.exit(3)
"""
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 3, out.stderr
    assert "in use by another process" in out.stdout
    b.close()
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr  # free again once closed


def test_kill_9_while_appending_leaves_a_consistent_buffer(tmp_path: Path) -> None:
    """Batches of consecutive numbers appended until killed: afterwards whole batches only, in order."""
    ready = tmp_path / "ready"
    code = textwrap.dedent(f"""
        from datetime import UTC, datetime
        from pathlib import Path
        from adapters.contract.sample import PointState, Quality
        from gateway.northbound.mqtt.buffer import StateBuffer
        b = StateBuffer({str(tmp_path / "b.sqlite")!r}, max_bytes=10**9, max_age=10**6)
        now = datetime.now(UTC)
        n = 0
        while True:
            b.append([PointState("p", n + i, now, now, Quality.GOOD, "Good", None) for i in range(100)])
            n += 100
            if n == 2000:
                Path({str(ready)!r}).touch()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=os.getcwd())
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None, "the writer died"
            assert time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.02)
        time.sleep(0.15)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    b = open_buffer(tmp_path)
    values = [s.value for _, s in b.read(0, 10**7)]
    assert len(values) >= 2000 and len(values) % 100 == 0
    assert values == list(range(len(values)))
    assert b.count == len(values)


@pytest.mark.parametrize("n", [1, 2_500])
def test_append_is_cheap(tmp_path: Path, n: int) -> None:
    """5,000 values/s is the bench's load: appending them in batches must take a small part of a second."""
    b = open_buffer(tmp_path)
    batch = [state(f"asset{i % 50}.temp", i * 0.5, i) for i in range(n)]
    t = time.perf_counter()
    for _ in range(5000 // n if n > 1 else 20):
        b.append(batch)
    assert time.perf_counter() - t < 1.0
