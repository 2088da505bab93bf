"""Alarms over real HTTP on a running gateway (sim source -> twin -> alarm engine): GET /alarms with filters,
operator actions recorded in /alarms/history, roles, the SSE ``alarm`` event, and the alarm RDF joined to its
equipment by SPARQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.http.conftest import OPERATOR, READER

MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms}
gateway:
  http:
    port: 0
    tokens:
      - {name: dashboards, role: reader, token: "${READER}"}
      - {name: ops, role: operator, token: "${OPERATOR}"}
sources:
  - {id: sim1, kind: sim, interval: 50ms}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - id: boiler1
    type: brick:Boiler
    parent: site
    label: Boiler 1
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, label: Supply temperature, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 91.5},
         alarms: [{limit: {high: 85 °C, deadband: 1 K}, severity: 800}, {stale: 1h, severity: 300}]}
  - id: ahu1
    type: brick:AHU
    parent: hall
    label: AHU 1
    source: sim1
    points:
      - {id: sat_sp, type: setpoint, class: brick:Supply_Air_Temperature_Setpoint, label: Supply air setpoint,
         unit: DEG_C, datatype: float, writable: true, min: 0, max: 100, address: {signal: constant, initial: 20},
         alarms: [{limit: {high: 30 °C}, severity: 500}]}
"""
LIMIT = "boiler1.temp/limit"
SETPOINT = "ahu1.sat_sp/limit"


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:  # overrides the package's: this one has alarms
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}, env={"READER": READER, "OPERATOR": OPERATOR}))
    await gw.start()
    await wait_for(lambda: gw.view.analytics is not None and gw.view.analytics.alarm(LIMIT) is not None)
    await wait_for(lambda: gw.view.analytics.alarm(LIMIT).active, what="the limit alarm active")
    yield gw
    await gw.stop()


async def until(fetch: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], what: str) -> Any:
    """Poll an HTTP answer until ``ok`` holds (state, not time: the deadline only stops a hung test)."""
    for _ in range(250):
        got = await fetch()
        if ok(got):
            return got
        await asyncio.sleep(0.04)
    raise AssertionError(f"{what}: last answer {got!r}")


async def test_alarms_listed_filtered_and_fetched_by_id(client: httpx.AsyncClient) -> None:
    ids = lambda r: [a["id"] for a in r.json()]  # noqa: E731
    r = await client.get("/alarms")
    assert r.status_code == 200 and ids(r) == [LIMIT]  # retained only: the stale rule is inactive
    a = r.json()[0]
    assert (a["severity"], a["active"], a["acked"], a["limit_state"], a["kind"]) == (800, True, False, "High", "limit")
    assert a["asset"] == "boiler1" and a["point"] == "boiler1.temp" and a["value"] == 91.5 and a["unit"] == "DEG_C"
    assert bytes.fromhex(a["event_id"]) and datetime.fromisoformat(a["active_since"]).tzinfo is not None
    assert set(ids(await client.get("/alarms", params={"state": "all"}))) == {LIMIT, "boiler1.temp/stale", SETPOINT}
    assert ids(await client.get("/alarms", params={"state": "unacked"})) == [LIMIT]
    assert ids(await client.get("/alarms", params={"state": "shelved"})) == []
    assert ids(await client.get("/alarms", params={"asset": "site"})) == [LIMIT]
    assert ids(await client.get("/alarms", params={"asset": "hall", "state": "all"})) == [SETPOINT]
    assert ids(await client.get("/alarms", params={"severity_min": 801})) == []
    assert ids(await client.get("/alarms", params={"class": "brick:Temperature_Sensor"})) == [LIMIT]  # a subclass
    assert ids(await client.get("/alarms", params={"class": "brick:Pressure_Sensor"})) == []
    assert ids(await client.get("/alarms", params={"point": "ahu1.sat_sp,boiler1.temp", "state": "all"})) == [
        LIMIT,  # the most severe first
        SETPOINT,
        "boiler1.temp/stale",
    ]
    assert (await client.get("/alarms", params={"asset": "nope"})).status_code == 404
    assert (await client.get("/alarms", params={"class": "brick:Nonsense"})).status_code == 400
    one = await client.get(f"/alarms/{LIMIT}")
    assert one.status_code == 200 and one.json()["id"] == LIMIT
    missing = await client.get("/alarms/boiler1.temp/nope")
    assert missing.status_code == 404 and LIMIT in missing.json()["nearest"]


async def test_operator_actions_answer_the_new_state_and_are_recorded(
    client: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    refused = await client.post(f"/alarms/{LIMIT}/ack")
    assert refused.status_code == 403 and "operator" in refused.json()["error"]  # a reader may not
    r = await operator.post(f"/alarms/{LIMIT}/ack", json={"comment": "burner checked"})
    assert r.status_code == 200 and r.json()["acked"] is True and r.json()["last_actor"] == "ops"
    again = await operator.post(f"/alarms/{LIMIT}/ack")
    assert again.status_code == 409 and again.json()["status"] == "BadConditionBranchAlreadyAcked"
    assert (await operator.post(f"/alarms/{LIMIT}/unshelve")).status_code == 409  # not shelved
    r = await operator.post(f"/alarms/{LIMIT}/shelve", json={"duration": "30min", "comment": "maintenance"})
    assert r.status_code == 200 and r.json()["shelved"] == "timed"
    until_at = datetime.fromisoformat(r.json()["unshelve_at"])
    assert timedelta(minutes=25) < until_at - datetime.now(UTC) <= timedelta(minutes=30)
    assert (await operator.post(f"/alarms/{LIMIT}/shelve", json={"duration": "soon"})).status_code == 422
    assert (await operator.post(f"/alarms/{LIMIT}/unshelve")).json()["shelved"] is None
    assert (await operator.post(f"/alarms/{LIMIT}/comment", json={"comment": "see ticket 42"})).status_code == 200
    assert (await operator.post(f"/alarms/{LIMIT}/disable")).json()["enabled"] is False
    assert (await operator.post(f"/alarms/{LIMIT}/enable")).json()["enabled"] is True
    assert (await operator.post("/alarms/x.y/limit/ack")).status_code == 404

    r = await client.get("/alarms/history", params={"alarm": LIMIT, "start": "-1h"})
    assert r.status_code == 200
    steps = [(e["transition"], e["actor"], e["comment"]) for e in r.json()]
    assert steps[0] == ("activated", None, None)
    assert ("acknowledged", "ops", "burner checked") in steps
    assert ("shelved", "ops", "maintenance") in steps
    assert ("comment", "ops", "see ticket 42") in steps
    done = [t for t, _, _ in steps]
    assert done.index("shelved") < done.index("unshelved") < done.index("disabled") < done.index("enabled")
    assert r.json()[1]["alarm"]["acked"] is True  # each entry holds the state after it
    assert (await client.get("/alarms/history", params={"start": "yesterday"})).status_code == 400


async def test_the_stream_carries_alarm_events(base_url: str, operator: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {READER}"}
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as c,
        c.stream("GET", "/stream", params={"points": "ahu1.sat_sp"}) as resp,
    ):
        lines = resp.aiter_lines()
        await anext(lines)  # ": connected": subscribed before the write
        assert (await operator.put("/points/ahu1.sat_sp/value", json={"value": 35})).status_code == 200
        kind = None
        async for line in lines:
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "alarm":
                event = json.loads(line[6:])
                break
        assert event["alarm_id"] == SETPOINT and event["transition"] == "activated"
        assert event["alarm"]["active"] is True and event["alarm"]["value"] == 35
        assert datetime.fromisoformat(event["time"]).tzinfo is not None


async def test_an_alarms_only_stream_carries_no_point_changes(base_url: str, operator: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {READER}"}
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as c,
        c.stream("GET", "/stream", params={"events": "alarm"}) as resp,
    ):
        lines = resp.aiter_lines()
        await anext(lines)  # ": connected"
        assert (await operator.put("/points/ahu1.sat_sp/value", json={"value": 36})).status_code == 200
        kinds = []
        async for line in lines:
            if line.startswith("event: "):
                kinds.append(line[7:])
                if kinds[-1] == "alarm":
                    break
        assert kinds == ["alarm"]  # the write's change (and every other point's) is not on this stream
        assert (await c.get("/stream", params={"events": "changes"})).status_code == 422


SPARQL = """PREFIX tb: <https://w3id.org/twinbridge#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX brick: <https://brickschema.org/schema/Brick#>
SELECT ?equipment ?point ?severity ?state WHERE {
  ?alarm a tb:AlarmCondition ; tb:concerns ?asset ; tb:alarmOf ?p ; tb:severity ?severity ; tb:alarmState ?state .
  ?asset a brick:Boiler ; rdfs:label ?equipment .
  ?p rdfs:label ?point .
}"""


async def test_active_alarms_are_rdf_joined_to_their_equipment(
    client: httpx.AsyncClient, operator: httpx.AsyncClient
) -> None:
    async def rows() -> list[dict[str, str]]:
        r = await client.post("/sparql", data={"query": SPARQL}, headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 200, r.text
        return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]

    got = await until(rows, lambda r: len(r) == 1, "the boiler's alarm in the graph")
    assert got == [
        {"equipment": "Boiler 1", "point": "Supply temperature", "severity": "800", "state": "unacknowledged"}
    ]
    assert (await operator.post(f"/alarms/{LIMIT}/ack")).status_code == 200
    await until(rows, lambda r: r and r[0]["state"] == "acknowledged", "the acknowledgement in the graph")
