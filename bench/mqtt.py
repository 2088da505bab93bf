"""MQTT: messages per second decoded into samples (and into the twin), JSON and Sparkplug B.

Decode rows feed pre-built messages straight into the adapter's router (topic lookup, payload decode, value
checks, sample production), with no broker, so they measure the adapter's own cost: JSON messages of 4 values
(JSON paths plus a timestamp field) on 1,000 rule-discovered sensor topics, and Sparkplug B DDATA of 4 metrics by
alias from 250 devices. "into the twin" adds the pipeline and ``twin.apply`` (with the periodic flush), i.e.
the whole in-process path behind a broker. Baselines in the same run: ``json.loads`` / ``Payload.FromString``
of the same payloads and nothing else (the floor any decoder pays). The broker row (when the mosquitto binary
exists) publishes QoS 0 JSON messages from another process through a real mosquitto and counts samples out of
``samples()``; its baseline is a bare aiomqtt client counting the same messages.

    python -m bench mqtt [--quick]        (or python -m bench.mqtt)
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiomqtt

from adapters.contract.adapter import AdapterContext
from adapters.contract.model import Asset, Point
from adapters.mqtt.adapter import MqttAdapter
from adapters.mqtt.config import MqttSourceConfig
from bench.common import table
from gateway.config.fragments import FragmentDiscovery
from gateway.config.profiles import ProfileLibrary, ProfileView, builtin_profile_dir
from gateway.ingest.pipeline import Pipeline
from gateway.model import TwinModel, TwinSettings
from gateway.twin.twin import Twin
from protocols.sparkplug import sparkplug_b_pb2 as pb

RULE = {"id": "env", "topic": "plant/{area}/{sensor}/telemetry", "profile": "mqtt-env-sensor"}
SP_RULE = {"id": "sp", "payload": "sparkplug", "group": "G"}


def _json_messages(n: int, topics: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        k = i % topics
        doc = {
            "temp": 20 + (i % 100) / 10,
            "hum": 40 + (i % 7),
            "co2": 400 + i % 300,
            "sp": 21.0,
            "ts": 1718000000000 + i,
            "status": "ok",
        }
        out.append((f"plant/area{k // 50}/s{k}/telemetry", json.dumps(doc).encode()))
    return out


def _sp_births(devices: int) -> list[tuple[str, bytes]]:
    out = []
    for d in range(devices):
        node, dev = f"n{d // 10}", f"d{d}"
        if d % 10 == 0:
            p = pb.Payload(timestamp=1, seq=0)
            out.append((f"spBv1.0/G/NBIRTH/{node}", p.SerializeToString()))
        p = pb.Payload(timestamp=1, seq=(d % 10) + 1)
        for a, name in enumerate(("Temp", "Pressure", "Flow", "Level")):
            m = p.metrics.add(name=name, alias=a, datatype=10)
            m.double_value = 0.0
        out.append((f"spBv1.0/G/DBIRTH/{node}/{dev}", p.SerializeToString()))
    return out


def _sp_messages(n: int, devices: int) -> list[tuple[str, bytes]]:
    seqs = {f"n{d // 10}": 10 for d in range(devices)}  # after NBIRTH 0 and 10 DBIRTHs
    out = []
    for i in range(n):
        d = i % devices
        node = f"n{d // 10}"
        seqs[node] = (seqs[node] + 1) % 256
        p = pb.Payload(timestamp=1718000000000 + i, seq=seqs[node])
        for a in range(4):
            m = p.metrics.add(alias=a, datatype=10)
            m.double_value = i + a / 10
        out.append((f"spBv1.0/G/DDATA/{node}/d{d}", p.SerializeToString()))
    return out


class _Sink:
    """A twin for discovered points: the discover callback the gateway would provide, minus the gateway."""

    def __init__(self, rule: dict[str, Any]) -> None:
        self.model = TwinModel(settings=TwinSettings(base_iri="http://bench.local/"))
        self.model.sources["mq"] = MqttSourceConfig.model_validate(
            {"id": "mq", "url": "mqtt://127.0.0.1:1", "rules": [rule]}
        )
        self.twin = Twin(self.model)
        self.pipeline = Pipeline([])

    def discover(self, assets: Sequence[Asset], points: Sequence[Point]) -> list[Point]:
        new_a = [a for a in assets if a.id not in self.model.assets]
        new_p = [p for p in points if p.id not in self.model.points]
        self.twin.add(new_a, new_p)
        self.pipeline.add_points(new_p)
        return new_p


def _adapter(
    rule: dict[str, Any], on_add: Callable[..., object] | None, url: str = "mqtt://127.0.0.1:1", **cfg: Any
) -> MqttAdapter:
    """The adapter with the core's discovery (the loader's point builder) as the gateway would hand it."""
    lib = ProfileLibrary()
    lib.add_dir(builtin_profile_dir())
    config = MqttSourceConfig.model_validate({"id": "mq", "url": url, "rules": [rule], **cfg})
    found = FragmentDiscovery.standalone(config, lib, on_add)
    a = MqttAdapter(config, [], AdapterContext(logging.getLogger("bench.mqtt"), ProfileView(lib), found))
    a._build_factories()
    return a


def _rate(n: int, fn: Callable[[], Any]) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    return n / dt, dt


def _kind_rows(
    kind: str,
    rule: dict[str, Any],
    warm: list[tuple[str, bytes]],
    msgs: list[tuple[str, bytes]],
    *,
    base_name: str,
    base: Callable[[bytes], Any],
) -> list[list[object]]:
    n = len(msgs)
    payloads = [p for _, p in msgs]
    rate, _ = _rate(n, lambda: [base(p) for p in payloads])
    rows: list[list[object]] = [[kind, base_name, f"{rate:,.0f}", "-", "-"]]

    a = _adapter(rule, None)
    for t, p in warm:  # discovery happens on the first message per topic/birth, outside the timing
        a.router.handle(t, p)
    handle = a.router.handle
    count = 0

    def run() -> None:
        nonlocal count
        for t, p in msgs:
            count += len(handle(t, p))

    rate, dt = _rate(n, run)
    rows.append([kind, "adapter: decode -> samples", f"{rate:,.0f}", f"{count / dt:,.0f}", f"{1e6 / rate:.1f}"])

    sink = _Sink(rule)
    a = _adapter(rule, sink.discover)
    for t, p in warm:
        a.router.handle(t, p)
    handle = a.router.handle
    process, apply, twin = sink.pipeline.process, sink.twin.apply, sink.twin

    def run_twin() -> None:
        next_flush = time.perf_counter() + 0.25
        for i, (t, p) in enumerate(msgs):
            for s in handle(t, p):
                out = process(s)
                if out is not None:
                    apply(out)
            if i & 1023 == 0 and time.perf_counter() >= next_flush:
                twin.flush()
                next_flush = time.perf_counter() + 0.25
        twin.flush()

    rate, dt = _rate(n, run_twin)
    rows.append([kind, "adapter + pipeline + twin", f"{rate:,.0f}", f"{rate * 4:,.0f}", f"{1e6 / rate:.1f}"])
    twin.close()
    return rows


def decode_rows(n: int, topics: int) -> list[list[object]]:
    """Baselines, router decode and into-the-twin rows for JSON and Sparkplug B."""
    logging.getLogger("bench.mqtt").setLevel(logging.WARNING)
    rows = _kind_rows(
        "JSON (4 values + ts)",
        RULE,
        _json_messages(topics, topics),
        _json_messages(n, topics),
        base_name="baseline: json.loads only",
        base=json.loads,
    )
    rows += _kind_rows(
        "Sparkplug B DDATA (4 metrics)",
        SP_RULE,
        _sp_births(topics // 4),
        _sp_messages(n, topics // 4),
        base_name="baseline: Payload.FromString only",
        base=pb.Payload.FromString,
    )
    return rows


# -- through a real broker ---------------------------------------------------------------------------


def _publisher(port: int, n: int, topics: int, go: Any) -> None:
    import paho.mqtt.client as paho

    msgs = _json_messages(n, topics)
    c = paho.Client(paho.CallbackAPIVersion.VERSION2)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    go.wait()
    for t, p in msgs:
        c.publish(t, p, qos=0)
    time.sleep(0.5)
    c.loop_stop()
    c.disconnect()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _through_broker(port: int, n: int, topics: int, bare: bool) -> float:
    """Messages/s out of the broker: the adapter's samples(), or a bare aiomqtt client (baseline)."""
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    proc = ctx.Process(target=_publisher, args=(port, n, topics, go), daemon=True)
    proc.start()
    got = 0
    t0 = t1 = 0.0
    deadline = 60.0
    if bare:
        async with aiomqtt.Client("127.0.0.1", port, max_queued_incoming_messages=0) as c:
            await c.subscribe("plant/+/+/telemetry")
            go.set()
            async for _ in c.messages:
                if got == 0:
                    t0 = time.perf_counter()
                got += 1
                t1 = time.perf_counter()
                if got >= n or t1 - t0 > deadline:
                    break
    else:
        a = _adapter(RULE, None, url=f"mqtt://127.0.0.1:{port}", qos=0)
        for t, p in _json_messages(topics, topics):  # discover every topic first, as in the decode rows
            a.router.handle(t, p)
        await a.start()
        go.set()
        async for _ in a.samples():
            if got == 0:
                t0 = time.perf_counter()
            got += 1
            t1 = time.perf_counter()
            if got >= n * 4 or t1 - t0 > deadline:
                break
        await a.stop()
        got //= 4
    proc.join(10)
    return got / (t1 - t0) if t1 > t0 else float("nan")


def broker_rows(n: int, topics: int) -> list[list[object]]:
    """Rows through a mosquitto process, when the binary exists."""
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if exe is None:
        return []
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as d:
        port = _free_port()
        conf = Path(d) / "m.conf"
        user = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\n{user}max_queued_messages 0\n"
            "max_inflight_messages 0\nlog_type none\n"
        )
        broker = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.1).close()
                    break
                except OSError:
                    time.sleep(0.02)
            bare = asyncio.run(_through_broker(port, n, topics, bare=True))
            rows.append(["JSON via mosquitto", "baseline: bare aiomqtt client", f"{bare:,.0f}", "-", "-"])
            full = asyncio.run(_through_broker(port, n, topics, bare=False))
            rows.append(
                ["JSON via mosquitto", "adapter samples()", f"{full:,.0f}", f"{full * 4:,.0f}", f"{1e6 / full:.1f}"]
            )
        finally:
            broker.send_signal(signal.SIGTERM)
            broker.wait(5)
    return rows


def main(argv: list[str]) -> int:
    """Print the table."""
    quick = "--quick" in argv
    n, topics = (2_000, 200) if quick else (200_000, 1000)
    rows = decode_rows(n, topics)
    rows += broker_rows(n // 4 if quick else n // 2, topics)
    print(
        f"MQTT adapter, {n:,} messages per decode row ({topics:,} JSON topics / {topics // 4} Sparkplug devices), "
        "1 core:\n"
    )
    print(table(["payload", "path", "messages/s", "samples/s", "us/message"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
