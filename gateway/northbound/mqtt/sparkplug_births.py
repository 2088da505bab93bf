"""What the Sparkplug edge node says about the twin: devices, metrics, aliases, properties, and the payloads
(NBIRTH, DBIRTH, DDATA) built from them. No I/O: ``sparkplug_edge`` publishes them.

One Sparkplug device per asset with published points (device id: the asset id, sanitized), one metric per point
(name: its id within the asset). A metric's alias is derived from its point id alone (a hash), so a rebirth, a
restart or a point added at run time never moves another point's alias.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from adapters.contract.model import Asset, Point
from adapters.contract.sample import PointState, Quality, Value
from gateway.units import get_unit
from protocols.sparkplug import codec
from protocols.sparkplug.codec import Payload

log = logging.getLogger("twinbridge.mqtt.sparkplug")

VERSION_METRIC = "Node Info/Version"
DEVICE_LABEL_METRIC = "Device Info/Label"
DEVICE_IRI_METRIC = "Device Info/IRI"
MAX_METRICS_PER_DATA = 500  # a long replay is split so one DDATA stays a modest MQTT message
_STRING, _BOOLEAN, _DOUBLE, _INT32 = 12, 11, 10, 3
_ALIAS_BITS = 48  # stays exact in hosts that hold aliases in a double (JavaScript)

PropertyDef = tuple[str, int, Value]  # key, Sparkplug datatype code, value


def sanitize_id(text: str) -> str:
    """A Sparkplug id (group, node or device) from any text: ``/ + #``, white space and control characters
    become ``_``."""
    out = "".join("_" if c in "/+#" or c.isspace() or not c.isprintable() else c for c in text)
    return out or "_"


def alias_of(point_id: str) -> int:
    """The alias a point's metric is born with: a 48-bit hash of its id, never 0."""
    digest = hashlib.blake2b(point_id.encode(), digest_size=_ALIAS_BITS // 8).digest()
    return int.from_bytes(digest, "big") or 1


def sparkplug_code(point: Point) -> int | None:
    """The Sparkplug datatype a point's values are published as (None: none carries it)."""
    try:
        return codec.code_for(point.datatype)
    except KeyError:
        return None


def static_properties(point: Point) -> tuple[PropertyDef, ...]:
    """A point's unit, range, writability and description, as Ignition reads metric properties: ``engUnit``
    (the symbol), ``qudtUnit`` (the QUDT unit name), ``engLow``/``engHigh`` (min/max), ``readOnly``,
    ``documentation``."""
    props: list[PropertyDef] = []
    if point.unit:
        unit = get_unit(point.unit)
        props.append(("engUnit", _STRING, (unit.symbol if unit and unit.symbol else None) or point.unit))
        props.append(("qudtUnit", _STRING, unit.name if unit else point.unit))
    if point.min is not None:
        props.append(("engLow", _DOUBLE, float(point.min)))
    if point.max is not None:
        props.append(("engHigh", _DOUBLE, float(point.max)))
    props.append(("readOnly", _BOOLEAN, not point.writable))
    if point.description or point.label:
        props.append(("documentation", _STRING, point.description or point.label))
    return tuple(props)


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One point as a metric of its device."""

    point: str
    name: str
    alias: int
    code: int
    properties: tuple[PropertyDef, ...]


@dataclass
class DeviceDef:
    """One asset as a Sparkplug device."""

    id: str
    asset: str
    label: str
    metrics: dict[str, MetricDef] = field(default_factory=dict)  # by point id
    by_name: dict[str, MetricDef] = field(default_factory=dict)
    by_alias: dict[int, MetricDef] = field(default_factory=dict)


class Catalog:
    """The devices and metrics of the edge node; grows when points are added at run time."""

    def __init__(self) -> None:
        self.devices: dict[str, DeviceDef] = {}
        self.by_point: dict[str, tuple[DeviceDef, MetricDef]] = {}
        self._device_of_asset: dict[str, str] = {}
        self._aliases: set[int] = set()
        self.skipped: dict[str, str] = {}  # point id -> why it is not published

    def add(self, points: Iterable[Point], assets: Mapping[str, Asset]) -> list[str]:
        """Add points (already known ones are ignored); the ids of the devices that gained metrics."""
        changed: list[str] = []
        for point in sorted(points, key=lambda p: p.id):  # sorted: alias probing is deterministic
            if point.id in self.by_point or point.id in self.skipped:
                continue
            device = self._device(point, assets)
            if device is None:
                continue
            code = sparkplug_code(point)
            if code is None:
                self._skip(point.id, f"Sparkplug has no datatype for {point.datatype}")
                continue
            name = point.local_id or point.id
            if name in device.by_name:
                self._skip(point.id, f"metric name '{name}' is already used in device '{device.id}'")
                continue
            alias = alias_of(point.id)
            while alias in self._aliases:  # a 48-bit hash collision: rare, resolved in id order
                alias = alias % ((1 << _ALIAS_BITS) - 1) + 1
            self._aliases.add(alias)
            metric = MetricDef(point.id, name, alias, code, static_properties(point))
            device.metrics[point.id] = metric
            device.by_name[name] = metric
            device.by_alias[alias] = metric
            self.by_point[point.id] = (device, metric)
            if device.id not in changed:
                changed.append(device.id)
        return changed

    def _device(self, point: Point, assets: Mapping[str, Asset]) -> DeviceDef | None:
        known = self._device_of_asset.get(point.asset)
        if known is not None:
            return self.devices[known]
        device_id = sanitize_id(point.asset)
        if device_id in self.devices:
            self._skip(point.id, f"device id '{device_id}' is already used by asset '{self.devices[device_id].asset}'")
            return None
        asset = assets.get(point.asset)
        device = DeviceDef(device_id, point.asset, asset.label if asset else point.asset)
        self.devices[device_id] = device
        self._device_of_asset[point.asset] = device_id
        return device

    def _skip(self, point_id: str, why: str) -> None:
        self.skipped[point_id] = why
        log.warning("Sparkplug: point %s is not published: %s", point_id, why)


# -- payloads ---------------------------------------------------------------------------------------


def now_ms() -> int:
    """The current time in Sparkplug ms."""
    return int(time.time() * 1000)


def _ts_ms(state: PointState, fallback: int) -> int:
    ts = state.source_ts or state.gateway_ts
    return int(ts.timestamp() * 1000) if ts is not None else fallback


def _put_value(
    m: MetricDef, msg: Payload, state: PointState, ts: int, *, birth: bool, historical: bool
) -> tuple[Payload.Metric, PointState]:
    """Append the metric; a value its datatype cannot hold is sent as null with BAD quality (and logged), so the
    returned state is the one the host is told about."""
    try:
        metric = codec.add_metric(
            msg, m.code, state.value, ts, name=m.name, alias=m.alias, birth=birth, historical=historical
        )
        return metric, state
    except codec.SparkplugError as exc:
        log.warning("Sparkplug: %s = %r cannot be sent: %s", m.point, state.value, exc)
        metric = msg.metrics[-1]
        metric.is_null = True
        bad = PointState(m.point, None, state.source_ts, state.gateway_ts, Quality.BAD, "BadOutOfRange", str(exc))
        return metric, bad


def quality_of(state: PointState) -> int:
    """The Sparkplug quality code of a state (``codec.quality_code`` of its OPC UA status)."""
    return codec.QUALITY_GOOD if state.quality == Quality.GOOD else codec.quality_code(state.status)


def quality_properties(state: PointState, last_sent: int | None) -> list[PropertyDef]:
    """``Quality`` (and the OPC UA ``statusCode``) when the value is not Good; ``Quality`` 192 once when it turns
    Good again after a message said otherwise (hosts keep the last quality they were told)."""
    code = quality_of(state)
    if code == codec.QUALITY_GOOD:
        return [] if last_sent in (None, codec.QUALITY_GOOD) else [(codec.QUALITY_PROPERTY, _INT32, code)]
    return [(codec.QUALITY_PROPERTY, _INT32, code), ("statusCode", _STRING, state.status)]


def _put_properties(metric: Payload.Metric, props: Sequence[PropertyDef]) -> None:
    for key, code, value in props:
        codec.set_property(metric.properties, key, code, value)


def node_birth(bdseq: int, seq: int, version: str, ts: int | None = None) -> bytes:
    """NBIRTH: bdSeq (the will's), ``Node Control/Rebirth`` (false, no alias) and the gateway's version."""
    ts = ts if ts is not None else now_ms()
    msg = Payload(timestamp=ts, seq=seq)
    codec.add_metric(msg, 4, bdseq, ts, name=codec.BDSEQ_METRIC, birth=True)
    codec.add_metric(msg, _BOOLEAN, False, ts, name=codec.REBIRTH_METRIC, birth=True)
    codec.add_metric(msg, _STRING, version, ts, name=VERSION_METRIC, birth=True)
    return msg.SerializeToString()


def device_birth(
    device: DeviceDef, states: Mapping[str, PointState], seq: int, iri: str | None, sent: dict[str, int]
) -> bytes:
    """DBIRTH: every metric with its name, alias, datatype, properties and current value (``sent`` records the
    quality each metric was born with)."""
    ts = now_ms()
    msg = Payload(timestamp=ts, seq=seq)
    codec.add_metric(msg, _STRING, device.label, ts, name=DEVICE_LABEL_METRIC, birth=True)
    if iri:
        codec.add_metric(msg, _STRING, iri, ts, name=DEVICE_IRI_METRIC, birth=True)
    for m in device.metrics.values():
        state = states.get(m.point) or PointState.initial(m.point)
        metric, state = _put_value(m, msg, state, _ts_ms(state, ts), birth=True, historical=False)
        _put_properties(metric, (*m.properties, *quality_properties(state, None)))
        sent[m.point] = quality_of(state)
    return msg.SerializeToString()


def device_data(
    device: DeviceDef,
    metrics: Sequence[tuple[MetricDef, PointState]],
    seq: int,
    *,
    historical: bool,
    sent: dict[str, int],
) -> bytes:
    """DDATA: the changes of one device by alias, with their source timestamps (``historical``: replayed, marked
    ``is_historical``; ``sent`` tracks the last quality the host saw of live values)."""
    ts = now_ms()
    msg = Payload(timestamp=ts, seq=seq)
    for m, change in metrics:
        metric, told = _put_value(m, msg, change, _ts_ms(change, ts), birth=False, historical=historical)
        _put_properties(metric, quality_properties(told, None if historical else sent.get(m.point)))
        if not historical:
            sent[m.point] = quality_of(told)
    return msg.SerializeToString()
