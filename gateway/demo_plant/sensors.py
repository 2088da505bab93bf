"""Room sensors publishing JSON over MQTT, with an embedded broker (the mosquitto binary) when none runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt

ROOMS = [("hall", "s1"), ("hall", "s2"), ("office", "s3")]


def reachable(host: str, port: int) -> bool:
    """Whether something listens at host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def find_mosquitto() -> str | None:
    """The mosquitto binary, if installed."""
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


class EmbeddedBroker:
    """A private mosquitto on a loopback port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="twinbridge-demo-broker-")

    def start(self) -> None:
        binary = find_mosquitto()
        if binary is None:
            raise RuntimeError(
                "no MQTT broker reachable and no mosquitto binary installed "
                "(apt-get install mosquitto, or start a broker and pass --mqtt-port)"
            )
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        # its own session: Ctrl-C goes to the demo, which stops the broker last, after the gateway
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 5
        while not reachable("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the embedded mosquitto did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        self._dir.cleanup()


class RoomSensors:
    """Publishes plant/<area>/<sensor>/telemetry every second; takes setpoints on <topic>/set."""

    def __init__(self, port: int, seed: int = 3) -> None:
        self.port = port
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo-sensors")
        self.setpoints = {s: 21.0 for _, s in ROOMS}
        self._rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        sensor = msg.topic.split("/")[2]
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.setpoints[sensor] = float(json.loads(msg.payload)["sp"])

    async def start(self) -> None:
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", self.port)
        self.client.subscribe("plant/+/+/telemetry/set")
        self.client.loop_start()
        self._task = asyncio.create_task(self._publish(), name="demo-sensors")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.client.loop_stop()
        self.client.disconnect()

    async def _publish(self) -> None:
        t0 = time.monotonic()
        while True:
            t = time.monotonic() - t0
            for i, (area, sensor) in enumerate(ROOMS):
                payload = {
                    "temp": round(self.setpoints[sensor] + 0.8 * math.sin(t / 60 + i) + self._rng.gauss(0, 0.1), 2),
                    "hum": round(45 + 5 * math.sin(t / 90 + i), 1),
                    "co2": round(450 + 150 * (1 + math.sin(t / 45 + i))),
                    "sp": self.setpoints[sensor],
                    "ts": int(time.time() * 1000),
                    "status": "ok",
                }
                self.client.publish(f"plant/{area}/{sensor}/telemetry", json.dumps(payload), qos=0)
            await asyncio.sleep(1.0)
