"""An independent Sparkplug B host application for the tests, written only on the generated protobuf schema
(``sparkplug_b_pb2``) and paho, none of twinbridge's codec or edge code, so it checks the edge node the way a SCADA
host such as Ignition would: it publishes its STATE (retained, with an offline will), tracks each node's bdSeq,
seq, births and aliases, decodes DDATA by alias with its datatype, records NDEATH/DDEATH, and sends NCMD rebirth
requests and DCMD writes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho

from protocols.sparkplug import sparkplug_b_pb2 as pb

NS = "spBv1.0"
SIGNED_BITS = {1: 8, 2: 16, 3: 32, 4: 64}  # Int8..Int64 travel as two's complement in unsigned fields


def decode_value(m: Any, datatype: int) -> Any:
    """A metric's or property's value, by the datatype its birth gave."""
    if m.is_null:
        return None
    kind = m.WhichOneof("value")
    if kind is None:
        return None
    v = getattr(m, kind)
    if datatype in SIGNED_BITS and isinstance(v, int):
        bits = SIGNED_BITS[datatype]
        v &= (1 << bits) - 1
        if v >= 1 << (bits - 1):
            v -= 1 << bits
    return v


def decode_properties(m: Any) -> dict[str, tuple[int, Any]]:
    """A metric's properties: key -> (datatype, value)."""
    if not m.HasField("properties"):
        return {}
    props = m.properties
    assert len(props.keys) == len(props.values), "PropertySet keys and values differ in length"
    return {k: (v.type, decode_value(v, v.type)) for k, v in zip(props.keys, props.values, strict=True)}


@dataclass
class MetricValue:
    """One metric as a message carried it."""

    name: str
    value: Any
    timestamp: int
    historical: bool
    properties: dict[str, tuple[int, Any]]


@dataclass
class Born:
    """A birth certificate's metric."""

    name: str
    alias: int | None
    datatype: int
    properties: dict[str, tuple[int, Any]]
    value: Any


@dataclass
class Device:
    """A device as its last DBIRTH described it, and every value received for it."""

    metrics: dict[str, Born] = field(default_factory=dict)
    by_alias: dict[int, str] = field(default_factory=dict)
    data: list[MetricValue] = field(default_factory=list)
    online: bool = False


@dataclass
class Node:
    """An edge node as this host sees it."""

    bdseq: int | None = None
    seq: int | None = None
    online: bool = False
    metrics: dict[str, Born] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)
    deaths: list[int | None] = field(default_factory=list)  # bdSeq of each NDEATH received
    stale_deaths: list[int | None] = field(default_factory=list)  # NDEATH of an older session (ignored)
    problems: list[str] = field(default_factory=list)  # seq gaps, unknown aliases, DATA before birth
    log: list[tuple[str, str | None, int | None]] = field(default_factory=list)  # (type, device, seq) in order


class SparkplugHost:
    """A primary host application on a test broker (its own paho network thread)."""

    def __init__(self, port: int, host_id: str = "scada", group: str = "+") -> None:
        self.port = port
        self.host_id = host_id
        self.group = group
        self.nodes: dict[tuple[str, str], Node] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self.client: paho.Client | None = None

    # -- session ------------------------------------------------------------------------------------
    def start(self, *, online: bool = True) -> None:
        """Connect with the offline STATE as will, subscribe, then publish STATE online (retained)."""
        ts = int(time.time() * 1000)
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"host-{self.host_id}-{ts}")
        c.will_set(self.state_topic, json.dumps({"online": False, "timestamp": ts}), qos=1, retain=True)
        c.on_message = self._on_message
        c.on_connect = lambda *a: self._connected.set()
        c.connect("127.0.0.1", self.port, keepalive=30)
        c.loop_start()
        assert self._connected.wait(5), "the host could not connect"
        self.client = c
        c.subscribe(f"{NS}/{self.group}/#", qos=0)
        if online:
            self.set_online(True)

    @property
    def state_topic(self) -> str:
        return f"{NS}/STATE/{self.host_id}"

    def set_online(self, online: bool) -> None:
        """Publish this host's STATE (retained, QoS 1, a fresh timestamp)."""
        assert self.client is not None
        payload = json.dumps({"online": online, "timestamp": int(time.time() * 1000)})
        self.client.publish(self.state_topic, payload, qos=1, retain=True).wait_for_publish(5)

    def close(self) -> None:
        """Disconnect (after STATE offline) and stop the network thread."""
        if self.client is not None:
            self.set_online(False)
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    # -- commands ---------------------------------------------------------------------------------------
    def request_rebirth(self, group: str, node: str) -> None:
        """NCMD Node Control/Rebirth = true."""
        msg = pb.Payload(timestamp=int(time.time() * 1000))
        m = msg.metrics.add(name="Node Control/Rebirth", datatype=11, boolean_value=True)
        m.timestamp = msg.timestamp
        self._publish(f"{NS}/{group}/NCMD/{node}", msg)

    def write(self, group: str, node: str, device: str, name: str, value: Any, *, by_alias: bool = False) -> None:
        """DCMD writing a metric, by name or by the alias its DBIRTH gave, with the birth's datatype."""
        born = self.node(group, node).devices[device].metrics[name]
        msg = pb.Payload(timestamp=int(time.time() * 1000))
        m = msg.metrics.add(timestamp=msg.timestamp, datatype=born.datatype)
        if by_alias:
            assert born.alias is not None
            m.alias = born.alias
        else:
            m.name = name
        if born.datatype == 11:
            m.boolean_value = bool(value)
        elif born.datatype == 9:
            m.float_value = float(value)
        elif born.datatype == 10:
            m.double_value = float(value)
        elif born.datatype in (4, 8):
            m.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
        elif born.datatype in (1, 2, 3, 5, 6, 7):
            m.int_value = int(value) & 0xFFFFFFFF
        else:
            m.string_value = str(value)
        self._publish(f"{NS}/{group}/DCMD/{node}/{device}", msg)

    def _publish(self, topic: str, msg: Any) -> None:
        assert self.client is not None
        self.client.publish(topic, msg.SerializeToString(), qos=0).wait_for_publish(5)

    # -- what it saw ------------------------------------------------------------------------------------
    def node(self, group: str, node: str) -> Node:
        with self._lock:
            return self.nodes.setdefault((group, node), Node())

    def values(self, group: str, node: str, device: str, name: str, *, historical: bool | None = None) -> list[Any]:
        """Every value received for a metric (births and data), oldest first."""
        with self._lock:
            dev = self.nodes.get((group, node), Node()).devices.get(device)
            if dev is None:
                return []
            return [v.value for v in dev.data if v.name == name and (historical is None or v.historical == historical)]

    def count(self, group: str, node: str, kind: str) -> int:
        """How many messages of a type (NBIRTH, DDATA...) the node sent."""
        with self._lock:
            return sum(1 for k, _, _ in self.nodes.get((group, node), Node()).log if k == kind)

    async def wait(self, pred: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        """Poll ``pred`` until true or fail."""
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.02)

    # -- the host's message handling --------------------------------------------------------------------
    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if len(parts) < 4 or parts[2] in ("NCMD", "DCMD", "STATE"):
            return
        group, kind, node_id = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) > 4 else None
        msg = pb.Payload()
        msg.ParseFromString(message.payload)
        with self._lock:
            node = self.nodes.setdefault((group, node_id), Node())
            seq = msg.seq if msg.HasField("seq") else None
            node.log.append((kind, device, seq))
            self._handle(node, kind, device, seq, msg)

    def _handle(self, node: Node, kind: str, device: str | None, seq: int | None, msg: Any) -> None:
        if kind == "NDEATH":
            bd = next((decode_value(m, 4) for m in msg.metrics if m.name == "bdSeq"), None)
            if node.bdseq is not None and bd != node.bdseq:
                node.stale_deaths.append(bd)
                return
            node.deaths.append(bd)
            node.online = False
            for d in node.devices.values():
                d.online = False
            return
        if kind == "NBIRTH":
            node.seq, node.online, node.devices = seq, True, {}
            node.metrics = {m.name: self._born(m) for m in msg.metrics}
            node.bdseq = node.metrics["bdSeq"].value
            return
        if not node.online:
            node.problems.append(f"{kind} of {device} while the node is not born")
        elif seq is None or node.seq is None or seq != (node.seq + 1) % 256:
            node.problems.append(f"{kind} seq {seq} after {node.seq}")
        node.seq = seq
        assert device is not None
        if kind == "DBIRTH":
            dev = node.devices[device] = Device(online=True)
            for m in msg.metrics:
                born = dev.metrics[m.name] = self._born(m)
                if born.alias is not None:
                    if born.alias in dev.by_alias or any(born.alias in d.by_alias for d in node.devices.values()):
                        node.problems.append(f"alias {born.alias} of {m.name} is not unique")
                    dev.by_alias[born.alias] = m.name
                dev.data.append(MetricValue(m.name, born.value, m.timestamp, False, born.properties))
        elif kind == "DDEATH":
            node.devices.setdefault(device, Device()).online = False
        elif kind == "DDATA":
            known = node.devices.get(device)
            if known is None:
                node.problems.append(f"DDATA of {device} before its DBIRTH")
                return
            for m in msg.metrics:
                name = m.name or known.by_alias.get(m.alias)
                if name is None:
                    node.problems.append(f"DDATA alias {m.alias} of {device} is not in its DBIRTH")
                    continue
                value = decode_value(m, known.metrics[name].datatype)
                known.data.append(MetricValue(name, value, m.timestamp, m.is_historical, decode_properties(m)))

    @staticmethod
    def _born(m: Any) -> Born:
        alias = m.alias if m.HasField("alias") else None
        return Born(m.name, alias, m.datatype, decode_properties(m), decode_value(m, m.datatype))
