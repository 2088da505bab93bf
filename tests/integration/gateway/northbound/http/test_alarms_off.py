"""A gateway whose mapping has no analytics: /alarms lists nothing, actions say why they cannot be done, and the
alarm routes are in the OpenAPI document."""

from __future__ import annotations

import httpx


async def test_without_analytics_lists_are_empty_and_actions_404(
    client: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    r = await client.get("/alarms")
    assert r.status_code == 200 and r.json() == []
    r = await client.get("/alarms/history")
    assert r.status_code == 200 and r.json() == []
    r = await operator.post("/alarms/boiler1.temp/limit/ack")
    assert r.status_code == 404 and "no analytics" in r.json()["error"]
    assert (await client.get("/alarms/boiler1.temp/limit")).status_code == 404
    assert (await client.get("/alarms", params={"asset": "nope"})).status_code == 404  # filters still checked


async def test_alarm_routes_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/alarms",
        "/alarms/history",
        "/alarms/{alarm_id}",
        "/alarms/{alarm_id}/ack",
        "/alarms/{alarm_id}/shelve",
    } <= set(paths)
    assert "409" in paths["/alarms/{alarm_id}/ack"]["post"]["responses"]
