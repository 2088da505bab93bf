"""What ``bench mqtt_north`` measures with: a mosquitto it starts (and kills), and a subscriber in its own process
that counts what arrives and checks it.

Every published value is a number ``k`` whose point is ``k % n_points`` and whose per-point sequence number is
``k // n_points``, so the subscriber can tell, per topic, a lost value (a hole that never fills), an out-of-order
one (a hole filled late) and a duplicate (a value seen twice, as QoS 1 may redeliver after a broker kill). When
the values were made on a schedule (``k`` at ``t0 + k / rate``), it also checks each payload's source time.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

VALUE_FIRST = b'{"value":'  # a UNS payload starts with its value
FREEZE_S = 0.5  # a killed broker first hangs this long (see Mosquitto.kill)
LATE_S = 0.5  # a value arriving later than this after its source time was held back (buffered or queued)


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_mosquitto() -> str | None:
    """The mosquitto binary (Debian installs it in /usr/sbin, often not on PATH)."""
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


class Mosquitto:
    """A mosquitto on a free loopback port with no queue limits and a persisted session store (saved every
    second), so the subscriber's session and its queued messages survive a kill and restart of the broker."""

    def __init__(self, folder: Path) -> None:
        exe = find_mosquitto()
        if exe is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        user = "user root\n" if os.geteuid() == 0 else ""  # as root it would switch to a user who cannot write here
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n{user}max_queued_messages 0\n"
            "max_inflight_messages 0\nqueue_qos0_messages true\n"
            f"persistence true\npersistence_location {folder}/\nautosave_interval 1\nlog_type none\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self, freeze: float = FREEZE_S) -> None:
        """Hang, then die: SIGSTOP, ``freeze`` seconds, SIGKILL (no goodbye to the clients).

        The freeze lets the subscriber read what the broker already sent it: a broker killed while a client's
        acknowledgements wait unread in its socket resets that connection, and the client's kernel then drops
        messages it had received but the client had not read yet. Those were the broker's (it had acknowledged
        them to the publisher); counting them would blame the publisher for the broker's loss."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)
            time.sleep(freeze)
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None


def _seconds(ts: Any) -> float | None:
    """A payload's time as Unix seconds: ISO 8601 text or epoch milliseconds."""
    if isinstance(ts, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        return None
    if isinstance(ts, int | float):
        return ts / 1000
    return None


@dataclass
class _Topic:
    last: int = -1  # highest value seen
    holes: set[int] = field(default_factory=set)  # values below ``last`` not seen (yet)


class _Counter:
    """What the subscriber saw since the last reset (paho's network thread writes, the control loop reads)."""

    def __init__(self, n_points: int) -> None:
        self.n_points = n_points
        self.lock = threading.Lock()
        self.reset(None, 0.0)

    def reset(self, t0: float | None, rate: float) -> None:
        with self.lock:
            self.t0, self.rate = t0, rate  # when given, value k was made at t0 + k / rate
            self.topics: dict[str, _Topic] = {}
            self.received = self.not_values = self.duplicates = self.out_of_order = self.bad_payload = 0
            self.before = 0  # values from before the reset (t0), sent again by the broker
            self.ts_checked = self.ts_wrong = 0
            self.first = self.last = 0.0
            # values that arrived late (held back by a buffer or a queue): how many, first and last receive time
            self.late, self.late_first, self.late_last = 0, 0.0, 0.0

    def on_message(self, msg: paho.MQTTMessage) -> None:
        now = time.time()
        if msg.retain or msg.topic.endswith("/_meta"):  # sent because we (re)subscribed, or metadata: no value
            self.not_values += 1
            return
        payload = msg.payload
        try:
            if self.t0 is None and payload.startswith(VALUE_FIRST):  # no time to check: only the value is read
                doc = None
                k = int(float(payload[len(VALUE_FIRST) : payload.index(b",", len(VALUE_FIRST))]))
            else:
                doc = json.loads(payload)
                k = int(doc["value"])
        except (ValueError, KeyError, TypeError):
            self.bad_payload += 1
            return
        with self.lock:
            self._count(msg.topic, k, doc, now)

    def _count(self, topic: str, k: int, doc: dict[str, Any] | None, now: float) -> None:
        sent = _seconds(doc.get("source_time")) if doc is not None else None
        if self.t0 is not None and sent is not None and sent < self.t0 - 0.001:
            # made before this run: a value the broker kept for our session and sends again after its restart
            self.before += 1
            return
        if not self.received:
            self.first = now
        self.received += 1
        self.last = now
        t = self.topics.get(topic)
        if t is None:
            t = self.topics[topic] = _Topic(last=k - self.n_points * (k // self.n_points) - self.n_points)
        if k > t.last:
            t.holes.update(range(t.last + self.n_points, k, self.n_points))
            t.last = k
        elif k in t.holes:
            t.holes.discard(k)
            self.out_of_order += 1
        else:
            self.duplicates += 1
            return
        if self.t0 is not None and doc is not None:
            made = self.t0 + k / self.rate
            self.ts_checked += 1
            if sent is None or abs(sent - made) > 0.002:
                self.ts_wrong += 1
            if now - made > LATE_S:
                if not self.late:
                    self.late_first = now
                self.late += 1
                self.late_last = now

    def report(self, expected_per_topic: int | None) -> dict[str, Any]:
        with self.lock:
            holes = sum(len(t.holes) for t in self.topics.values())
            tail = 0
            if expected_per_topic is not None:  # values after the last one seen, per topic
                tail = sum(expected_per_topic - 1 - t.last // self.n_points for t in self.topics.values())
            distinct = self.received - self.duplicates
            return {
                "received": self.received,
                "distinct": distinct,
                "not_values": self.not_values,
                "before": self.before,
                "duplicates": self.duplicates,
                "out_of_order": self.out_of_order,
                "holes": holes + tail,
                "topics": len(self.topics),
                "bad_payload": self.bad_payload,
                "ts_checked": self.ts_checked,
                "ts_wrong": self.ts_wrong,
                "first": self.first,
                "last": self.last,
                "late": self.late,
                "late_first": self.late_first,
                "late_last": self.late_last,
            }


def _subscriber(port: int, topic: str, n_points: int, qos: int, conn: Connection) -> None:
    """Child process: a subscriber answering the parent's commands on ``conn``; at QoS 1 with a persistent
    session (the broker keeps what arrives while it is away, and its own store keeps the session over a kill)."""
    counter = _Counter(n_points)
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-north-sub-{port}-{qos}", clean_session=qos == 0)
    c.max_inflight_messages_set(0)
    subscribed = threading.Event()

    def on_connect(client: paho.Client, _u: object, flags: Any, rc: Any, _p: object) -> None:
        if not flags.session_present:  # a restored session keeps its subscription (and what was queued)
            client.subscribe(topic, qos=qos)
        else:
            subscribed.set()

    c.on_connect = on_connect
    c.on_subscribe = lambda *_a: subscribed.set()
    c.on_message = lambda _c, _u, msg: counter.on_message(msg)
    c.reconnect_delay_set(1, 1)
    c.connect("127.0.0.1", port, keepalive=10)
    c.loop_start()
    subscribed.wait(10)
    conn.send("ready")
    while True:
        cmd, arg = conn.recv()
        if cmd == "reset":
            counter.reset(*arg)
            conn.send("ok")
        elif cmd == "report":
            conn.send(counter.report(arg))
        elif cmd == "stop":
            break
    c.disconnect()  # first: the network thread then ends at once, not at its next 1 s select timeout
    c.loop_stop()


class Subscriber:
    """The checking subscriber in its own process (so its CPU is not counted as the publisher's)."""

    def __init__(self, port: int, topic: str, n_points: int, *, qos: int) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_subscriber, args=(port, topic, n_points, qos, child), daemon=True)
        self.proc.start()
        if not self.conn.poll(20) or self.conn.recv() != "ready":
            raise RuntimeError("the bench subscriber did not subscribe")

    def reset(self, t0: float | None = None, rate: float = 0.0) -> None:
        """Forget what was counted; with ``t0`` and ``rate`` check each value's source time from then on."""
        self.conn.send(("reset", (t0, rate)))
        self.conn.recv()

    def report(self, expected_per_topic: int | None = None) -> dict[str, Any]:
        self.conn.send(("report", expected_per_topic))
        out: dict[str, Any] = self.conn.recv()
        return out

    def wait_for(self, distinct: int, timeout: float, quiet: float = 1.0) -> dict[str, Any]:
        """Poll until ``distinct`` values arrived, or nothing new came for ``quiet`` s, or ``timeout``."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while True:
            r = self.report()
            if r["distinct"] >= distinct or time.monotonic() > deadline:
                return r
            if r["received"] != seen:
                seen, since = r["received"], time.monotonic()
            elif time.monotonic() - since > quiet:
                return r
            time.sleep(0.05)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(("stop", None))
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
