"""The demo records history out of the box: after it has run a little, every point of the demo has rows, and
REST, SPARQL and OPC UA HistoryRead read the same past."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asyncua import Client, ua

from gateway.demo_plant.runner import Demo
from tests.conftest import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _rows(http: httpx.AsyncClient, pid: str) -> list[dict[str, object]]:
    r = await http.get(f"/points/{pid}/history", params={"start": "-10m", "limit": "10000"})
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


async def test_every_demo_point_has_history_readable_over_rest_sparql_and_opcua(plant: Demo) -> None:
    model = plant.gateway.model  # type: ignore[union-attr]
    twin = plant.gateway.twin  # type: ignore[union-attr]
    sensor = "hall-s1.temperature"  # discovered from MQTT at run time: recorded as well
    await wait_for(lambda: sensor in twin.states(), timeout=20, what="the MQTT sensors discovered")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{plant.ports.http}", timeout=10) as http:
        points = sorted(model.points)
        assert len(points) >= 20
        missing: list[str] = points
        for _ in range(40):  # the recorder flushes every second
            missing = [p for p in missing if not await _rows(http, p)]
            if not missing:
                break
            await asyncio.sleep(0.5)
        assert missing == [], f"points without history: {missing}"
        await asyncio.sleep(4)  # a few more samples of the sensor (it publishes every second)
        rows = await _rows(http, sensor)
        assert len(rows) >= 2 and all(isinstance(r["value"], float) for r in rows)
        # a range that ended 2 s ago: every row in it has been flushed (each second), so REST and SPARQL see the same
        start, end = rows[0]["time"], (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
        got = (
            await http.get(
                f"/points/{sensor}/history",
                params={"start": str(start), "end": end, "aggregate": "count"},
            )
        ).json()["rows"][0]["value"]
        stop = datetime.fromisoformat(end)
        assert got == sum(datetime.fromisoformat(str(r["time"])) < stop for r in rows) >= 2
        # SPARQL's tbh: function over the same range: the same average as REST
        avg = (
            await http.get(
                f"/points/{sensor}/history",
                params={"start": str(start), "end": end, "aggregate": "average"},
            )
        ).json()["rows"][0]["value"]
        query = (
            "PREFIX tbh: <https://w3id.org/twinbridge/history#> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
            f"SELECT ?avg WHERE {{ BIND(tbh:average(<{plant.gateway.twin.ids.point(sensor)}>, "  # type: ignore[union-attr]
            f'"{start}"^^xsd:dateTime, "{end}"^^xsd:dateTime) AS ?avg) }}'
        )
        r = await http.post("/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 200, r.text
        sparql_avg = float(r.json()["results"]["bindings"][0]["avg"]["value"])
        assert math.isclose(sparql_avg, float(avg), rel_tol=1e-9)
    # OPC UA HistoryRead of the same point's raw values
    async with Client(f"opc.tcp://127.0.0.1:{plant.ports.opcua}", timeout=10) as c:
        ns = await c.get_namespace_index(plant.gateway.model.settings.base_iri + "opcua")  # type: ignore[union-attr]
        node = c.get_node(ua.NodeId(sensor, ns))
        values = await node.read_raw_history(
            datetime.now(UTC) - timedelta(minutes=10), datetime.now(UTC) + timedelta(seconds=1)
        )
        assert len(values) >= len(rows)
