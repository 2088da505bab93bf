"""History answers as tables in CSV or Apache Arrow IPC, and which of JSON, CSV, Arrow a client asked for.

A table is a list of columns: one of times (µs since the epoch), value columns and status-name columns.
CSV writes times as ISO 8601 and empty cells for missing values; Arrow keeps times as
``timestamp[us, tz=UTC]``, values typed by the point's datatype (floats for averages, integers for counts)
and status names dictionary-encoded, so ``pyarrow.ipc.open_stream(body).read_pandas()`` gives a frame ready
to use. pyarrow is imported only when an Arrow answer is built.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from adapters.contract.model import DataType
from gateway.history.model import Aggregate, HistoryValue
from gateway.northbound.http.errors import ApiError
from gateway.northbound.http.history_times import format_instant

ARROW_STREAM = "application/vnd.apache.arrow.stream"
MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8", "arrow": ARROW_STREAM}
_ACCEPTED = {
    "application/json": "json",
    "text/csv": "csv",
    ARROW_STREAM: "arrow",
    "application/vnd.apache.arrow.file": "arrow",  # answered as a stream, which every Arrow reader opens
}
ValueType = Literal["float64", "int64", "bool", "string"]
_INTS = {DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32, DataType.INT64, DataType.UINT64}


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a history table."""

    name: str
    kind: Literal["time", "value", "status"]
    values: Sequence[Any]
    value_type: ValueType = "string"


def media_types(header: str) -> list[str]:
    """The media types of an Accept header, most preferred first (q=0 dropped)."""
    ranked = []
    for i, part in enumerate(header.split(",")):
        mime, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if mime and q > 0:
            ranked.append((-q, i, mime.lower()))
    return [m for _, _, m in sorted(ranked)]


def pick_format(explicit: str | None, accept_header: str) -> str:
    """``json``, ``csv`` or ``arrow``: the ``format`` parameter first, else the Accept header's preference."""
    accept = media_types(accept_header)
    if explicit is not None:
        if explicit not in MEDIA:
            raise ApiError(400, f"unknown format '{explicit}'; use format=json, csv or arrow")
        return explicit
    for mime in accept:
        if mime in ("*/*", "application/*", ""):
            return "json"
        if mime in _ACCEPTED:
            return _ACCEPTED[mime]
        if mime == "text/*":
            return "csv"
    if not accept:
        return "json"
    raise ApiError(
        406, "history comes as application/json, text/csv or " + ARROW_STREAM + " (or format=json|csv|arrow)"
    )


def value_type(datatype: DataType, aggregate: Aggregate | None) -> ValueType:
    """The column type of a point's values, raw (``aggregate`` None) or aggregated."""
    if aggregate is Aggregate.COUNT:
        return "int64"
    if aggregate not in (None, Aggregate.START, Aggregate.END):
        return "float64"  # averages and interpolations of integers and booleans are fractions
    if datatype is DataType.BOOL:
        return "bool"
    if datatype is DataType.STRING:
        return "string"
    return "int64" if datatype in _INTS else "float64"


def to_csv(columns: Sequence[Column]) -> bytes:
    """RFC 4180 CSV with a header row; times in ISO 8601, no value as an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    cells = [[format_instant(v) for v in c.values] if c.kind == "time" else c.values for c in columns]
    for row in zip(*cells, strict=True):
        writer.writerow(["" if v is None else _csv_cell(v) for v in row])
    return out.getvalue().encode()


def _csv_cell(v: HistoryValue) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def to_arrow(columns: Sequence[Column], metadata: dict[str, str]) -> bytes:
    """One Arrow IPC stream of one record batch; ``metadata`` goes on the schema (point, unit, aggregate...)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    arrays = [_arrow_array(pa, c) for c in columns]
    schema = pa.schema([pa.field(c.name, a.type) for c, a in zip(columns, arrays, strict=True)], metadata=metadata)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(pa.record_batch(arrays, schema=schema))
    return sink.getvalue()


def _arrow_array(pa: Any, column: Column) -> Any:
    if column.kind == "time":
        return pa.array(column.values, type=pa.timestamp("us", tz="UTC"))
    if column.kind == "status":
        return pa.array(column.values, type=pa.string()).dictionary_encode()
    try:
        arrow_type = pa.bool_() if column.value_type == "bool" else getattr(pa, column.value_type)()
        return pa.array(column.values, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        # a point whose datatype changed over its history: keep every value, as text
        return pa.array([None if v is None else str(v) for v in column.values], type=pa.string())
