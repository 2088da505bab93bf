"""UNS payloads: a point's value as JSON (the hot path), and each asset's ``_meta`` document.

A value: ``{"value": 21.5, "unit": {"name": "DEG_C", "iri": "http://qudt.org/vocab/unit/DEG_C", "symbol": "°C"},
"quality": "good", "status": "Good", "status_code": 0, "source_time": "2025-01-01T12:00:00.123456Z",
"server_time": "..."}`` plus ``"reason"`` when the status is not Good. Names and meanings are the REST API's
(``GET /points/{id}``: quality good/uncertain/bad, the OPC UA status name) with the OPC UA status number added.

Speed: the service's target is 50,000 values/s per core, so a value is one f-string, not a ``json.dumps`` of a
dict: what is constant per point (its unit) is JSON text made once, the status part is cached per status, and
only the value and the two times are formatted per change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.contract.model import AssetLevel
from adapters.contract.sample import PointState, Quality
from adapters.contract.status import number_of
from gateway import units
from gateway.classes import compact

if TYPE_CHECKING:
    from adapters.contract.model import Asset, Point

# JSON has no NaN or infinities: the strings protobuf's JSON mapping uses for them
_NON_FINITE = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def unit_json(unit: str | None) -> dict[str, str | None] | None:
    """``{name, iri, symbol}`` of a QUDT unit name, or None for a unitless point."""
    if unit is None:
        return None
    known = units.get_unit(unit)
    return {
        "name": unit,
        "iri": known.iri if known is not None else units.UNIT + unit,
        "symbol": known.symbol if known is not None else None,
    }


def value_json(value: Any) -> str:
    """A value as JSON text: integers exact, floats shortest, NaN and infinities as strings."""
    kind = type(value)
    if kind is float:
        text = repr(value)
        return text if math.isfinite(value) else _NON_FINITE[text]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    return _dumps(value)


def time_json(ts: datetime | None) -> str:
    """An instant as a JSON string in ISO 8601 UTC with microseconds (``"...T12:00:00.000000Z"``), or null.

    ``isoformat`` of an aware datetime costs ~1.5 µs; the date-and-second part is shared by every value of one
    second, so it is made once per second and only the microseconds are formatted per value."""
    if ts is None:
        return "null"
    if ts.tzinfo is None:  # naive: the twin's times are UTC
        ts = ts.replace(tzinfo=UTC)
    since = ts - _EPOCH  # any aware time zone: the instant, whatever the offset
    second = since.days * 86400 + since.seconds
    head = _seconds.get(second) or _second_text(second)
    return head + str(ts.microsecond).zfill(6) + 'Z"'


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_seconds: dict[int, str] = {}  # epoch second -> '"YYYY-MM-DDTHH:MM:SS.'


def _second_text(second: int) -> str:
    if len(_seconds) >= 4096:  # replayed values span many seconds: keep the cache small
        _seconds.clear()
    head = _seconds[second] = f'"{(_EPOCH + timedelta(seconds=second)).replace(tzinfo=None).isoformat()}.'
    return head


_status_parts: dict[tuple[Quality, str], str] = {}


def _status_part(quality: Quality, status: str) -> str:
    part = f',"quality":"{quality.name.lower()}","status":{_dumps(status)},"status_code":{number_of(status)}'
    if len(_status_parts) < 4096:  # statuses are a small vocabulary; never let odd names grow it without bound
        _status_parts[(quality, status)] = part
    return part


class PointPayload:
    """Encodes one point's states; made once per point (its unit is JSON text already)."""

    __slots__ = ("_unit", "topic")

    def __init__(self, topic: str, unit: str | None) -> None:
        self.topic = topic
        self._unit = f',"unit":{_dumps(unit_json(unit))}'

    def encode(self, s: PointState) -> bytes:
        """The JSON payload of a state."""
        value = s.value
        # a finite float, the common case, without the call (v - v is nan for nan and infinities)
        text = repr(value) if type(value) is float and value - value == 0 else value_json(value)
        status = s.status
        part = _status_parts.get((s.quality, status)) or _status_part(s.quality, status)
        reason = "" if status == "Good" else f',"reason":{_dumps(s.reason)}'
        return (
            f'{{"value":{text}{self._unit}{part}{reason},'
            f'"source_time":{time_json(s.source_ts)},"server_time":{time_json(s.gateway_ts)}}}'
        ).encode()


def meta_json(
    asset: Asset,
    *,
    iri: str,
    parents: list[Asset],
    topic: str,
    points: Iterable[tuple[Point, str, str]],
    commands: bool,
) -> bytes:
    """The ``_meta`` document of an asset: who it is, where it sits and its published points with their topics.

    ``parents`` nearest first; ``points`` as (point, its IRI, its topic)."""
    doc = {
        "id": asset.id,
        "iri": iri,
        "label": asset.label,
        "description": asset.description,
        "classes": [compact(c) for c in asset.classes],
        "level": AssetLevel(asset.level).value,
        "parent": asset.parent,
        "path": [a.id for a in reversed(parents)],
        "topic": topic,
        "points": [_point_meta(p, point_iri, point_topic, commands) for p, point_iri, point_topic in points],
    }
    return _dumps(doc).encode()


def _point_meta(p: Point, iri: str, topic: str, commands: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.id,
        "iri": iri,
        "label": p.label,
        "description": p.description,
        "kind": p.kind.value,
        "classes": [compact(c) for c in p.classes],
        "unit": unit_json(p.unit),
        "datatype": p.datatype.value,
        "writable": p.writable,
        "min": p.min,
        "max": p.max,
        "topic": topic,
    }
    if commands and p.writable:
        out["command_topic"] = f"{topic}/set"
    return out
