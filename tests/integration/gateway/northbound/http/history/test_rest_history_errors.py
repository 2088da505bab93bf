"""Bad history requests get a 4xx that says what to change."""

from __future__ import annotations

import httpx

from tests.integration.gateway.northbound.history_plant import HOUR, T0, iso

START, END = iso(T0), iso(T0 + 2 * HOUR)


async def error(client: httpx.AsyncClient, url: str, status: int, **params: str) -> dict[str, object]:
    answer = await client.get(url, params=params)
    assert answer.status_code == status, answer.text
    return answer.json()


async def test_unknown_point_names_the_nearest_ids(client: httpx.AsyncClient) -> None:
    body = await error(client, "/points/ahu1.sta/history", 404)
    assert body["nearest"][0] == "ahu1.sat"
    assert "no point 'ahu1.sta'; nearest: ahu1.sat" in str(body["error"])
    body = await error(client, "/history", 404, points="ahu1.sat,boiler1.tmp", aggregate="average")
    assert "boiler1.temp" in str(body["error"])


async def test_a_point_whose_history_is_off_says_how_to_record_it(client: httpx.AsyncClient) -> None:
    body = await error(client, "/points/lab.temp/history", 404)
    assert "not recorded" in str(body["error"]) and "history: {mode: all}" in str(body["error"])
    listed = {p["id"]: p["recorded"] for p in (await client.get("/points")).json()}  # known before asking
    assert listed["lab.temp"] is False and listed["ahu1.sat"] is True


async def test_reversed_range_says_to_swap(client: httpx.AsyncClient) -> None:
    body = await error(client, "/points/ahu1.sat/history", 400, start=END, end=START)
    assert "is not before end" in str(body["error"]) and "swap" in str(body["error"])


async def test_unknown_aggregate_lists_the_known_ones(client: httpx.AsyncClient) -> None:
    body = await error(client, "/points/ahu1.sat/history", 400, start=START, end=END, aggregate="mean")
    assert body["error"] == (
        "unknown aggregate 'mean'; known: average, time_average, minimum, maximum, count, start, end, interpolative"
    )
    await error(client, "/history", 400, points="ahu1.sat", aggregate="median")


async def test_an_interval_making_too_many_buckets_names_one_that_fits(client: httpx.AsyncClient) -> None:
    body = await error(
        client, "/points/ahu1.sat/history", 400, start=START, end=END, interval="1s", aggregate="average", limit="100"
    )
    assert "makes 7,200 intervals, more than limit=100" in str(body["error"])
    assert "use interval=2m or wider" in str(body["error"])  # 2 h / 100 = 72 s, rounded up
    await error(
        client, "/history", 400, points="ahu1.sat", start=START, end=END, interval="1s", aggregate="count", limit="10"
    )


async def test_unreadable_times_and_durations_say_what_is_expected(client: httpx.AsyncClient) -> None:
    body = await error(client, "/points/ahu1.sat/history", 400, start="yesterday")
    assert str(body["error"]).startswith("start: expected an ISO 8601 time such as 2026-05-01T12:00:00Z")
    body = await error(client, "/points/ahu1.sat/history", 400, end="2026-13-01")
    assert str(body["error"]).startswith("end: expected an ISO 8601 time")
    body = await error(client, "/points/ahu1.sat/history", 400, interval="often", aggregate="average")
    assert str(body["error"]).startswith("interval: expected a duration such as 500ms")


async def test_an_interval_without_aggregate_asks_for_one(client: httpx.AsyncClient) -> None:
    body = await error(client, "/points/ahu1.sat/history", 400, interval="1m")
    assert "interval needs an aggregate; add aggregate=" in str(body["error"])


async def test_formats_known_and_unknown(client: httpx.AsyncClient) -> None:
    body = await error(client, "/points/ahu1.sat/history", 400, format="xlsx")
    assert body["error"] == "unknown format 'xlsx'; use format=json, csv or arrow"
    answer = await client.get("/points/ahu1.sat/history", headers={"Accept": "text/html"})
    assert answer.status_code == 406 and "text/csv" in answer.json()["error"]


async def test_a_cursor_is_refused_when_forged_or_for_another_point(client: httpx.AsyncClient) -> None:
    page = (await client.get("/points/ahu1.sat/history", params={"start": START, "end": END, "limit": 10})).json()
    body = await error(client, "/points/boiler1.temp/history", 400, cursor=page["cursor"])
    assert "cursor belongs to point 'ahu1.sat'" in str(body["error"])
    body = await error(client, "/points/ahu1.sat/history", 400, cursor="not-a-cursor")
    assert "drop it to start again" in str(body["error"])


async def test_history_needs_a_token(client: httpx.AsyncClient) -> None:
    answer = await client.get("/points/ahu1.sat/history", headers={"Authorization": ""})
    assert answer.status_code == 401
