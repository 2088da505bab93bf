"""How a history row maps onto the PostgreSQL ``samples`` columns, and back, exactly.

A value goes to the column of its type (``v_bool``, ``v_int``, ``v_float``, ``v_text``), so each reads back as
the Python type it was. Integers beyond int64 (UInt64 values over 2**63-1) are kept as decimal text with
``v_float`` holding their numeric value for aggregates. The status, an unsigned 32-bit OPC UA StatusCode, is
stored as a signed ``integer``: Bad codes (top bit set) become negative, so "Good" is
``status BETWEEN 0 AND 0x3FFFFFFF`` and "Bad" is ``status < 0`` in SQL.
"""

from __future__ import annotations

from typing import Any

from gateway.history.model import HistoryRow, HistoryValue

# COPY column order and binary types (must match pg_schema.samples_ddl)
COPY_COLUMNS = ("source_us", "server_us", "v_float", "v_int", "point_id", "status", "v_bool", "v_text")
COPY_TYPES = ("int8", "int8", "float8", "int8", "int4", "int4", "bool", "text")
# what reads select, in this order, to build a HistoryRow with ``row_of``
READ_COLUMNS = "source_us, server_us, status, v_float, v_int, v_bool, v_text"
# the numeric value of a row for aggregates (bools count as 0/1, text as no number)
NUMERIC_SQL = "COALESCE(v_float, v_int::double precision, v_bool::integer::double precision)"
GOOD_SQL = "(status >= 0 AND status < 1073741824)"

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def signed_status(status: int) -> int:
    """The unsigned 32-bit status code as the signed integer the column holds."""
    return status - 0x1_0000_0000 if status >= 0x8000_0000 else status


def unsigned_status(stored: int) -> int:
    """The stored signed integer as the OPC UA status code."""
    return stored + 0x1_0000_0000 if stored < 0 else stored


def value_columns(value: HistoryValue) -> tuple[float | None, int | None, bool | None, str | None]:
    """(v_float, v_int, v_bool, v_text) for a value."""
    if value is None:
        return None, None, None, None
    if isinstance(value, bool):
        return None, None, value, None
    if isinstance(value, int):
        if _I64_MIN <= value <= _I64_MAX:
            return None, value, None, None
        return float(value), None, None, str(value)
    if isinstance(value, float):
        return value, None, None, None
    return None, None, None, _storable(str(value))


def _storable(text: str) -> str:
    """PostgreSQL text holds neither NUL nor lone surrogates: those become U+FFFD (the only lossy case)."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _replace_surrogates(text)
    return text


def _replace_surrogates(text: str) -> str:
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def copy_tuple(row: HistoryRow, point_id: int) -> tuple[Any, ...]:
    """One row in ``COPY_COLUMNS`` order."""
    v_float, v_int, v_bool, v_text = value_columns(row.value)
    return (row.source_us, row.server_us, v_float, v_int, point_id, signed_status(row.status), v_bool, v_text)


def value_of(v_float: float | None, v_int: int | None, v_bool: bool | None, v_text: str | None) -> HistoryValue:
    """The value stored in the four columns."""
    if v_bool is not None:
        return v_bool
    if v_int is not None:
        return v_int
    if v_text is not None:
        return int(v_text) if v_float is not None else v_text
    return v_float


def row_of(point: str, rec: tuple[Any, ...]) -> HistoryRow:
    """A ``HistoryRow`` from a record selected with ``READ_COLUMNS``."""
    source_us, server_us, status, v_float, v_int, v_bool, v_text = rec
    return HistoryRow(point, source_us, server_us, value_of(v_float, v_int, v_bool, v_text), unsigned_status(status))
