"""REST endpoints, write-back, the SSE stream, roles and metrics over real HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx

from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.http.conftest import ADMIN


async def test_assets(client: httpx.AsyncClient) -> None:
    r = await client.get("/assets")
    assert {a["id"] for a in r.json()} == {"site", "hall", "ahu1", "boiler1"}
    r = await client.get("/assets", params={"level": "equipment", "under": "hall"})
    assert [a["id"] for a in r.json()] == ["ahu1"]
    a = (await client.get("/assets/ahu1")).json()
    assert a["types"] == ["brick:AHU"] and a["parent"] == "hall" and a["level"] == "equipment"
    assert a["points"] == ["ahu1.sat", "ahu1.fan", "ahu1.run"] and a["iri"] == "http://t.local/asset/ahu1"
    assert (await client.get("/assets/site")).json()["children"] == ["hall", "boiler1"]
    r = await client.get("/assets/nope")
    assert r.status_code == 404 and "nope" in r.json()["error"]


async def test_points_and_filters(client: httpx.AsyncClient) -> None:
    ids = lambda r: sorted(p["id"] for p in r.json())  # noqa: E731
    assert ids(await client.get("/points", params={"asset": "hall"})) == ["ahu1.fan", "ahu1.run", "ahu1.sat"]
    assert ids(await client.get("/points", params={"type": "setpoint"})) == ["ahu1.fan"]
    assert ids(await client.get("/points", params={"type": "brick:Water_Temperature_Sensor"})) == ["boiler1.temp"]
    assert ids(await client.get("/points", params={"unit": "DEG_C"})) == ["ahu1.sat", "boiler1.temp"]
    assert ids(await client.get("/points", params={"quality": "bad"})) == []
    assert ids(await client.get("/points", params={"source": "sim1"})) == [
        "ahu1.fan",
        "ahu1.run",
        "ahu1.sat",
        "boiler1.temp",
    ]
    assert ids(await client.get("/points", params={"source": "plc9"})) == []
    listed = {p["id"]: p for p in (await client.get("/points")).json()}
    assert listed["boiler1.temp"]["unit_symbol"] == "°C" and listed["boiler1.temp"]["source"] == "sim1"
    assert listed["boiler1.temp"]["recorded"] is True  # history records every point by default
    assert (await client.get("/points", params={"type": "brick:Nonsense"})).status_code == 400
    p = (await client.get("/points/boiler1.temp")).json()
    assert p["state"]["value"] == 71.5 and p["state"]["quality"] == "good" and p["state"]["status"] == "Good"
    assert p["unit"] == "DEG_C" and p["source"] == "sim1" and p["target"] == "sim://sim1/constant"
    assert p["state"]["source_time"] and p["state"]["gateway_time"]
    assert (await client.get("/points/x.y")).status_code == 404


async def test_write_back_reaches_the_device(
    operator: httpx.AsyncClient, client: httpx.AsyncClient, gateway: Gateway
) -> None:
    r = await operator.put("/points/ahu1.fan/value", json={"value": 75})
    assert r.status_code == 200 and r.json() == {"point": "ahu1.fan", "status": "Good", "ok": True, "reason": None}
    await wait_for(lambda: gateway.twin.state("ahu1.fan").value == 75)
    r = await operator.put("/points/ahu1.fan/value", json={"value": 175})
    assert r.status_code == 422 and r.json()["status"] == "BadOutOfRange"
    r = await operator.put("/points/ahu1.sat/value", json={"value": 1})
    assert r.status_code == 409 and r.json()["status"] == "BadNotWritable"
    r = await operator.put("/points/ahu1.fan/value", json={"value": "fast"})
    assert r.status_code == 422 and r.json()["status"] == "BadTypeMismatch"
    r = await operator.put("/points/nope.x/value", json={"value": 1})
    assert r.status_code == 404
    r = await client.put("/points/ahu1.fan/value", json={"value": 10})  # a reader may not write
    assert r.status_code == 403 and "operator" in r.json()["error"]


async def test_admin_token_from_hash(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        assert (await c.get("/sources")).status_code == 200
        assert (await c.put("/points/ahu1.fan/value", json={"value": 5})).status_code == 200


async def test_sources_health_metrics(client: httpx.AsyncClient) -> None:
    s = (await client.get("/sources")).json()
    assert s[0]["id"] == "sim1" and s[0]["state"] == "connected" and s[0]["samples_in"] > 0
    h = (await client.get("/health")).json()
    assert h["ready"] is True and h["sources"] == {"sim1": "connected"}
    await client.get("/sparql", params={"query": "ASK {}"})
    m = (await client.get("/metrics")).text
    assert 'twinbridge_samples_total{source="sim1"}' in m
    assert "twinbridge_sparql_query_seconds_count" in m and "twinbridge_http_requests_total" in m


async def test_health_reports_a_down_source(client: httpx.AsyncClient, gateway: Gateway) -> None:
    gateway.adapter("sim1").simulate_outage(2.0)  # type: ignore[union-attr]
    await wait_for(lambda: gateway.supervisors["sim1"].state.value != "connected")
    r = await client.get("/health")
    assert r.status_code == 503 and r.json()["ready"] is False


async def test_sse_stream_delivers_changes(base_url: str, operator: httpx.AsyncClient) -> None:
    from tests.integration.gateway.northbound.http.conftest import READER

    headers = {"Authorization": f"Bearer {READER}"}
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as c,
        c.stream("GET", "/stream", params={"points": "ahu1.fan"}) as resp,
    ):
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.aiter_lines()

        async def next_change() -> dict[str, object]:
            async for line in lines:
                if line.startswith("data: {"):
                    return json.loads(line[6:])  # type: ignore[no-any-return]
            raise AssertionError("stream ended")

        await asyncio.sleep(0.1)
        assert (await operator.put("/points/ahu1.fan/value", json={"value": 33})).status_code == 200
        for _ in range(50):
            change = await asyncio.wait_for(next_change(), 5)
            assert change["point"] == "ahu1.fan"
            if change["value"] == 33:
                break
        else:
            raise AssertionError("the written value never came through the stream")
    r = await operator.get("/stream", params={"points": "nope.x"})
    assert r.status_code == 404


async def test_health_degrades_while_a_service_reports_trouble(client: httpx.AsyncClient, gateway: Gateway) -> None:
    from gateway.twin.view import ServiceHealth

    trouble = {"ok": True}
    gateway.view.add_service_health(
        "mqtt", lambda: ServiceHealth(trouble["ok"], "ok" if trouble["ok"] else "buffering", {"buffered": 7})
    )
    r = await client.get("/health")
    assert r.status_code == 200 and r.json()["services"]["mqtt"] == {"ok": True, "state": "ok", "buffered": 7}
    trouble["ok"] = False
    r = await client.get("/health")
    body = r.json()
    assert r.status_code == 503 and body["status"] == "degraded" and body["ready"] is True
    assert body["services"]["mqtt"]["state"] == "buffering"
