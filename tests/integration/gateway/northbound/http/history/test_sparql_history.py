"""SPARQL tbh: history functions over real uvicorn and the query worker process: the same numbers as REST, the
documented queries (docs/api.md) as written, and the errors that fail a query."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config.loader import load_mappings
from gateway.history.model import HistoryRow
from gateway.northbound.http.history_times import now_us
from gateway.runtime import Gateway
from tests.integration.gateway.northbound.history_plant import HOUR, SECOND, T0, history_gateway, iso, rows_of
from tests.integration.gateway.northbound.http.history.conftest import HTTP, READER

ROOT = Path(__file__).resolve().parents[6]
PREFIXES = """PREFIX tbh: <https://w3id.org/twinbridge/history#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
POINT = "http://t16.local/point/"


def recent_rows() -> list[HistoryRow]:
    """The last hour of ahu1.sat at 21 °C, for the documented query about 'the last hour'."""
    now = now_us()
    return [HistoryRow("ahu1.sat", t, t, 21.0, 0) for t in range(now - HOUR + SECOND, now, 60 * SECOND)]


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with history_gateway(tmp_path, HTTP, env={"READER": READER}, extra=recent_rows()) as gw:
        yield gw


async def select(client: httpx.AsyncClient, query: str) -> list[dict[str, Any]]:
    answer = await client.post("/sparql", content=query, headers={"Content-Type": "application/sparql-query"})
    assert answer.status_code == 200, answer.text
    return [{k: v["value"] for k, v in b.items()} for b in answer.json()["results"]["bindings"]]


async def rest_value(client: httpx.AsyncClient, point: str, aggregate: str, start: int, end: int) -> Any:
    params = {"start": iso(start), "end": iso(end), "aggregate": aggregate}
    [row] = (await client.get(f"/points/{point}/history", params=params)).json()["rows"]
    return row["value"]


async def test_functions_return_the_same_numbers_as_rest(client: httpx.AsyncClient) -> None:
    start, end = T0 + 7 * SECOND, T0 + HOUR + 13 * SECOND  # not aligned on samples: bounds matter
    names = {"average": "average", "timeAverage": "time_average", "minimum": "minimum", "maximum": "maximum"}
    names |= {"count": "count", "start": "start", "end": "end"}
    binds = "\n".join(f'  BIND(tbh:{f}(?p, "{iso(start)}"^^xsd:dateTime, "{iso(end)}") AS ?{f})' for f in names)
    query = PREFIXES + f"SELECT * WHERE {{\n  VALUES ?p {{ <{POINT}ahu1.sat> <{POINT}boiler1.temp> }}\n{binds}\n}}"
    rows = await select(client, query)
    assert len(rows) == 2
    for row in rows:
        point = row["p"].removeprefix(POINT)
        for function, aggregate in names.items():
            rest = await rest_value(client, point, aggregate, start, end)
            assert rest is not None
            assert type(rest)(row[function]) == rest, (point, function)


async def test_value_at_is_the_last_recorded_value_and_interpolated_the_line(client: httpx.AsyncClient) -> None:
    t = T0 + 45 * SECOND
    query = PREFIXES + (
        f'SELECT ?v ?i WHERE {{ BIND(tbh:valueAt(<{POINT}boiler1.temp>, "{iso(t)}"^^xsd:dateTime) AS ?v)'
        f' BIND(tbh:interpolated(<{POINT}boiler1.temp>, "{iso(t)}"^^xsd:dateTime) AS ?i) }}'
    )
    [row] = await select(client, query)
    before, after = rows_of("boiler1.temp", T0 + 30 * SECOND, T0 + 61 * SECOND)
    assert float(row["v"]) == before.value
    assert float(row["i"]) == pytest.approx((before.value + after.value) / 2)  # type: ignore[operator]


async def test_no_data_and_non_points_leave_the_value_unbound(client: httpx.AsyncClient) -> None:
    query = PREFIXES + (
        f'SELECT ?old ?asset WHERE {{ BIND(tbh:average(<{POINT}ahu1.sat>, "2020-01-01T00:00:00Z", "2020-01-02")'
        ' AS ?old) BIND(tbh:average(<http://t16.local/asset/ahu1>, "-1h", "now") AS ?asset) }'
    )
    assert await select(client, query) == [{}]


def documented_queries() -> list[str]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text[text.index("### SPARQL history functions") :]
    return re.findall(r"^```sparql\n(.*?)^```", section, re.S | re.M)


async def test_the_documented_queries_answer_as_described(client: httpx.AsyncClient) -> None:
    last_hour, morning = documented_queries()
    [hot] = await select(client, last_hour)
    # the seeded hour at 21 °C plus what the recorder added meanwhile (the simulated sensor, 18-20 °C)
    assert hot["point"] == POINT + "ahu1.sat" and 18 < float(hot["average"]) <= 21
    [water] = await select(client, morning)
    values = [r.value for r in rows_of("boiler1.temp", T0, T0 + 2 * HOUR)]
    assert water["point"] == POINT + "boiler1.temp"
    assert (float(water["min"]), float(water["max"]), int(water["samples"])) == (min(values), max(values), 240)
    assert float(water["avg"]) == pytest.approx(sum(values) / 240)  # type: ignore[arg-type]
    assert float(water["at9"]) == rows_of("boiler1.temp", T0 + HOUR, T0 + HOUR + 1)[0].value


async def test_an_unreadable_time_fails_the_query_saying_what_to_write(client: httpx.AsyncClient) -> None:
    query = PREFIXES + f'SELECT ?a WHERE {{ BIND(tbh:average(<{POINT}ahu1.sat>, "last tuesday", "now") AS ?a) }}'
    answer = await client.post("/sparql", content=query, headers={"Content-Type": "application/sparql-query"})
    assert answer.status_code == 400
    assert "tbh:average argument 2: expected an ISO 8601 time such as 2026-05-01T12:00:00Z" in answer.json()["error"]
    wrong = PREFIXES + f"SELECT ?a WHERE {{ BIND(tbh:valueAt(<{POINT}ahu1.sat>) AS ?a) }}"
    answer = await client.post("/sparql", content=wrong, headers={"Content-Type": "application/sparql-query"})
    assert answer.status_code == 400 and "tbh:valueAt takes 2 arguments" in answer.json()["error"]


async def test_without_history_the_functions_fail_the_query_and_rest_says_so(tmp_path: Path) -> None:
    text = "twin: {base_iri: 'http://t16.local/', history: {mode: 'off'}}\n" + HTTP
    text += "sources: [{id: s, kind: sim, interval: 1s}]\n"
    text += "assets: [{id: a, source: s, points: [{id: p, datatype: float, unit: DEG_C, address: {signal: constant}}]}]"
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text + "\n"}, env={"READER": READER}))
    await gw.start()
    try:
        base = f"http://127.0.0.1:{gw.services['http'].port}"  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {READER}"}) as c:
            query = PREFIXES + f'SELECT ?a WHERE {{ BIND(tbh:count(<{POINT}a.p>, "-1h", "now") AS ?a) }}'
            answer = await c.post("/sparql", content=query, headers={"Content-Type": "application/sparql-query"})
            assert answer.status_code == 400 and "need the gateway to record history" in answer.json()["error"]
            answer = await c.get("/points/a.p/history")
            assert answer.status_code == 404 and "records no history" in answer.json()["error"]
    finally:
        await gw.stop()
