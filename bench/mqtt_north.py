"""Northbound MQTT: the twin published as a Unified Namespace, values/s per core at QoS 0 and 1, and a broker outage.

Rows, all through one mosquitto the bench starts on a free loopback port, counted by a subscriber in its own
process (``_mqtt_north_harness``) that checks order per topic:

* baseline: a bare paho client publishing the same JSON payloads on the same topics (``json.dumps`` of the
  payload with the value and times filled in, then ``publish``), retained, at QoS 0 and QoS 1;
* twinbridge: N points changing through the twin (``twin.apply`` in rounds, as fast as the service takes them),
  published by the ``gateway: mqtt:`` service's UNS channel.

values/s: values over the publisher's time, from its first value to its last one sent (QoS 0) or acknowledged
(QoS 1). values/s per core: values delivered over this process's CPU seconds (``time.process_time``, every
thread) until the subscriber had them all; the twinbridge rows also pay for ``twin.apply`` (its share, measured
alone, is printed).

Outage: values at 5,000/s, the broker frozen (SIGSTOP) for 0.5 s then killed (SIGKILL), away 60 s (quick: 2 s)
in all, then restarted (``Mosquitto.kill`` says why it freezes first): what the subscriber got of what the twin
saw, lost, out of order (per point), duplicates (QoS 1 redelivery), original source times kept, values the
service buffered, the replay rate (values/s arriving late, i.e. held back), how long after the restart the
service was connected again and when the last late value came (drained).

    python -m bench mqtt_north [--quick]        (or python -m bench.mqtt_north)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from adapters.contract.model import Asset, AssetLevel, DataType, Point, PointKind
from adapters.contract.sample import Sample
from adapters.contract.status import status_code
from adapters.sim.config import SimAddress, SimSourceConfig
from bench._mqtt_north_harness import Mosquitto, Subscriber, find_mosquitto
from bench.common import table
from gateway.model import TwinModel, TwinSettings
from gateway.northbound.mqtt.config import MqttNorthConfig
from gateway.northbound.mqtt.service import MqttNorth
from gateway.northbound.mqtt.uns_payload import unit_json
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView

BRICK = "https://brickschema.org/schema/Brick#"
POINTS_PER_EQUIPMENT = 8
OUTAGE_RATE = 5000  # values/s while the broker is killed
BACKLOG = 20_000  # changes queued for the service before the driver waits
WINDOW = 1000  # QoS 1 messages in flight (the service's default max_inflight)
# a UNS value as the service sends it (gateway.northbound.mqtt.uns_payload), for the baseline to fill in
TEMPLATE: dict[str, Any] = {"value": 0.0, "unit": unit_json("DEG_C"), "quality": "good", "status": "Good"}
TEMPLATE |= {"status_code": 0, "source_time": "", "server_time": ""}
HEADERS = ["publisher", "QoS", "values", "delivered", "lost", "out of order", "values/s", "CPU s", "values/s per core"]


def plant(n_points: int) -> TwinModel:
    """One site > areas > lines > equipment with 8 temperature points each (Double, °C), on an idle sim source."""
    model = TwinModel(settings=TwinSettings(base_iri="http://bench.local/"))
    model.sources["sim"] = SimSourceConfig(id="sim", interval=1.0)
    model.assets["plant"] = Asset("plant", AssetLevel.SITE, (), "Plant")
    for e in range((n_points + POINTS_PER_EQUIPMENT - 1) // POINTS_PER_EQUIPMENT):
        area, line, eq = f"area{e // 100}", f"line{e // 10}", f"eq{e}"
        if area not in model.assets:
            model.assets[area] = Asset(area, AssetLevel.AREA, (), area, parent="plant")
        if line not in model.assets:
            model.assets[line] = Asset(line, AssetLevel.LINE, (), line, parent=area)
        model.assets[eq] = Asset(eq, AssetLevel.EQUIPMENT, (BRICK + "AHU",), f"AHU {e}", parent=line)
        for i in range(min(POINTS_PER_EQUIPMENT, n_points - e * POINTS_PER_EQUIPMENT)):
            pid = f"{eq}.t{i}"
            model.points[pid] = Point(
                pid, eq, PointKind.MEASUREMENT, DataType.DOUBLE, "sim", SimAddress(signal="constant"),
                f"{eq} temperature {i}", classes=(BRICK + "Temperature_Sensor",), unit="DEG_C",
            )  # fmt: skip
    return model


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def cpu_rate(values: int, cpu: float) -> str:
    return f"{values / cpu:,.0f}" if cpu > 0 else "-"


@dataclass
class Timed:
    """One throughput run: wall time of the first publication and of the publisher's last (sent at QoS 0,
    acknowledged at QoS 1), and this process's CPU seconds until the subscriber had everything."""

    start: float = 0.0
    done: float = 0.0
    cpu: float = 0.0


def result_row(name: str, qos: int, expected: int, seen: dict[str, Any], run: Timed) -> list[object]:
    delivered = seen["distinct"]
    wall = run.done - run.start
    return [
        name, qos, f"{expected:,}", f"{delivered:,}", f"{expected - delivered:,}", seen["out_of_order"],
        f"{expected / wall:,.0f}" if wall > 0 else "-", f"{run.cpu:.2f}", cpu_rate(delivered, run.cpu),
    ]  # fmt: skip


# -- baseline: a bare paho client ----------------------------------------------------------------------------


def baseline_row(port: int, sub: Subscriber, topics: list[str], rounds: int, qos: int) -> list[object]:
    """Publish ``rounds`` values on every topic with paho's ``publish``, ``json.dumps`` of each payload.

    At QoS 1 it keeps at most ``WINDOW`` messages unacknowledged (as the service's ``max_inflight``) by itself:
    paho's own in-flight limit costs a scan of every message in flight per acknowledgement."""
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-north-baseline-{qos}")
    c.max_inflight_messages_set(0)
    c.max_queued_messages_set(0)
    acked = threading.Semaphore(WINDOW)
    c.on_publish = lambda *_a: acked.release()
    c.connect("127.0.0.1", port)
    c.loop_start()
    n = len(topics)
    sub.reset()
    run = Timed(start=time.time())
    cpu0, info = time.process_time(), None
    for r in range(rounds):
        now = _iso(time.time())
        for i, topic in enumerate(topics):
            doc = TEMPLATE | {"value": float(r * n + i), "source_time": now, "server_time": _iso(time.time())}
            if qos:
                acked.acquire()
            info = c.publish(topic, json.dumps(doc), qos=qos, retain=True)
    if info is not None:
        info.wait_for_publish(60)
    run.done = time.time()
    seen = sub.wait_for(n * rounds, timeout=60)
    run.cpu = time.process_time() - cpu0
    c.disconnect()  # first: the network thread then ends at once, not at its next 1 s select timeout
    c.loop_stop()
    return result_row("baseline: bare paho client", qos, n * rounds, seen, run)


# -- twinbridge: the service over the twin -------------------------------------------------------------------


def north_config(port: int, prefix: str, qos: int, buffer: Path) -> MqttNorthConfig:
    broker: dict[str, Any] = {"name": "bench", "url": f"mqtt://127.0.0.1:{port}", "buffer": {"path": str(buffer)}}
    broker["uns"] = {"prefix": prefix, "qos": qos}
    return MqttNorthConfig.model_validate({"brokers": [broker]})


async def start_service(view: TwinView, config: MqttNorthConfig, sub: Subscriber) -> MqttNorth:
    """The service, connected, with the twin's current values (sent first by a new forwarder) delivered."""
    service = MqttNorth(config, view)
    await service.start()
    current = sum(1 for s in view.states().values() if s.source_ts is not None)
    deadline = time.monotonic() + 30
    while not service.health().ok or sub.report()["distinct"] < current:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service did not connect and publish the current values: {service.health()}")
        await asyncio.sleep(0.05)
    return service


def apply_cost(twin: Twin, rounds: int) -> float:
    """CPU µs per value of ``twin.apply`` alone (no subscriber): the driver's share of the service rows."""
    ids, ts = list(twin.model.points), datetime.now(UTC)
    cpu0 = time.process_time()
    for r in range(rounds):
        for i, pid in enumerate(ids):
            twin.apply(Sample(pid, float(r * len(ids) + i), ts))
    return (time.process_time() - cpu0) / (rounds * len(ids)) * 1e6


async def drive_rounds(twin: Twin, view: TwinView, rounds: int) -> None:
    """Every point changes ``rounds`` times, as fast as the service takes the changes (its queue stays short)."""
    ids, apply = list(twin.model.points), twin.apply
    n = len(ids)
    for r in range(rounds):
        ts = datetime.now(UTC)
        for i, pid in enumerate(ids):
            apply(Sample(pid, float(r * n + i), ts))
            if i % 1000 == 999:
                while view.stats().queued_changes > BACKLOG:
                    await asyncio.sleep(0.0005)
        await asyncio.sleep(0)


async def service_rows(twin: Twin, port: int, sub: Subscriber, rounds: int, folder: Path) -> list[list[object]]:
    view = TwinView(twin)
    expected = len(twin.model.points) * rounds
    rows = []
    for qos in (0, 1):
        sub.reset()
        config = north_config(port, f"bench/rate/svc{qos}", qos, folder / f"svc{qos}")
        service = await start_service(view, config, sub)
        forwarders = [fw for fws in service.forwarders.values() for fw in fws]
        before = sum(fw.counters["published"] + fw.counters["replayed"] for fw in forwarders)
        try:
            sub.reset()
            run = Timed(start=time.time())
            cpu0 = time.process_time()
            await drive_rounds(twin, view, rounds)
            deadline = time.monotonic() + 60
            # replayed too: a link that dropped under load sends the rest from its buffer, not live
            while sum(fw.counters["published"] + fw.counters["replayed"] for fw in forwarders) - before < expected:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"QoS {qos}: not all {expected:,} values sent in 60 s: {service.health()}")
                await asyncio.sleep(0.005)
            run.done = time.time()
            seen = await asyncio.to_thread(sub.wait_for, expected, 120)
            run.cpu = time.process_time() - cpu0
        finally:
            await service.stop()
        rows.append(result_row("twinbridge UNS service", qos, expected, seen, run))
    return rows


# -- outage: the broker killed under load ---------------------------------------------------------------------


class Paced:
    """Applies value k to point ``k % n`` at ``t0 + k / rate`` (also its source time), on the event loop."""

    def __init__(self, twin: Twin, rate: float) -> None:
        self.twin, self.rate = twin, rate
        self.t0 = time.time()
        self.made = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.t0 = time.time()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        ids, apply, t0, rate = list(self.twin.model.points), self.twin.apply, self.t0, self.rate
        while True:
            due = int((time.time() - t0) * rate)
            for k in range(self.made, due):
                apply(Sample(ids[k % len(ids)], float(k), datetime.fromtimestamp(t0 + k / rate, UTC)))
            self.made = max(self.made, due)
            await asyncio.sleep(0.01)


async def outage_row(
    twin: Twin, broker: Mosquitto, sub: Subscriber, run: RunSize, folder: Path
) -> tuple[list[object], str]:
    """Values at OUTAGE_RATE; the broker frozen, killed, away ``run.outage`` s in all, restarted; everything made
    must arrive."""
    view = TwinView(twin)
    sub.reset()
    service = await start_service(view, north_config(broker.port, "bench/outage", 1, folder / "outage"), sub)
    pace = Paced(twin, OUTAGE_RATE)
    try:
        pace.start()
        sub.reset(pace.t0, OUTAGE_RATE)  # from here on every value's source time is checked
        await asyncio.sleep(run.warm)
        killed = time.monotonic()
        await asyncio.to_thread(broker.kill)
        await asyncio.sleep(run.outage - (time.monotonic() - killed))
        await asyncio.to_thread(broker.start)
        restarted = time.time()
        link = service.links["bench"]
        while not link.connected and time.time() - restarted < 60:
            await asyncio.sleep(0.01)
        reconnected = time.time() - restarted
        await asyncio.to_thread(_until_on_time, sub, pace, restarted, run.settle)
        await pace.stop()
        seen = await asyncio.to_thread(sub.wait_for, pace.made, 30, run.settle)
        (fw,) = service.forwarders["bench"]
        kept, replay = fw.counters["buffered"], fw.last_replay
    finally:
        await pace.stop()
        await service.stop()
    own = (
        f"the service's own count of its replay: {replay['values']:,.0f} values in {replay['seconds']:.1f} s, "
        f"{replay['rate']:,.0f} values/s (buffer.replay_rate {fw.replay_rate:,.0f})"
        if replay
        else "the service reported no completed replay"
    )
    return outage_cells(pace.made, seen, restarted, run.outage, kept, reconnected), own


def _until_on_time(sub: Subscriber, pace: Paced, restarted: float, settle: float) -> None:
    """Wait until the held-back values are through: none late for ``settle`` s, and all but a second's worth in."""
    deadline = time.time() + 180
    while time.time() < deadline:
        seen = sub.report()
        caught_up = seen["distinct"] >= pace.made - OUTAGE_RATE
        if seen["late_last"] > restarted and time.time() - seen["late_last"] > settle and caught_up:
            return
        time.sleep(0.1)


def outage_cells(
    made: int, seen: dict[str, Any], restarted: float, outage: float, kept: int, reconnected: float
) -> list[object]:
    delivered = seen["distinct"]
    late, first, last = seen["late"], seen["late_first"], seen["late_last"]
    replay = f"{late / (last - first):,.0f}" if last > first else "-"
    times = "yes" if seen["ts_checked"] == delivered and seen["ts_wrong"] == 0 else f"no ({seen['ts_wrong']:,} wrong)"
    return [
        f"{OUTAGE_RATE:,}/s, broker killed {outage:g} s", f"{delivered:,} / {made:,}", f"{made - delivered:,}",
        seen["out_of_order"], seen["duplicates"], times, f"{kept:,}", replay,
        f"{reconnected:.1f}", f"{last - restarted:.1f}" if last else "-",
    ]  # fmt: skip


OUTAGE_HEADERS = [
    "run", "delivered / made", "lost", "out of order", "duplicates", "source times kept", "buffered",
    "replay values/s", "reconnected s", "drained s",
]  # fmt: skip


# -- main ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSize:
    points: int
    rounds: int  # values per point in a throughput row
    warm: float  # seconds of publishing before the broker is killed
    outage: float  # seconds the broker is away
    settle: float  # seconds without late values that end the replay


QUICK = RunSize(points=500, rounds=10, warm=0.5, outage=2.0, settle=0.5)
FULL = RunSize(points=10_000, rounds=20, warm=5.0, outage=60.0, settle=2.0)


def run(size: RunSize) -> tuple[list[list[object]], tuple[list[object], str], float]:
    """Throughput rows, the outage row and ``twin.apply``'s CPU µs per value."""
    model = plant(size.points)
    twin = Twin(model)
    try:
        topics = [p.id.replace(".", "/") for p in model.points.values()]
        with tempfile.TemporaryDirectory(prefix="bench-mqtt-north-") as d:
            broker = Mosquitto(Path(d))
            broker.start()
            # a QoS 0 subscriber counts the throughput rows (the least work for the broker and itself); a QoS 1
            # one with a persistent session the outage (what arrives while it is away is kept for it)
            fast = Subscriber(broker.port, "bench/rate/#", size.points, qos=0)
            sure = Subscriber(broker.port, "bench/outage/#", size.points, qos=1)
            try:
                rows = [
                    baseline_row(broker.port, fast, [f"bench/rate/base{q}/{t}" for t in topics], size.rounds, q)
                    for q in (0, 1)
                ]
                rows += asyncio.run(service_rows(twin, broker.port, fast, size.rounds, Path(d)))
                outage = asyncio.run(outage_row(twin, broker, sure, size, Path(d)))
            finally:
                fast.close()
                sure.close()
                broker.stop()
        return rows, outage, apply_cost(twin, 2)
    finally:
        twin.close()


def main(argv: list[str]) -> int:
    """Print the tables."""
    size = QUICK if "--quick" in argv else FULL
    if find_mosquitto() is None:
        print(table(["benchmark", "result"], [["mqtt_north", "skipped: mosquitto is not installed"]]))
        return 0
    logging.getLogger("twinbridge.mqtt_north").setLevel(logging.ERROR)  # the outage's reconnect warnings
    status_code("Good")  # asyncua's status table, loaded on first use (0.5 s): not the service's cost per value
    rows, outage, apply_us = run(size)
    print(f"The twin as a UNS through a local mosquitto, {size.points:,} points x {size.rounds} values, counted by a")
    print("subscriber in another process (values/s per core: values over this process's CPU seconds):\n")
    print(table(HEADERS, rows))
    print(f"\n(the twinbridge rows include driving the twin: twin.apply alone is {apply_us:.1f} µs CPU per value)\n")
    print(f"Broker outage under load (QoS 1, {size.points:,} points):\n")
    print(table(OUTAGE_HEADERS, [outage[0]]))
    print(f"\n({outage[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
