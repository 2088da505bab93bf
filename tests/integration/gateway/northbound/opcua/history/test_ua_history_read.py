"""OPC UA HistoryRead through a real asyncua client: raw with continuation points, bounds and reverse order,
processed aggregates equal to those computed from the raw rows, at-time reads, and the status codes of what
the history does not answer."""

from __future__ import annotations

import itertools
import statistics
import struct
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua

from gateway.history.model import datetime_of, us_of
from gateway.runtime import Gateway
from tests.integration.gateway.northbound.history_plant import (
    BAD_SENSOR,
    HOUR,
    SECOND,
    T0,
    good_numbers,
    history_gateway,
    rows_of,
)
from tests.integration.gateway.northbound.opcua.conftest import VIEW_PW, client, endpoint, opcua_section

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
NS_URI = "http://t16.local/opcua"
TEN_MIN = 600 * SECOND


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    tmp = tmp_path_factory.mktemp("ua-history")
    async with history_gateway(tmp, opcua_section(tmp / "pki")) as gw:
        yield gw


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def ua_client(gateway: Gateway) -> AsyncIterator[Client]:
    c = client(endpoint(gateway), user="viewer", pw=VIEW_PW)  # the reader role is enough to read history
    async with c:
        yield c


async def node_id(c: Client, point: str) -> ua.NodeId:
    return ua.NodeId(point, await c.get_namespace_index(NS_URI))


def at(us: int) -> datetime:
    return datetime_of(us)


async def history_read(
    c: Client, details: Any, point: str | ua.NodeId, cp: bytes | None = None, stamps: Any = ua.TimestampsToReturn.Both
) -> ua.HistoryReadResult:
    rv = ua.HistoryReadValueId()
    rv.NodeId = point if isinstance(point, ua.NodeId) else await node_id(c, point)
    rv.ContinuationPoint = cp
    params = ua.HistoryReadParameters()
    params.HistoryReadDetails = details
    params.TimestampsToReturn = stamps
    params.ReleaseContinuationPoints = False  # asyncua's default is True
    params.NodesToRead.append(rv)
    return (await c.uaclient.history_read(params))[0]


def raw(start: int | None, end: int | None, num: int = 0, bounds: bool = False) -> ua.ReadRawModifiedDetails:
    d = ua.ReadRawModifiedDetails()
    d.IsReadModified = False
    d.StartTime = at(start) if start is not None else ua.get_win_epoch()
    d.EndTime = at(end) if end is not None else ua.get_win_epoch()
    d.NumValuesPerNode = num
    d.ReturnBounds = bounds
    return d


async def read_all(c: Client, details: Any, point: str) -> tuple[list[ua.DataValue], int]:
    """Every value, following continuation points; also how many calls it took."""
    values: list[ua.DataValue] = []
    cp, calls = None, 0
    while True:
        result = await history_read(c, details, point, cp)
        assert result.StatusCode.is_good(), result.StatusCode
        values += result.HistoryData.DataValues
        calls += 1
        cp = result.ContinuationPoint
        if not cp:
            return values, calls


def triples(values: list[ua.DataValue]) -> list[tuple[int, Any, int]]:
    return [(us_of(v.SourceTimestamp), v.Value.Value, v.StatusCode.value) for v in values]


def f32(value: Any) -> Any:
    """A value as a Float variable carries it (the points are float: OPC UA Float, single precision)."""
    return struct.unpack("<f", struct.pack("<f", value))[0] if isinstance(value, float) else value


def expected(point: str, start: int, end: int) -> list[tuple[int, Any, int]]:
    return [(r.source_us, f32(r.value), r.status) for r in rows_of(point, start, end)]


async def test_recorded_variables_are_historizing_with_the_history_read_bit(ua_client: Client) -> None:
    sat = ua_client.get_node(await node_id(ua_client, "ahu1.sat"))
    assert await sat.read_attribute(ua.AttributeIds.Historizing) is not None
    assert (await sat.read_attribute(ua.AttributeIds.Historizing)).Value.Value is True
    for attr in (ua.AttributeIds.AccessLevel, ua.AttributeIds.UserAccessLevel):
        level = (await sat.read_attribute(attr)).Value.Value
        assert level & ua.AccessLevel.HistoryRead.mask and level & ua.AccessLevel.CurrentRead.mask
    off = ua_client.get_node(await node_id(ua_client, "lab.temp"))
    assert (await off.read_attribute(ua.AttributeIds.Historizing)).Value.Value is False
    assert not (await off.read_attribute(ua.AttributeIds.AccessLevel)).Value.Value & ua.AccessLevel.HistoryRead.mask
    folder = ua_client.get_node(ua.NodeId(ua.ObjectIds.HistoryServerCapabilities_AggregateFunctions))
    names = {(await n.read_browse_name()).Name for n in await folder.get_children()}
    assert {"Average", "TimeAverage", "Minimum", "Maximum", "Count", "Start", "End", "Interpolative"} <= names


async def test_raw_read_pages_with_continuation_points(ua_client: Client) -> None:
    values, calls = await read_all(ua_client, raw(T0, T0 + 2 * HOUR, num=100), "ahu1.sat")
    assert calls == 8
    assert triples(values) == expected("ahu1.sat", T0, T0 + 2 * HOUR)
    assert values[0].ServerTimestamp == at(T0 + 1000)
    assert values[500].StatusCode.value == BAD_SENSOR and values[500].Value.Value is None


async def test_reverse_order_when_end_is_before_start(ua_client: Client) -> None:
    values, calls = await read_all(ua_client, raw(T0 + HOUR, T0, num=50), "boiler1.temp")
    # (end, start]: the value at the start time is in, the one at the end time is not
    assert triples(values) == expected("boiler1.temp", T0 + 1, T0 + HOUR + 1)[::-1]
    assert calls == 3
    back, _ = await read_all(ua_client, raw(None, T0 + HOUR, num=5), "boiler1.temp")
    assert [t for t, _, _ in triples(back)[:5]] == [T0 + HOUR - k * 30 * SECOND for k in range(5)]


async def test_bounds_are_the_values_around_the_range(ua_client: Client) -> None:
    values, _ = await read_all(ua_client, raw(T0 + 5 * SECOND, T0 + 95 * SECOND, bounds=True), "ahu1.sat")
    got = triples(values)
    assert got[0] == expected("ahu1.sat", T0, T0 + 1)[0]  # the value before the start
    assert got[1:-1] == expected("ahu1.sat", T0 + 5 * SECOND, T0 + 95 * SECOND)
    assert got[-1] == expected("ahu1.sat", T0 + 100 * SECOND, T0 + 101 * SECOND)[0]  # the value after the end
    # a value exactly at the start is its own bound; before the first value there is none
    exact, _ = await read_all(ua_client, raw(T0 + 10 * SECOND, T0 + 30 * SECOND, bounds=True), "ahu1.sat")
    assert [t for t, _, _ in triples(exact)] == [T0 + k * 10 * SECOND for k in (1, 2, 3)]
    early, _ = await read_all(ua_client, raw(T0 - HOUR, T0 + 15 * SECOND, bounds=True), "ahu1.sat")
    assert early[0].StatusCode.value == ua.StatusCodes.BadBoundNotFound
    assert early[0].SourceTimestamp == at(T0 - HOUR)


def processed(start: int, end: int, interval_us: int, aggregate: int) -> ua.ReadProcessedDetails:
    d = ua.ReadProcessedDetails()
    d.StartTime, d.EndTime = at(start), at(end)
    d.ProcessingInterval = interval_us / 1000
    d.AggregateType = [ua.NodeId(aggregate)]
    return d


def per_interval(point: str, fn: Any) -> list[Any]:
    out = []
    for k in range(12):
        values = good_numbers(rows_of(point, T0 + k * TEN_MIN, T0 + (k + 1) * TEN_MIN))
        out.append(fn(values) if values else None)
    return out


async def test_processed_aggregates_equal_those_computed_from_the_raw_rows(ua_client: Client) -> None:
    cases = [
        (ua.ObjectIds.AggregateFunction_Average, statistics.fmean),
        (ua.ObjectIds.AggregateFunction_Minimum, min),
        (ua.ObjectIds.AggregateFunction_Maximum, max),
        (ua.ObjectIds.AggregateFunction_Count, len),
    ]
    for aggregate, fn in cases:
        values, _ = await read_all(ua_client, processed(T0, T0 + 2 * HOUR, TEN_MIN, aggregate), "ahu1.sat")
        assert [us_of(v.SourceTimestamp) for v in values] == [T0 + k * TEN_MIN for k in range(12)]
        want = per_interval("ahu1.sat", fn)
        assert [v.Value.Value for v in values] == [pytest.approx(w) for w in want], aggregate
    rows = [r for r in rows_of("ahu1.sat", T0, T0 + 2 * HOUR)]
    starts, _ = await read_all(
        ua_client, processed(T0, T0 + 2 * HOUR, TEN_MIN, ua.ObjectIds.AggregateFunction_Start), "ahu1.sat"
    )
    assert [v.Value.Value for v in starts] == [f32(rows[k * 60].value) for k in range(12)]
    ends, _ = await read_all(
        ua_client, processed(T0, T0 + 2 * HOUR, TEN_MIN, ua.ObjectIds.AggregateFunction_End), "ahu1.sat"
    )
    assert [us_of(v.SourceTimestamp) for v in ends] == [rows[k * 60 + 59].source_us for k in range(12)]


async def test_time_average_and_interpolative_follow_the_straight_lines_between_values(ua_client: Client) -> None:
    rows = rows_of("boiler1.temp", T0, T0 + 2 * HOUR)  # every 30 s, all Good: 20 rows per interval
    tavg, _ = await read_all(
        ua_client, processed(T0, T0 + 2 * HOUR, TEN_MIN, ua.ObjectIds.AggregateFunction_TimeAverage), "boiler1.temp"
    )
    for k in range(11):  # the last interval has no value after it to close its line
        segment = [float(r.value) for r in rows[k * 20 : k * 20 + 21]]
        area = sum((a + b) / 2 for a, b in itertools.pairwise(segment)) / 20
        assert tavg[k].Value.Value == pytest.approx(area), k
    half = T0 + 15 * SECOND  # between the rows at T0 and T0+30 s
    interp, _ = await read_all(
        ua_client,
        processed(half, half + 2 * TEN_MIN, TEN_MIN, ua.ObjectIds.AggregateFunction_Interpolative),
        "boiler1.temp",
    )
    assert interp[0].Value.Value == pytest.approx((rows[0].value + rows[1].value) / 2)


async def test_processed_reads_page_many_intervals_with_continuation_points(ua_client: Client) -> None:
    details = processed(T0, T0 + 2 * HOUR, SECOND // 2, ua.ObjectIds.AggregateFunction_Count)  # 14,400 intervals
    values, calls = await read_all(ua_client, details, "boiler1.temp")
    assert calls == 2 and len(values) == 14_400
    assert sum(v.Value.Value for v in values) == 240


async def test_read_at_time_gives_raw_interpolated_and_no_data(ua_client: Client) -> None:
    d = ua.ReadAtTimeDetails()
    d.ReqTimes = [at(T0 + 30 * SECOND), at(T0 + 15 * SECOND), at(T0 - HOUR)]
    result = await history_read(ua_client, d, "boiler1.temp")
    exact, between, before = result.HistoryData.DataValues
    rows = rows_of("boiler1.temp", T0, T0 + HOUR)
    assert exact.Value.Value == rows[1].value and exact.StatusCode.is_good()
    assert between.Value.Value == pytest.approx((rows[0].value + rows[1].value) / 2)
    assert between.StatusCode.value & 0x2 and between.SourceTimestamp == at(T0 + 15 * SECOND)
    assert before.StatusCode.value == ua.StatusCodes.BadNoData


async def status_of(c: Client, details: Any, point: str | ua.NodeId, **kw: Any) -> int:
    return (await history_read(c, details, point, **kw)).StatusCode.value


async def test_what_the_history_does_not_answer_gets_its_status_code(ua_client: Client) -> None:
    c = ua_client
    window = raw(T0, T0 + HOUR)
    range_agg = processed(T0, T0 + HOUR, TEN_MIN, ua.ObjectIds.AggregateFunction_Range)
    assert await status_of(c, range_agg, "ahu1.sat") == ua.StatusCodes.BadAggregateNotSupported
    assert await status_of(c, ua.ReadEventDetails(), "ahu1.sat") == ua.StatusCodes.BadHistoryOperationUnsupported
    modified = raw(T0, T0 + HOUR)
    modified.IsReadModified = True
    assert await status_of(c, modified, "ahu1.sat") == ua.StatusCodes.BadHistoryOperationUnsupported
    assert await status_of(c, window, "lab.temp") == ua.StatusCodes.BadHistoryOperationUnsupported
    assert await status_of(c, window, ua.NodeId("nope", 2)) == ua.StatusCodes.BadNodeIdUnknown
    assert await status_of(c, raw(T0, None), "ahu1.sat") == ua.StatusCodes.BadHistoryOperationInvalid
    neither = ua.TimestampsToReturn.Neither
    assert await status_of(c, window, "ahu1.sat", stamps=neither) == ua.StatusCodes.BadTimestampsToReturnInvalid
    forged = await history_read(c, window, "ahu1.sat", cp=b"TBH1" + bytes(33))
    assert forged.StatusCode.value == ua.StatusCodes.BadContinuationPointInvalid
    page = await history_read(c, raw(T0, T0 + HOUR, num=10), "ahu1.sat")
    other = await history_read(c, raw(T0, T0 + HOUR, num=20), "ahu1.sat", cp=page.ContinuationPoint)
    assert other.StatusCode.value == ua.StatusCodes.BadContinuationPointInvalid  # handed back with other details


async def test_one_aggregate_per_node_or_the_list_mismatch_status(ua_client: Client) -> None:
    details = processed(T0, T0 + HOUR, TEN_MIN, ua.ObjectIds.AggregateFunction_Average)
    params = ua.HistoryReadParameters()
    params.HistoryReadDetails = details
    params.TimestampsToReturn = ua.TimestampsToReturn.Source
    params.ReleaseContinuationPoints = False
    for point in ("ahu1.sat", "boiler1.temp"):
        rv = ua.HistoryReadValueId()
        rv.NodeId = await node_id(ua_client, point)
        params.NodesToRead.append(rv)
    results = await ua_client.uaclient.history_read(params)
    assert [r.StatusCode.value for r in results] == [ua.StatusCodes.BadAggregateListMismatch] * 2
