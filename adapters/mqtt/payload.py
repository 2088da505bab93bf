"""Decoding MQTT payloads into point values: plain text, JSON paths, timestamps and quality fields.

Pure functions, no I/O. A problem with a message is returned as a ``Problem`` (a kind for counting, an OPC UA
status name and a sentence) instead of raised, so one bad message costs one sample's quality, never the adapter.

JSON paths are a small JSONPath subset (documented in docs/mqtt.md): ``$`` is the whole document, ``.name``
selects a member, ``['any name']`` a member whose name is not an identifier, ``[N]`` an array element (negative
counts from the end). Example: ``$.sensors[0].temp``, ``$['air quality'].pm25``, ``$.values[-1]``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from adapters.contract.coerce import bool_word
from adapters.contract.model import DataType
from adapters.contract.sample import Value
from adapters.contract.status import looks_like_status

PathKey = str | int
TimestampFormat = Literal["auto", "iso8601", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns"]

MISSING: Any = object()  # what a path yields when the document has no such member

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INDEX = re.compile(r"-?[0-9]+")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a message (or one point of it) could not be read."""

    kind: str  # invalid_json | undecodable | missing_path | wrong_type | bad_timestamp | bad_quality | ...
    status: str  # OPC UA status name for the affected samples
    reason: str


class PathError(ValueError):
    """A JSON path outside the supported subset."""


# -- JSON paths ------------------------------------------------------------------------------------


def parse_path(text: str) -> tuple[PathKey, ...]:
    """Compile ``$.a.b[0]['c d']`` into keys ``("a", "b", 0, "c d")``; raise ``PathError`` with the position."""
    if not text.startswith("$"):
        raise PathError(f"'{text}': a JSON path starts with $ (e.g. $.temperature)")
    keys: list[PathKey] = []
    i, n = 1, len(text)
    while i < n:
        c = text[i]
        if c == ".":
            m = _NAME.match(text, i + 1)
            if not m:
                raise PathError(f"'{text}': expected a member name after '.' at position {i + 1}")
            keys.append(m.group(0))
            i = m.end()
        elif c == "[":
            if i + 1 < n and text[i + 1] in "'\"":
                quote = text[i + 1]
                end = text.find(quote + "]", i + 2)
                if end < 0:
                    raise PathError(f"'{text}': unterminated [{quote}...{quote}] at position {i}")
                keys.append(text[i + 2 : end])
                i = end + 2
            else:
                m = _INDEX.match(text, i + 1)
                if not m or not text.startswith("]", m.end()):
                    raise PathError(f"'{text}': expected [N] or ['name'] at position {i}")
                keys.append(int(m.group(0)))
                i = m.end() + 1
        else:
            raise PathError(f"'{text}': unexpected '{c}' at position {i} (supported: .name, ['name'], [N])")
    return tuple(keys)


def get_path(doc: Any, keys: tuple[PathKey, ...]) -> Any:
    """The value at ``keys`` in a decoded JSON document, or ``MISSING``."""
    cur = doc
    for k in keys:
        if isinstance(k, str):
            if not isinstance(cur, dict):
                return MISSING
            cur = cur.get(k, MISSING)
            if cur is MISSING:
                return MISSING
        else:
            if not isinstance(cur, list) or not -len(cur) <= k < len(cur):
                return MISSING
            cur = cur[k]
    return cur


def format_path(keys: tuple[PathKey, ...]) -> str:
    """The canonical text of a compiled path."""
    out = ["$"]
    for k in keys:
        if isinstance(k, int):
            out.append(f"[{k}]")
        elif _NAME.fullmatch(k):
            out.append("." + k)
        else:
            out.append(f"['{k}']")
    return "".join(out)


# -- documents -------------------------------------------------------------------------------------


def decode_json(payload: bytes) -> tuple[Any, Problem | None]:
    """The decoded JSON document, or a problem naming what is wrong."""
    try:
        return json.loads(payload), None
    except UnicodeDecodeError as exc:
        return None, Problem("undecodable", "BadDecodingError", f"payload is not UTF-8 text ({exc.reason})")
    except ValueError as exc:
        return None, Problem("invalid_json", "BadDecodingError", f"invalid JSON: {exc}")


def decode_text(payload: bytes) -> tuple[str, Problem | None]:
    """The payload as stripped UTF-8 text."""
    try:
        return payload.decode("utf-8").strip(), None
    except UnicodeDecodeError as exc:
        return "", Problem("undecodable", "BadDecodingError", f"payload is not UTF-8 text ({exc.reason})")


# -- values ----------------------------------------------------------------------------------------


def _wrong(value: Any, datatype: DataType, where: str) -> Problem:
    shown = json.dumps(value)[:80] if value is not MISSING else "nothing"
    return Problem("wrong_type", "BadTypeMismatch", f"{where}: {shown} is not a {datatype.value}")


def to_value(value: Any, datatype: DataType, where: str = "value") -> tuple[Value, Problem | None]:
    """A JSON value (or plain text) checked and converted for a point's datatype (the raw device value)."""
    if datatype is DataType.STRING:
        if isinstance(value, str):
            return value, None
        if isinstance(value, bool):
            return ("true" if value else "false"), None
        if value is None:
            return None, _wrong(value, datatype, where)
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":")), None
        return str(value), None
    if datatype is DataType.BOOL:
        if isinstance(value, bool):
            return value, None
        if isinstance(value, int | float):
            return value != 0, None
        if isinstance(value, str) and (word := bool_word(value)) is not None:
            return word, None
        return None, _wrong(value, datatype, where)
    # numeric datatypes
    if isinstance(value, bool):
        return int(value), None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value) and datatype.int_range is not None:
            return None, _wrong(value, datatype, where)
        return value, None
    if isinstance(value, str):
        text = value.strip()
        try:
            return (int(text) if datatype.int_range is not None and _INDEX.fullmatch(text) else float(text)), None
        except ValueError:
            pass
    return None, _wrong(value, datatype, where)


def plain_value(text: str, datatype: DataType) -> tuple[Value, Problem | None]:
    """The value of a plain payload's text (``21.5``, ``true``, ``on``, ``running``) for a point's datatype."""
    if text == "" and datatype is not DataType.STRING:
        return None, Problem("wrong_type", "BadTypeMismatch", f"empty payload is not a {datatype.value}")
    return to_value(text, datatype, "payload")


# -- timestamps ------------------------------------------------------------------------------------

_EPOCH_DIVISORS = {"epoch_s": 1.0, "epoch_ms": 1e3, "epoch_us": 1e6, "epoch_ns": 1e9}


def parse_timestamp(value: Any, fmt: TimestampFormat = "auto") -> datetime | None:
    """A UTC datetime from ISO 8601 text or epoch s/ms/us/ns (``auto`` guesses the unit by magnitude)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if fmt in ("auto", "iso8601"):
            try:
                dt = datetime.fromisoformat(text)
            except ValueError:
                dt = None
            if dt is not None:
                return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
            if fmt == "iso8601":
                return None
        try:
            value = float(text)
        except ValueError:
            return None
    if not isinstance(value, int | float) or fmt == "iso8601" or not math.isfinite(value):
        return None
    if fmt == "auto":
        # Seconds until the year 5138, then ms, us, ns: unambiguous for any real clock.
        mag = abs(value)
        div = 1.0 if mag < 1e11 else 1e3 if mag < 1e14 else 1e6 if mag < 1e17 else 1e9
    else:
        div = _EPOCH_DIVISORS[fmt]
    try:
        return datetime.fromtimestamp(value / div, UTC)
    except (OverflowError, OSError, ValueError):
        return None


# -- quality ---------------------------------------------------------------------------------------

_WORDS = {"good": "Good", "ok": "Good", "bad": "Bad", "uncertain": "Uncertain"}


def parse_quality(value: Any, mapping: dict[str, str] | None = None) -> str | None:
    """An OPC UA status name from a payload's quality field, or None when it cannot be read.

    ``true``/``false``, the words good/ok/bad/uncertain, OPC UA status names ("BadSensorFailure") and numeric
    OPC UA StatusCodes (0 = Good, severity in the top two bits) are understood; ``mapping`` (keyed by the
    value's text, e.g. ``{"192": "Good"}`` for OPC DA qualities) wins over all of them.
    """
    if mapping:
        key = json.dumps(value) if not isinstance(value, str) else value
        if key in mapping:
            return mapping[key]
    if isinstance(value, bool):
        return "Good" if value else "Bad"
    if isinstance(value, str):
        word = value.strip()
        if word.lower() in _WORDS:
            return _WORDS[word.lower()]
        if looks_like_status(word):
            return word
        return None
    if isinstance(value, int) and 0 <= value <= 0xFFFFFFFF:
        severity = value >> 30
        return "Good" if severity == 0 else "Uncertain" if severity == 1 else "Bad"
    return None


# -- commands --------------------------------------------------------------------------------------


def json_literal(value: Value) -> str:
    """A value as a JSON literal (``true``, ``21.5``, ``"text"``) for command payload templates."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return repr(value)
    return json.dumps(value)


def text_of(value: Value) -> str:
    """A value as plain text (``true``, ``21.5``, ``text``) for command payload templates."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
