"""Sparkplug B on the wire: topics, datatypes, and payload encoding and decoding, shared by the MQTT source
(a host application) and the northbound edge node. No I/O here.

An edge node announces itself with NBIRTH (its metrics, their aliases and datatypes, a ``bdSeq``) and each of its
devices with DBIRTH; NDATA/DDATA then carry values by alias. Every message of a node session has a sequence
number 0..255 that wraps; a gap, or an alias/node the host has never seen (e.g. births were published before the
gateway started and were not retained), means the host's picture is stale, so it asks for a rebirth
(NCMD ``Node Control/Rebirth`` = true). NDEATH (the node's MQTT will, matched by ``bdSeq``) and DDEATH mark
the node's or device's metrics offline.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import DecodeError

from adapters.contract.model import DataType
from adapters.contract.sample import Value
from protocols.sparkplug import sparkplug_b_pb2 as pb

Payload = pb.Payload
Metric = pb.Payload.Metric
REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"

# Sparkplug datatype codes -> (name, twinbridge datatype); codes without a datatype are not mapped to points.
DATATYPES: dict[int, tuple[str, DataType | None]] = {
    1: ("Int8", DataType.INT16),
    2: ("Int16", DataType.INT16),
    3: ("Int32", DataType.INT32),
    4: ("Int64", DataType.INT64),
    5: ("UInt8", DataType.UINT16),
    6: ("UInt16", DataType.UINT16),
    7: ("UInt32", DataType.UINT32),
    8: ("UInt64", DataType.UINT64),
    9: ("Float", DataType.FLOAT),
    10: ("Double", DataType.DOUBLE),
    11: ("Boolean", DataType.BOOL),
    12: ("String", DataType.STRING),
    13: ("DateTime", DataType.INT64),  # ms since the epoch
    14: ("Text", DataType.STRING),
    15: ("UUID", DataType.STRING),
    16: ("DataSet", None),
    17: ("Bytes", None),
    18: ("File", None),
    19: ("Template", None),
}
_SIGNED_BITS = {1: 8, 2: 16, 3: 32, 4: 64}
# the code a written value is sent as when no birth told the metric's type
_CODE_OF = {
    DataType.BOOL: 11,
    DataType.INT16: 2,
    DataType.UINT16: 6,
    DataType.INT32: 3,
    DataType.UINT32: 7,
    DataType.INT64: 4,
    DataType.UINT64: 8,
    DataType.FLOAT: 9,
    DataType.DOUBLE: 10,
    DataType.STRING: 12,
}
SPARKPLUG_NS = "spBv1.0"
# The one standard property key (Sparkplug 3.0, "Quality Codes"): an Int32 of 0 (BAD), 192 (GOOD) or 500 (STALE),
# sent only when the value is not GOOD.
QUALITY_PROPERTY = "Quality"
QUALITY_BAD, QUALITY_GOOD, QUALITY_STALE = 0, 192, 500
MESSAGE_TYPES = frozenset({"NBIRTH", "NDEATH", "DBIRTH", "DDEATH", "NDATA", "DDATA", "NCMD", "DCMD"})


class SparkplugError(ValueError):
    """A Sparkplug payload that cannot be decoded or a value that cannot be encoded."""


@dataclass(frozen=True, slots=True)
class SpTopic:
    """A parsed ``spBv1.0/<group>/<type>/<node>[/<device>]`` topic."""

    group: str
    type: str
    node: str
    device: str | None


def parse_topic(topic: str) -> SpTopic | None:
    """The parts of a Sparkplug B topic, or None for anything else (STATE, other namespaces)."""
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != SPARKPLUG_NS or parts[2] not in MESSAGE_TYPES:
        return None
    device = parts[4] if len(parts) == 5 else None
    if (device is None) != parts[2].startswith("N"):
        return None
    return SpTopic(parts[1], parts[2], parts[3], device)


def decode(payload: bytes) -> Payload:
    """Parse a Sparkplug B payload; ``SparkplugError`` when it is not one."""
    msg = Payload()
    try:
        msg.ParseFromString(payload)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise SparkplugError(f"undecodable Sparkplug B payload ({len(payload)} bytes): {exc}") from None
    return msg


def metric_value(m: Any, code: int) -> Value:
    """A metric's value as a Python value (signed integers decoded from their two's complement)."""
    if m.is_null:
        return None
    kind = m.WhichOneof("value")
    if kind is None:
        return None
    v = getattr(m, kind)
    if kind in ("int_value", "long_value") and code in _SIGNED_BITS:
        bits = _SIGNED_BITS[code]
        v &= (1 << bits) - 1
        if v >= 1 << (bits - 1):
            v -= 1 << bits
    if kind in ("bytes_value", "dataset_value", "template_value", "extension_value"):
        raise SparkplugError(f"{DATATYPES.get(code, ('type ' + str(code),))[0]} values are not mapped to points")
    return v


def infer_code(m: Any) -> int:
    """A datatype code from which value field is set (for metrics that came without one)."""
    return {
        "int_value": 3,
        "long_value": 4,
        "float_value": 9,
        "double_value": 10,
        "boolean_value": 11,
        "string_value": 12,
        "bytes_value": 17,
        "dataset_value": 16,
        "template_value": 19,
    }.get(m.WhichOneof("value") or "", 0)


def _as_int(value: Value) -> int:
    # ints stay exact (a float would round 2**64-1 up); floats are rounded as the write path promises
    return int(value) if isinstance(value, int) else round(float(value))  # type: ignore[arg-type]


def set_value(m: Any, code: int, value: Value) -> None:
    """Store ``value`` in the field the Sparkplug datatype ``code`` uses."""
    if value is None:
        m.is_null = True
        return
    try:
        if code in (1, 2, 3, 5, 6, 7):
            bits = _SIGNED_BITS.get(code)
            iv = _as_int(value)
            lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if bits else (0, (1 << {5: 8, 6: 16, 7: 32}[code]) - 1)
            if not lo <= iv <= hi:
                raise SparkplugError(f"{value} does not fit a Sparkplug {DATATYPES[code][0]}")
            m.int_value = iv & 0xFFFFFFFF
        elif code in (4, 8, 13):
            iv = _as_int(value)
            lo, hi = (-(1 << 63), (1 << 63) - 1) if code == 4 else (0, (1 << 64) - 1)
            if not lo <= iv <= hi:
                raise SparkplugError(f"{value} does not fit a Sparkplug {DATATYPES[code][0]}")
            m.long_value = iv & 0xFFFFFFFFFFFFFFFF
        elif code == 9:
            m.float_value = float(value)
        elif code == 10:
            m.double_value = float(value)
        elif code == 11:
            m.boolean_value = bool(value)
        elif code in (12, 14, 15):
            m.string_value = value if isinstance(value, str) else str(value)
        else:
            raise SparkplugError(f"cannot write a Sparkplug {DATATYPES.get(code, (str(code),))[0]} metric")
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SparkplugError):
            raise
        raise SparkplugError(f"cannot encode {value!r} as a Sparkplug {DATATYPES.get(code, (str(code),))[0]}") from None


def code_for(datatype: DataType) -> int:
    """The Sparkplug datatype code a twinbridge datatype is written as."""
    return _CODE_OF[datatype]


def command_payload(metrics: Iterable[tuple[str, int | None, int, Value]], now_ms: int | None = None) -> bytes:
    """An NCMD/DCMD payload writing ``(name, alias, datatype code, value)`` metrics."""
    msg = Payload(timestamp=now_ms if now_ms is not None else int(time.time() * 1000))
    for name, alias, code, value in metrics:
        m = msg.metrics.add()
        m.name = name
        if alias is not None:
            m.alias = alias
        m.datatype = code
        m.timestamp = msg.timestamp
        set_value(m, code, value)
    return msg.SerializeToString()


def rebirth_request(group: str, node: str) -> tuple[str, bytes]:
    """Topic and payload asking an edge node to publish its births again."""
    return f"{SPARKPLUG_NS}/{group}/NCMD/{node}", command_payload([(REBIRTH_METRIC, None, 11, True)])


def ms_to_datetime(ms: int) -> datetime | None:
    """A UTC datetime from a Sparkplug ms timestamp (None for 0 or absurd values)."""
    if ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000.0, UTC)
    except (OverflowError, OSError, ValueError):
        return None


# -- edge node side: metrics with properties, deaths -----------------------------------------------


def quality_code(status: str) -> int:
    """The Sparkplug quality of an OPC UA status name: Good* -> 192 (GOOD), Uncertain* -> 500 (STALE: the value
    may no longer be current, e.g. UncertainLastUsableValue), anything else -> 0 (BAD)."""
    if status.startswith("Good"):
        return QUALITY_GOOD
    if status.startswith("Uncertain"):
        return QUALITY_STALE
    return QUALITY_BAD


def set_property(props: Any, key: str, code: int, value: Value) -> None:
    """Append ``key`` = ``value`` (a Sparkplug datatype ``code``) to a PropertySet."""
    pv = props.values.add()
    pv.type = code
    set_value(pv, code, value)  # PropertyValue's value fields have the Metric's names
    props.keys.append(key)


def properties_of(m: Any) -> dict[str, Value]:
    """A metric's properties as plain values (nested property sets are left out)."""
    out: dict[str, Value] = {}
    if not m.HasField("properties"):
        return out
    for key, pv in zip(m.properties.keys, m.properties.values, strict=False):
        if pv.WhichOneof("value") in ("propertyset_value", "propertysets_value", "extension_value"):
            continue
        out[key] = metric_value(pv, pv.type)
    return out


def add_metric(
    msg: Any,
    code: int,
    value: Value,
    ts_ms: int,
    *,
    name: str | None = None,
    alias: int | None = None,
    birth: bool = False,
    historical: bool = False,
) -> Any:
    """Append a metric to a payload: births carry the name, alias and datatype; data messages only the alias
    (Sparkplug 3.0: datatype and name are left out of NDATA/DDATA when aliases are used)."""
    m = msg.metrics.add()
    if name is not None and (birth or alias is None):
        m.name = name
    if alias is not None:
        m.alias = alias
    if birth or alias is None:
        m.datatype = code
    m.timestamp = ts_ms
    if historical:
        m.is_historical = True
    set_value(m, code, value)
    return m


def death_payload(bdseq: int, now_ms: int | None = None) -> bytes:
    """An NDEATH payload: only the ``bdSeq`` (Int64) of the session it ends."""
    msg = Payload(timestamp=now_ms if now_ms is not None else int(time.time() * 1000))
    add_metric(msg, 4, bdseq, msg.timestamp, name=BDSEQ_METRIC, birth=True)
    return msg.SerializeToString()


def datetime_to_ms(ts: datetime | None) -> int | None:
    """A Sparkplug ms timestamp from a datetime (None stays None)."""
    return None if ts is None else int(ts.timestamp() * 1000)
