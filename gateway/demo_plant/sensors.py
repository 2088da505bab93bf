"""Room sensors publishing JSON over MQTT, and the embedded broker the demo starts when none is reachable.

The broker is the ``mosquitto`` binary when it is installed (a real broker process, as on a plant network),
else amqtt (a pure-Python broker, a dependency of twinbridge) inside the demo's own event loop, so that
``pip install -e . && twinbridge demo`` works on a machine with nothing else installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

ROOMS = [("hall", "s1"), ("hall", "s2"), ("office", "s3")]
BrokerChoice = Literal["auto", "mosquitto", "amqtt"]


class BrokerUnavailable(RuntimeError):
    """No broker is reachable and none can be started."""


@dataclass(frozen=True)
class BrokerAddress:
    """Where the sensors publish: host and port of a plain ``mqtt://host:port`` URL."""

    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://host[:port]`` (port 1883 by default); TLS and credentials are not part of the demo."""
        parts = urlsplit(url)
        if "@" in parts.netloc:  # checked first: the messages below echo the URL
            raise ValueError("the demo's sensors publish anonymously; give a broker URL without credentials")
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"the demo's MQTT URL must look like mqtt://host:port, got {url!r}")
        try:
            port = parts.port or 1883
        except ValueError:
            raise ValueError(f"bad port in MQTT URL {url!r}") from None
        return cls(parts.hostname, port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mqtt://{host}:{self.port}"

    @property
    def local(self) -> bool:
        """Whether the embedded broker (which listens on 127.0.0.1) can serve this address."""
        return self.host in ("127.0.0.1", "localhost")


def reachable(host: str, port: int) -> bool:
    """Whether something listens at host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def find_mosquitto() -> str | None:
    """The mosquitto binary, if installed (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


def amqtt_available() -> bool:
    """Whether the pure-Python broker can be imported."""
    try:
        import amqtt.broker  # noqa: F401
    except ImportError:
        return False
    return True


class EmbeddedBroker:
    """A private MQTT broker on 127.0.0.1:port: mosquitto (a child process) or amqtt (in this event loop)."""

    def __init__(self, port: int, prefer: BrokerChoice = "auto") -> None:
        self.port = port
        self.prefer = prefer
        self.kind: Literal["mosquitto", "amqtt"] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._amqtt: Any = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def _choose(self) -> Literal["mosquitto", "amqtt"]:
        if self.prefer != "amqtt" and find_mosquitto() is not None:
            return "mosquitto"
        if self.prefer != "mosquitto" and amqtt_available():
            return "amqtt"
        wanted = "the mosquitto binary" if self.prefer == "mosquitto" else "mosquitto or the amqtt package"
        raise BrokerUnavailable(
            f"no MQTT broker listens on 127.0.0.1:{self.port} and {wanted} is not installed "
            "(apt-get install mosquitto, pip install amqtt, or start a broker and pass --mqtt-port)"
        )

    async def start(self) -> None:
        """Start the broker and wait until it accepts connections; also restarts a killed one."""
        self.kind = self._choose()
        if self.kind == "mosquitto":
            await asyncio.to_thread(self._start_mosquitto)
        else:
            await self._start_amqtt()

    def _start_mosquitto(self) -> None:
        binary = find_mosquitto()
        assert binary is not None
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="twinbridge-demo-broker-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        # its own session: Ctrl-C goes to the demo, which stops the broker last, after the gateway
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 5
        while not reachable("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._stop_mosquitto()
                raise BrokerUnavailable(f"the embedded mosquitto did not start on port {self.port}")
            time.sleep(0.05)

    async def _start_amqtt(self) -> None:
        from amqtt.broker import Broker

        # amqtt logs every connection at INFO and its state machine (transitions) at INFO too
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            # only anonymous auth: the default plugin set also logs every packet and publishes $SYS topics
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        self._amqtt = Broker(config)
        await self._amqtt.start()

    def _stop_mosquitto(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    async def stop(self) -> None:
        """Stop the broker (idempotent)."""
        if self.proc is not None:
            await asyncio.to_thread(self._stop_mosquitto)
        if self._amqtt is not None:
            broker, self._amqtt = self._amqtt, None
            await broker.shutdown()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


class RoomSensors:
    """Publishes plant/<area>/<sensor>/telemetry every second; takes setpoints on <topic>/set."""

    def __init__(self, port: int, seed: int = 3, interval: float = 1.0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.interval = interval
        # a client id of its own per instance: a broker drops the older of two clients with one id, so two demos
        # sharing a broker would otherwise knock each other off every reconnect
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"demo-sensors-{secrets.token_hex(3)}")
        self.setpoints = {s: 21.0 for _, s in ROOMS}
        self._rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object) -> None:
        # (re)subscribe on every connect: a restarted broker has forgotten our clean session
        client.subscribe("plant/+/+/telemetry/set")

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        sensor = msg.topic.split("/")[2]
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.setpoints[sensor] = float(json.loads(msg.payload)["sp"])

    async def start(self) -> None:
        """Connect (the paho network thread reconnects by itself after a broker restart) and start publishing."""
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        await asyncio.to_thread(self.client.connect, self.host, self.port)
        self.client.loop_start()
        self._task = asyncio.create_task(self._publish(), name="demo-sensors")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.client.disconnect()
        self.client.loop_stop()

    def reading(self, i: int, sensor: str, t: float) -> dict[str, Any]:
        """One telemetry message: temperature around the setpoint, humidity and CO2 drifting slowly."""
        return {
            "temp": round(self.setpoints[sensor] + 0.8 * math.sin(t / 60 + i) + self._rng.gauss(0, 0.1), 2),
            "hum": round(45 + 5 * math.sin(t / 90 + i), 1),
            "co2": round(450 + 150 * (1 + math.sin(t / 45 + i))),
            "sp": self.setpoints[sensor],
            "ts": int(time.time() * 1000),
            "status": "ok",
        }

    async def _publish(self) -> None:
        t0 = time.monotonic()
        while True:
            t = time.monotonic() - t0
            for i, (area, sensor) in enumerate(ROOMS):
                payload = json.dumps(self.reading(i, sensor, t))
                self.client.publish(f"plant/{area}/{sensor}/telemetry", payload, qos=0)
            await asyncio.sleep(self.interval)
