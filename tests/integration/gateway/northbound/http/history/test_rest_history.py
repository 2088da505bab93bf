"""REST history over real uvicorn: raw pages by cursor, aggregates, several points on one axis; JSON, CSV, Arrow."""

from __future__ import annotations

import csv
import io
import statistics
from typing import Any

import httpx
import pyarrow as pa

from gateway.history.model import datetime_of
from tests.integration.gateway.northbound.history_plant import BAD_SENSOR, HOUR, SECOND, T0, good_numbers, iso, rows_of

START, END = iso(T0), iso(T0 + 2 * HOUR)
TEN_MIN = 600 * SECOND


def expected_raw(point: str) -> list[tuple[str, Any, str]]:
    names = {0: "Good", BAD_SENSOR: "BadSensorFailure"}
    return [(iso(r.source_us), r.value, names[r.status]) for r in rows_of(point, T0, T0 + 2 * HOUR)]


async def all_pages(client: httpx.AsyncClient, url: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every row by following ``next``; also how many pages it took."""
    page = (await client.get(url, params=params)).json()
    rows, pages = list(page["rows"]), 1
    while page["next"]:
        answer = await client.get(page["next"])
        assert answer.status_code == 200, answer.text
        page = answer.json()
        rows += page["rows"]
        pages += 1
    return rows, pages


async def test_raw_json_pages_by_cursor_give_every_recorded_row_once(client: httpx.AsyncClient) -> None:
    rows, pages = await all_pages(client, "/points/ahu1.sat/history", start=START, end=END, limit=100)
    assert pages == 8  # 720 rows, 100 a page
    assert [(r["time"], r["value"], r["status"]) for r in rows] == expected_raw("ahu1.sat")
    assert rows[0]["server_time"] == iso(T0 + 1000)


async def test_raw_newest_first_with_order_desc(client: httpx.AsyncClient) -> None:
    rows, _ = await all_pages(client, "/points/boiler1.temp/history", start=START, end=END, limit=50, order="desc")
    assert [(r["time"], r["value"], r["status"]) for r in rows] == expected_raw("boiler1.temp")[::-1]


async def test_raw_csv_parses_back_with_the_next_page_in_headers(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/points/ahu1.sat/history", params={"start": START, "end": END, "limit": 500, "format": "csv"}
    )
    assert answer.headers["content-type"].startswith("text/csv")
    first = list(csv.DictReader(io.StringIO(answer.text)))
    assert 'rel="next"' in answer.headers["link"]
    second = await client.get(answer.headers["link"].split(">")[0][1:])
    assert "link" not in second.headers
    rows = first + list(csv.DictReader(io.StringIO(second.text)))
    want = expected_raw("ahu1.sat")
    assert [(r["time"], float(r["value"]) if r["value"] else None, r["status"]) for r in rows] == want


async def test_raw_arrow_by_accept_header_parses_back_with_pyarrow(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/points/ahu1.sat/history",
        params={"start": START, "end": END, "limit": 1000},
        headers={"Accept": "application/vnd.apache.arrow.stream"},
    )
    assert answer.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(answer.content).read_all()
    assert table.schema.field("time").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("value").type == pa.float64()
    assert table.schema.metadata[b"point"] == b"ahu1.sat"
    got = [
        (t.isoformat().replace("+00:00", "Z"), v, s)
        for t, v, s in zip(
            table.column("time").to_pylist(),
            table.column("value").to_pylist(),
            table.column("status").to_pylist(),
            strict=True,
        )
    ]
    assert got == expected_raw("ahu1.sat")


async def test_boolean_points_keep_their_type_in_arrow(client: httpx.AsyncClient) -> None:
    answer = await client.get("/points/ahu1.run/history", params={"start": START, "end": END, "format": "arrow"})
    table = pa.ipc.open_stream(answer.content).read_all()
    assert table.schema.field("value").type == pa.bool_()
    assert table.column("value").to_pylist() == [i % 2 == 0 for i in range(24)]


def independent(point: str, fn: Any) -> list[Any]:
    """``fn`` of the Good numbers of each 10-minute interval of the two hours, None where there are none."""
    out = []
    for k in range(12):
        values = good_numbers(rows_of(point, T0 + k * TEN_MIN, T0 + (k + 1) * TEN_MIN))
        out.append(fn(values) if values else None)
    return out


async def test_aggregates_equal_those_computed_from_the_raw_rows(client: httpx.AsyncClient) -> None:
    for name, fn in (("average", statistics.fmean), ("minimum", min), ("maximum", max), ("count", len)):
        answer = await client.get(
            "/points/ahu1.sat/history", params={"start": START, "end": END, "interval": "10m", "aggregate": name}
        )
        body = answer.json()
        assert body["aggregate"] == name and body["interval"] == "10m"
        assert [r["time"] for r in body["rows"]] == [iso(T0 + k * TEN_MIN) for k in range(12)]
        got = [r["value"] for r in body["rows"]]
        want = independent("ahu1.sat", fn)
        assert got == (want if name == "count" else [pytest_approx(w) for w in want]), name
    # the interval holding the BadSensorFailure row is Uncertain, the others Good
    statuses = [r["status"] for r in body["rows"]]
    assert statuses[8] == "UncertainDataSubNormal" and statuses[0] == "Good"


def pytest_approx(value: float | None) -> Any:
    import pytest

    return None if value is None else pytest.approx(value, rel=1e-9)


async def test_an_aggregate_without_interval_covers_the_whole_range(client: httpx.AsyncClient) -> None:
    body = (
        await client.get("/points/boiler1.temp/history", params={"start": START, "end": END, "aggregate": "average"})
    ).json()
    [row] = body["rows"]
    assert row["value"] == pytest_approx(statistics.fmean(good_numbers(rows_of("boiler1.temp", T0, T0 + 2 * HOUR))))


async def test_several_points_on_one_time_axis_in_three_formats(client: httpx.AsyncClient) -> None:
    params = {"points": "ahu1.sat,boiler1.temp", "start": START, "end": END, "interval": "10m", "aggregate": "average"}
    body = (await client.get("/history", params=params)).json()
    assert body["points"] == ["ahu1.sat", "boiler1.temp"]
    assert body["time"] == [iso(T0 + k * TEN_MIN) for k in range(12)]
    for point in body["points"]:
        single = (await client.get(f"/points/{point}/history", params={**params, "points": None})).json()
        assert body["series"][point]["values"] == [r["value"] for r in single["rows"]]
    table = pa.ipc.open_stream((await client.get("/history", params={**params, "format": "arrow"})).content).read_all()
    assert table.column_names == ["time", "ahu1.sat", "ahu1.sat#status", "boiler1.temp", "boiler1.temp#status"]
    assert table.column("boiler1.temp").to_pylist() == body["series"]["boiler1.temp"]["values"]
    text = (await client.get("/history", params={**params, "format": "csv"})).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["time"] for r in rows] == body["time"]
    assert [float(r["ahu1.sat"]) for r in rows] == body["series"]["ahu1.sat"]["values"]


async def test_relative_times_count_back_from_now(client: httpx.AsyncClient) -> None:
    body = (await client.get("/points/ahu1.sat/history", params={"start": "-1h", "end": "now"})).json()
    start, end = (datetime_of(0).fromisoformat(body[k].replace("Z", "+00:00")) for k in ("start", "end"))
    assert (end - start).total_seconds() == 3600
