"""The session state a Sparkplug B host application keeps per edge node (the wire format: protocols.sparkplug)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.contract.sample import Value
from protocols.sparkplug.codec import (
    BDSEQ_METRIC,
    SparkplugError,
    SpTopic,
    infer_code,
    metric_value,
    ms_to_datetime,
)

# -- host-side session state ----------------------------------------------------------------------


@dataclass
class MetricTable:
    """What a birth said about one node's or device's metrics."""

    by_alias: dict[int, str] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    online: bool = False


@dataclass
class NodeSession:
    """One edge node as this host knows it."""

    seq: int | None = None
    bdseq: int | None = None
    node: MetricTable = field(default_factory=MetricTable)
    devices: dict[str, MetricTable] = field(default_factory=dict)
    last_rebirth: float = float("-inf")


@dataclass(frozen=True, slots=True)
class MetricUpdate:
    """A metric value a message carried."""

    device: str | None
    name: str
    code: int
    value: Value
    ts: datetime | None
    problem: str | None = None  # the value could not be read (unsupported type...)


@dataclass
class SpResult:
    """What one Sparkplug message means for the points."""

    updates: list[MetricUpdate] = field(default_factory=list)
    births: dict[str | None, dict[str, int]] = field(default_factory=dict)  # device (None: node) -> name -> code
    dead: list[str | None] = field(default_factory=list)  # devices gone offline (None: the node and all devices)
    rebirth: str | None = None  # why a rebirth should be requested
    problems: list[tuple[str, str]] = field(default_factory=list)  # (kind, reason)
    ts: datetime | None = None


def _bdseq(msg: Any) -> int | None:
    for m in msg.metrics:
        if m.name == BDSEQ_METRIC:
            v = metric_value(m, m.datatype or infer_code(m))
            return int(v) if isinstance(v, int) else None
    return None


class SparkplugTracker:
    """Node sessions by (group, node); turns decoded messages into updates, deaths and rebirth requests."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[str, str], NodeSession] = {}

    def session(self, group: str, node: str) -> NodeSession:
        """The session of a node (created empty when unknown)."""
        key = (group, node)
        s = self.nodes.get(key)
        if s is None:
            s = self.nodes[key] = NodeSession()
        return s

    def alias_of(self, group: str, node: str, device: str | None, name: str) -> tuple[int | None, int | None]:
        """The alias and datatype code a birth gave a metric (None when unknown)."""
        s = self.nodes.get((group, node))
        if s is None:
            return None, None
        table = s.node if device is None else s.devices.get(device)
        if table is None:
            return None, None
        return table.aliases.get(name), table.codes.get(name)

    def handle(self, t: SpTopic, msg: Any) -> SpResult:
        """Apply one decoded message to the node's session."""
        res = SpResult(ts=ms_to_datetime(msg.timestamp) if msg.HasField("timestamp") else None)
        s = self.session(t.group, t.node)
        kind = t.type
        if kind in ("NCMD", "DCMD"):
            return res  # our own (or another host's) commands
        if kind == "NDEATH":
            bd = _bdseq(msg)
            if bd is not None and s.bdseq is not None and bd != s.bdseq:
                res.problems.append(("stale_death", f"NDEATH with bdSeq {bd} of an old session (now {s.bdseq})"))
                return res
            s.node.online = False
            for d in s.devices.values():
                d.online = False
            s.seq = None
            res.dead.append(None)
            return res
        # every other message carries the session's sequence number
        seq = msg.seq if msg.HasField("seq") else None
        if kind == "NBIRTH":
            s.seq = seq
            s.bdseq = _bdseq(msg)
            s.node = MetricTable(online=True)
            s.devices = {}
            res.births[None] = self._birth(s.node, None, msg, res)
            return res
        if seq is None:
            res.problems.append(("seq_gap", f"{kind} without a sequence number"))
        elif s.seq is None:
            res.rebirth = f"{kind} from a node whose NBIRTH was not seen"
        elif seq != (s.seq + 1) % 256:
            res.problems.append(("seq_gap", f"{kind} seq {seq} after {s.seq} (expected {(s.seq + 1) % 256})"))
            res.rebirth = f"sequence gap ({s.seq} -> {seq})"
        if seq is not None:
            s.seq = seq
        if kind == "DBIRTH":
            assert t.device is not None
            born = s.devices[t.device] = MetricTable(online=True)
            res.births[t.device] = self._birth(born, t.device, msg, res)
            return res
        if kind == "DDEATH":
            assert t.device is not None
            dev = s.devices.get(t.device)
            if dev is not None:
                dev.online = False
            res.dead.append(t.device)
            return res
        table = s.node if t.device is None else s.devices.get(t.device)  # NDATA / DDATA
        if table is None:
            table = MetricTable()
            res.rebirth = res.rebirth or f"DDATA from device {t.device} whose DBIRTH was not seen"
        self._data(table, t.device, msg, res)
        return res

    def _birth(self, table: MetricTable, device: str | None, msg: Any, res: SpResult) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in msg.metrics:
            if not m.name:
                res.problems.append(("bad_birth", "a birth metric without a name"))
                continue
            code = m.datatype or infer_code(m)
            table.codes[m.name] = code
            if m.HasField("alias"):
                table.by_alias[m.alias] = m.name
                table.aliases[m.name] = m.alias
            out[m.name] = code
            self._update(device, m.name, code, m, res)
        return out

    def _data(self, table: MetricTable, device: str | None, msg: Any, res: SpResult) -> None:
        for m in msg.metrics:
            name = m.name or None
            if name is None and m.HasField("alias"):
                name = table.by_alias.get(m.alias)
            if name is None:
                res.problems.append(("unknown_alias", f"metric alias {m.alias} is not in the birth certificate"))
                res.rebirth = res.rebirth or f"unknown alias {m.alias}"
                continue
            code = m.datatype or table.codes.get(name) or infer_code(m)
            self._update(device, name, code, m, res)

    @staticmethod
    def _update(device: str | None, name: str, code: int, m: Any, res: SpResult) -> None:
        if m.is_historical:
            return  # history fills gaps in archives; it must not overwrite the live value
        ts = ms_to_datetime(m.timestamp) if m.HasField("timestamp") else res.ts
        try:
            value = metric_value(m, code)
        except SparkplugError as exc:
            res.updates.append(MetricUpdate(device, name, code, None, ts, str(exc)))
            return
        res.updates.append(MetricUpdate(device, name, code, value, ts))
