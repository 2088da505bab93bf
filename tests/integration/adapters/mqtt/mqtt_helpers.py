"""Helpers of the MQTT adapter integration tests: a real broker process, a paho test client, an adapter harness
(TLS files: mqtt_tls.py).

The broker is ``mosquitto`` started by the test on an ephemeral loopback port (so a test can kill and restart
it); only where the binary is absent does an amqtt broker (if installed) stand in, and TLS tests then skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

from adapters.contract.adapter import AdapterContext
from adapters.contract.model import Asset, DataType, Point, PointKind
from adapters.contract.sample import Sample
from adapters.mqtt.adapter import MqttAdapter
from adapters.mqtt.config import MqttAddress, MqttSourceConfig
from gateway.config.fragments import FragmentDiscovery
from gateway.config.profiles import ProfileLibrary, ProfileView, builtin_profile_dir
from tests.integration.adapters.mqtt.mqtt_tls import TlsFiles

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class Broker:
    """A mosquitto process on an ephemeral port that a test can kill and restart (same port, same store)."""

    def __init__(
        self,
        workdir: Path,
        *,
        tls: TlsFiles | None = None,
        require_client_cert: bool = False,
        users: dict[str, str] | None = None,
    ) -> None:
        self.users = users or {}
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls = tls
        self.require_client_cert = require_client_cert
        self.proc: subprocess.Popen[bytes] | None = None
        # TWINBRIDGE_TEST_BROKER=amqtt forces the fallback (to check it on a machine that has mosquitto)
        forced = os.environ.get("TWINBRIDGE_TEST_BROKER")
        self.kind = "mosquitto" if MOSQUITTO and forced != "amqtt" else "amqtt"

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>`` (``mqtts`` with TLS)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def _mosquitto_conf(self) -> Path:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false" if self.users else "allow_anonymous true",
            "user root" if os.geteuid() == 0 else "",
            "persistence true",
            f"persistence_location {self.dir}/",
            "autosave_interval 1",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            f"log_dest file {self.dir}/mosquitto.log",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if self.tls is not None:
            lines += [
                f"cafile {self.tls.ca}",
                f"certfile {self.tls.cert}",
                f"keyfile {self.tls.key}",
                f"require_certificate {'true' if self.require_client_cert else 'false'}",
            ]
        if self.users:
            pw = self.dir / "passwords"
            pw.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True, capture_output=True)
            lines.append(f"password_file {pw}")
        conf = self.dir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> None:
        """Start (or restart) the broker and wait until it listens."""
        if self.kind == "mosquitto":
            assert MOSQUITTO is not None
            cmd = [MOSQUITTO, "-c", str(self._mosquitto_conf())]
        else:
            if self.tls is not None:
                pytest.skip("TLS tests need the mosquitto binary: apt-get install mosquitto")
            pytest.importorskip("amqtt", reason="neither mosquitto nor amqtt is available")
            cmd = [sys.executable, str(Path(__file__).with_name("amqtt_broker.py")), str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(self.port)
        except TimeoutError:
            err = b""
            if self.proc.poll() is not None and self.proc.stderr is not None:
                err = self.proc.stderr.read()
            log = (self.dir / "mosquitto.log").read_text() if (self.dir / "mosquitto.log").exists() else ""
            self.kill()
            raise RuntimeError(f"broker did not start: {err.decode(errors='replace')} {log}") from None

    def kill(self) -> None:
        """Kill the broker at once (like a crash or a pulled cable)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def freeze(self, frozen: bool = True) -> None:
        """Stop (SIGSTOP) or continue (SIGCONT) the broker: connections stay open but nothing answers."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    def stop(self) -> None:
        """Stop the broker cleanly (it saves its persistent sessions)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class TestClient:
    """A paho client in its own network thread: publishes test messages and records what it receives."""

    __test__ = False  # not a pytest test class

    def __init__(self, broker: Broker, client_id: str = "", tls: bool = False) -> None:
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.received: list[paho.MQTTMessage] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        if tls:
            assert broker.tls is not None
            self.client.tls_set(ca_certs=str(broker.tls.ca))
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.received.append(msg)

    def publish(self, topic: str, payload: bytes | str | float | None, qos: int = 1, retain: bool = False) -> None:
        """Publish and wait until the broker has it (QoS 1/2) or it is sent (QoS 0)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(5)

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        """Subscribe and wait for the SUBACK."""
        self._subscribed.clear()
        self.client.subscribe(topic_filter, qos)
        assert self._subscribed.wait(5), "no SUBACK"

    def messages(self, topic: str | None = None) -> list[paho.MQTTMessage]:
        """Everything received so far (on ``topic``)."""
        with self._lock:
            return [m for m in self.received if topic is None or m.topic == topic]

    async def wait_message(self, topic: str, timeout: float = 5.0) -> paho.MQTTMessage:
        """The first message received on ``topic`` (polling with a deadline)."""
        await wait_until(lambda: bool(self.messages(topic)), timeout, f"no message on {topic}")
        return self.messages(topic)[0]

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()


async def wait_until(pred: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``pred`` until true or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def profiles() -> ProfileLibrary:
    """The built-in profiles plus the test profiles next to this file."""
    lib = ProfileLibrary()
    lib.add_dir(Path(__file__).with_name("profiles"))
    lib.add_dir(builtin_profile_dir())
    return lib


def mqtt_point(
    pid: str, datatype: DataType = DataType.DOUBLE, *, source: str = "mq", writable: bool = False, **address: Any
) -> Point:
    """An explicitly mapped MQTT point."""
    asset = pid.rsplit(".", 1)[0]
    return Point(
        pid,
        asset,
        PointKind.MEASUREMENT,
        datatype,
        source,
        MqttAddress.model_validate(address),
        pid,
        unit=None,
        writable=writable,
    )


@dataclass
class Harness:
    """A running adapter whose samples are collected in the background."""

    adapter: MqttAdapter
    samples: list[Sample] = field(default_factory=list)
    latest: dict[str, Sample] = field(default_factory=dict)
    discovered: list[tuple[list[Asset], list[Point]]] = field(default_factory=list)
    error: BaseException | None = None
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the adapter and the collector."""
        await self.adapter.start()
        self.error = None
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for s in self.adapter.samples():
                self.samples.append(s)
                self.latest[s.point] = s
        except Exception as exc:
            self.error = exc

    async def stop(self) -> None:
        """Stop the adapter and the collector."""
        await self.adapter.stop()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def value(self, pid: str) -> Any:
        """The latest value of a point (None when none yet)."""
        s = self.latest.get(pid)
        return None if s is None else s.value

    async def wait_value(self, pid: str, value: Any, timeout: float = 5.0) -> Sample:
        """Wait until a point's latest sample has ``value``."""
        await wait_until(
            lambda: pid in self.latest and self.latest[pid].value == value,
            timeout,
            f"{pid} == {value!r} (latest: {self.latest.get(pid)})",
        )
        return self.latest[pid]

    async def wait_status(self, pid: str, prefix: str, timeout: float = 5.0) -> Sample:
        """Wait until a point's latest sample has a status starting with ``prefix``."""
        await wait_until(
            lambda: pid in self.latest and self.latest[pid].status.startswith(prefix),
            timeout,
            f"{pid} status {prefix}* (latest: {self.latest.get(pid)})",
        )
        return self.latest[pid]


def make_harness(url: str, *, points: Sequence[Point] = (), base_dir: str = ".", **cfg: Any) -> Harness:
    """An adapter on ``url`` whose discovered fragments the loader's builder makes (as the gateway does), with
    what would be added to the twin recorded in ``discovered``."""
    config = MqttSourceConfig.model_validate({"id": "mq", "url": url, **cfg})
    h = Harness(adapter=None)  # type: ignore[arg-type]

    def record(assets: Sequence[Asset], pts: Sequence[Point]) -> None:
        h.discovered.append((list(assets), list(pts)))

    lib = profiles()
    ctx = AdapterContext(
        logging.getLogger("test.mqtt"),
        profiles=ProfileView(lib),
        discover=FragmentDiscovery.standalone(config, lib, record),
        base_dir=base_dir,
    )
    h.adapter = MqttAdapter(config, list(points), ctx)
    return h
