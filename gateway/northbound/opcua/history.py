"""OPC UA HistoryRead over the twin's history, through asyncua's own history seam.

asyncua routes every HistoryRead to ``iserver.history_manager.read_history``; its manager answers raw reads
only, with a timestamp as continuation point, and calls a ``HistoryStorageInterface``. Here the manager is
replaced by ``TwinHistoryManager`` (a subclass: same place, same call) that answers ReadRawModifiedDetails
(continuation points, bounds, reverse order), ReadProcessedDetails (the Part 13 aggregates the history
computes) and ReadAtTimeDetails, with ``TwinHistoryStorage`` as its storage. Samples are recorded by the
gateway's recorder, not by asyncua's subscription, so the storage's save methods do nothing.

Continuation points are stateless: the position to go on from plus a digest of the node and the request, so a
point handed back with other details is refused (BadContinuationPointInvalid) and nothing is kept per session.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asyncua import ua
from asyncua.server.history import HistoryManager, HistoryStorageInterface
from asyncua.ua.ua_binary import struct_to_binary

from gateway.history.model import Aggregate, HistoryReader, datetime_of, us_of
from gateway.northbound.opcua.history_raw import RawRead, at_time_values, plan_raw, read_raw_page
from gateway.northbound.opcua.uatypes import status, ua_time

if TYPE_CHECKING:
    from asyncua.common.events import Event
    from asyncua.common.node import Node

AGGREGATES: dict[ua.NodeId, Aggregate] = {
    ua.NodeId(getattr(ua.ObjectIds, f"AggregateFunction_{name}")): agg
    for name, agg in (
        ("Average", Aggregate.AVERAGE),
        ("TimeAverage", Aggregate.TIME_AVERAGE),
        ("Minimum", Aggregate.MINIMUM),
        ("Maximum", Aggregate.MAXIMUM),
        ("Count", Aggregate.COUNT),
        ("Start", Aggregate.START),
        ("End", Aggregate.END),
        ("Interpolative", Aggregate.INTERPOLATIVE),
    )
}
MAX_VALUES = 10_000  # values per node and response when the client sets no smaller NumValuesPerNode
_CP = struct.Struct("<4sB8sqqq")  # magic, phase, request digest, three positions
_MAGIC = b"TBH1"


def _unspecified(t: datetime | None) -> bool:
    return t is None or ua.datetime_to_win_epoch(t) == 0


class Continuation:
    """A stateless continuation point: phase and positions, bound to the node and the request's details."""

    def __init__(self, node: ua.NodeId, details: Any) -> None:
        self.digest = hashlib.blake2b(node.to_string().encode() + struct_to_binary(details), digest_size=8).digest()

    def pack(self, phase: int, a: int = 0, b: int = 0, c: int = 0) -> bytes:
        return _CP.pack(_MAGIC, phase, self.digest, a, b, c)

    def unpack(self, data: bytes) -> tuple[int, int, int, int] | None:
        """(phase, a, b, c), or None when the point is not one this request got."""
        if len(data) != _CP.size:
            return None
        magic, phase, digest, a, b, c = _CP.unpack(data)
        return (phase, a, b, c) if magic == _MAGIC and digest == self.digest else None


class TwinHistoryStorage(HistoryStorageInterface):
    """asyncua's storage seam over a ``HistoryReader``; every read runs in a worker thread."""

    def __init__(
        self, reader: HistoryReader, point_of: Callable[[ua.NodeId], str | None], recorded: Callable[[str], bool]
    ) -> None:
        super().__init__(MAX_VALUES)
        self.reader = reader
        self.point_of = point_of  # NodeId -> point id (None: not a point's variable)
        self.recorded = recorded

    async def init(self) -> None:
        """Nothing to open: the gateway owns the store."""

    async def new_historized_node(self, node_id: ua.NodeId, period: timedelta | None, count: int = 0) -> None:
        """Recording is configured in the mapping (``history:``), not through asyncua."""

    async def save_node_value(self, node_id: ua.NodeId, datavalue: ua.DataValue) -> None:
        """The gateway's recorder records every sample; nothing to do here."""

    async def read_node_history(
        self, node_id: ua.NodeId, start: datetime | None, end: datetime | None, nb_values: int
    ) -> tuple[list[ua.DataValue], datetime | None]:
        """asyncua's plain raw read: values from ``start`` to ``end`` inclusive, oldest first."""
        pid = self.point_of(node_id)
        if pid is None or not self.recorded(pid):
            return [], None
        lo = 0 if _unspecified(start) else us_of(start)  # type: ignore[arg-type]
        hi = (1 << 62) if _unspecified(end) else us_of(end) + 1  # type: ignore[arg-type]
        limit = min(nb_values or self.max_history_data_response_size, self.max_history_data_response_size)
        rows = await asyncio.to_thread(self.reader.read_raw, pid, lo, hi, limit=limit + 1)
        values = [
            ua.DataValue(ua.Variant(r.value), status(r.status), SourceTimestamp=ua_time(datetime_of(r.source_us)))
            for r in rows
        ]
        more = len(values) > limit
        return values[:limit], datetime_of(rows[limit].source_us) if more else None

    async def new_historized_event(
        self, source_id: ua.NodeId, evtypes: list[Node], period: timedelta | None, count: int = 0
    ) -> None:
        """Events are not historized."""

    async def save_event(self, event: Event) -> None:
        """Events are not historized."""

    async def read_event_history(
        self, source_id: ua.NodeId, start: datetime | None, end: datetime | None, nb_values: int, evfilter: Any
    ) -> tuple[list[Event], datetime | None]:
        """Events are not historized: nothing to read."""
        return [], None

    async def stop(self) -> None:
        """The gateway closes the store."""


class TwinHistoryManager(HistoryManager):
    """asyncua's history manager answering raw, processed and at-time reads from the twin's history."""

    def __init__(self, iserver: Any, storage: TwinHistoryStorage, variant_of: Callable[[str], ua.VariantType]) -> None:
        super().__init__(iserver)
        self.set_storage(storage)
        self.twin_storage = storage
        self.variant_of = variant_of

    async def read_history(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        """One result per node: values, or the status saying what the history cannot answer."""
        details = params.HistoryReadDetails
        if isinstance(details, ua.ReadProcessedDetails) and len(details.AggregateType) != len(params.NodesToRead):
            mismatch = status(ua.StatusCodes.BadAggregateListMismatch)
            return [ua.HistoryReadResult(StatusCode=mismatch) for _ in params.NodesToRead]
        results: list[ua.HistoryReadResult] = []
        for rv in params.NodesToRead:
            if params.ReleaseContinuationPoints:  # stateless points: nothing held, nothing to release
                results.append(ua.HistoryReadResult())
                continue
            try:
                results.append(await self._read_one(details, rv, params.TimestampsToReturn, len(results)))
            except HistoryReadError as exc:
                results.append(ua.HistoryReadResult(StatusCode=status(exc.code)))
        return results

    async def _read_one(
        self, details: Any, rv: ua.HistoryReadValueId, stamps: ua.TimestampsToReturn, index: int
    ) -> ua.HistoryReadResult:
        if stamps not in (ua.TimestampsToReturn.Source, ua.TimestampsToReturn.Server, ua.TimestampsToReturn.Both):
            raise HistoryReadError(ua.StatusCodes.BadTimestampsToReturnInvalid)
        if not isinstance(details, ua.ReadRawModifiedDetails | ua.ReadProcessedDetails | ua.ReadAtTimeDetails):
            raise HistoryReadError(ua.StatusCodes.BadHistoryOperationUnsupported)
        pid = self.twin_storage.point_of(rv.NodeId)
        if pid is None:
            raise HistoryReadError(ua.StatusCodes.BadNodeIdUnknown)
        if not self.twin_storage.recorded(pid):  # a point whose history mode is off
            raise HistoryReadError(ua.StatusCodes.BadHistoryOperationUnsupported)
        cp = Continuation(rv.NodeId, details)
        position = None
        if rv.ContinuationPoint:
            position = cp.unpack(rv.ContinuationPoint)
            if position is None:
                raise HistoryReadError(ua.StatusCodes.BadContinuationPointInvalid)
        vtype = self.variant_of(pid)
        if isinstance(details, ua.ReadRawModifiedDetails):
            values, nxt = await self._raw(pid, details, cp, position, vtype)
        elif isinstance(details, ua.ReadProcessedDetails):
            values, nxt = await self._processed(pid, details, index, cp, position, vtype)
        else:
            values, nxt = await self._at_time(pid, details, vtype), None
        for dv in values:
            _keep_timestamps(dv, stamps)
        return ua.HistoryReadResult(ContinuationPoint=nxt, HistoryData=ua.HistoryData(DataValues=values))

    async def _raw(
        self,
        pid: str,
        details: ua.ReadRawModifiedDetails,
        cp: Continuation,
        position: tuple[int, int, int, int] | None,
        vtype: ua.VariantType,
    ) -> tuple[list[ua.DataValue], bytes | None]:
        if details.IsReadModified:  # nothing is ever modified: the history is append-only
            raise HistoryReadError(ua.StatusCodes.BadHistoryOperationUnsupported)
        start = None if _unspecified(details.StartTime) else us_of(details.StartTime)
        end = None if _unspecified(details.EndTime) else us_of(details.EndTime)
        plan = plan_raw(start, end, details.NumValuesPerNode, details.ReturnBounds, MAX_VALUES)
        if plan is None:  # fewer than two of start, end and NumValuesPerNode
            raise HistoryReadError(ua.StatusCodes.BadHistoryOperationInvalid)
        page: RawRead = await asyncio.to_thread(read_raw_page, self.twin_storage.reader, pid, plan, position, vtype)
        return page.values, None if page.next is None else cp.pack(*page.next)

    async def _processed(
        self,
        pid: str,
        details: ua.ReadProcessedDetails,
        index: int,
        cp: Continuation,
        position: tuple[int, int, int, int] | None,
        vtype: ua.VariantType,
    ) -> tuple[list[ua.DataValue], bytes | None]:
        agg = AGGREGATES.get(details.AggregateType[index])
        if agg is None:
            raise HistoryReadError(ua.StatusCodes.BadAggregateNotSupported)
        if _unspecified(details.StartTime) or _unspecified(details.EndTime):
            raise HistoryReadError(ua.StatusCodes.BadInvalidTimestampArgument)
        start, end = us_of(details.StartTime), us_of(details.EndTime)
        lo, hi = min(start, end), max(start, end)
        interval = round(details.ProcessingInterval * 1000) or (hi - lo)
        if interval <= 0:
            return [], None
        first = position[1] if position else 0  # index of the first interval of this page
        total = -(-(hi - lo) // interval)
        last = min(total, first + MAX_VALUES)
        reader = self.twin_storage.reader
        page_lo, page_hi = lo + first * interval, min(hi, lo + last * interval)
        buckets = await asyncio.to_thread(reader.read_processed, [pid], page_lo, page_hi, interval, agg)
        out_type = {Aggregate.COUNT: ua.VariantType.UInt32, Aggregate.START: vtype, Aggregate.END: vtype}
        btype = out_type.get(agg, ua.VariantType.Double)
        values = [_data_value(b.value, b.status, b.at_us or b.start_us, btype) for b in buckets]
        if end < start:
            values.reverse()
        return values, cp.pack(2, last) if last < total else None

    async def _at_time(self, pid: str, details: ua.ReadAtTimeDetails, vtype: ua.VariantType) -> list[ua.DataValue]:
        times = [us_of(t) for t in details.ReqTimes]
        found = await asyncio.to_thread(at_time_values, self.twin_storage.reader, pid, times, vtype)
        return [
            _data_value(v, s, t, vtype if isinstance(v, bool | str) else None)
            for t, (v, s) in zip(times, found, strict=True)
        ]


class HistoryReadError(Exception):
    """A node's HistoryRead answered with a Bad status and no values."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _data_value(value: Any, code: int, at_us: int, vtype: ua.VariantType | None) -> ua.DataValue:
    variant = ua.Variant(value, vtype) if vtype is not None and value is not None else ua.Variant(value)
    when = datetime_of(at_us)
    return ua.DataValue(variant, status(code), SourceTimestamp=ua_time(when), ServerTimestamp=ua_time(when))


def _keep_timestamps(dv: ua.DataValue, stamps: ua.TimestampsToReturn) -> None:
    if stamps == ua.TimestampsToReturn.Source:
        dv.ServerTimestamp = None
    elif stamps == ua.TimestampsToReturn.Server:
        dv.SourceTimestamp = None
