"""The demo's topology answers with the expected rows: over SPARQL (the queries of examples/queries.md), over REST
(location and fed_by filters, relations and nameplates), over OPC UA (Feeds references, a nameplate with its
unit), and the machine's DI nameplate as discovery drafts it."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from asyncua import Client, ua

from adapters.opcua.discover import discover
from gateway.demo_plant.machine import NAMEPLATE
from gateway.demo_plant.runner import DEMO_MAPPING, Demo, Ports
from gateway.units import CATALOG
from tests.conftest import wait_for
from tests.e2e.conftest import free_ports
from tests.e2e.test_example_queries import queries_md

README = Path(__file__).resolve().parents[2] / "README.md"
SENSORS = ("hall-s1", "hall-s2", "office-s3")
SENSOR_POINTS = {f"{s}.{p}" for s in SENSORS for p in ("temperature", "humidity", "co2", "setpoint")}
QUDT_UNIT = "http://qudt.org/vocab/unit/"
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _query(marker: str) -> str:
    """The prefixes plus the one query of examples/queries.md that contains ``marker``."""
    prefixes, queries = queries_md()
    (query,) = [q for q in queries if marker in q]
    return prefixes + query


def _local(term: Any) -> str:
    """The id at the end of an IRI of the twin (asset/, point/ or location/), or the literal's text."""
    return str(term.value).rsplit("/", 1)[-1]


def _table(result: Any) -> list[dict[str, Any]]:
    names = [v.value for v in result.variables]
    return [{n: s[n] for n in names if s[n] is not None} for s in result]


async def _steady_rows(demo: Demo, query: str, points: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The query's rows and the twin's values of ``points``, taken while those did not change (the sensors keep
    publishing every second)."""
    twin = demo.gateway.twin  # type: ignore[union-attr]
    for _ in range(20):
        before = {p: twin.state(p).value for p in points}
        rows = await twin.query(query, consume=_table)
        if {p: twin.state(p).value for p in points} == before:
            return rows, before
    raise AssertionError("the values kept changing while the query ran")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant() -> AsyncIterator[Demo]:
    """One demo for the module (these tests only read), with every MQTT sensor discovered and Good."""
    demo = Demo(Ports(*free_ports(5)))
    try:
        await demo.start()
        await _settled(demo)
        yield demo
    finally:
        await demo.stop()


async def _settled(demo: Demo) -> None:
    twin = demo.gateway.twin  # type: ignore[union-attr]
    everything = [f"{s}.temperature" for s in SENSORS] + ["boiler1.supply_temp", "ahu1.supply_air_temp"]
    await wait_for(lambda: all(p in twin.states() for p in everything), timeout=20, what="sensors discovered")
    await wait_for(
        lambda: all(twin.state(p).status == "Good" for p in twin.states()), timeout=20, what="every point Good"
    )


async def test_rooms_served_by_boiler1_with_their_temperatures(plant: Demo) -> None:
    temps = [f"{s}.temperature" for s in SENSORS]
    rows, values = await _steady_rows(plant, _query("asset/boiler1> brick:feeds+ ?room"), temps)
    got = [(_local(r["room"]), str(r["name"].value), _local(r["sensor"]) if "sensor" in r else None) for r in rows]
    assert got == [
        ("hall-room", "Production hall", "hall-s1.temperature"),
        ("hall-room", "Production hall", "hall-s2.temperature"),
        ("office-room", "Office", "office-s3.temperature"),
        ("workshop-room", "Workshop", None),  # heated by radiators, no air temperature sensor
    ]
    for r in rows:
        if "sensor" in r:
            assert math.isclose(float(r["temperature"].value), values[_local(r["sensor"])], rel_tol=1e-6)


async def test_average_room_temperature_per_floor(plant: Demo) -> None:
    temps = [f"{s}.temperature" for s in SENSORS]
    rows, v = await _steady_rows(plant, _query("?avg_temperature) (COUNT(?t) AS ?sensors)"), temps)
    got = {
        _local(r["floor"]): (str(r["name"].value), int(r["sensors"].value), float(r["avg_temperature"].value))
        for r in rows
    }
    assert set(got) == {"ground-floor", "first-floor"}
    ground = (v["hall-s1.temperature"] + v["hall-s2.temperature"]) / 2
    assert got["ground-floor"][:2] == ("Ground floor", 2) and math.isclose(got["ground-floor"][2], ground, rel_tol=1e-5)
    assert got["first-floor"][:2] == ("First floor", 1)
    assert math.isclose(got["first-floor"][2], v["office-s3.temperature"], rel_tol=1e-5)


async def test_every_point_in_the_rooms_ahu1_feeds(plant: Demo) -> None:
    rows = await plant.gateway.twin.query(_query("asset/ahu1> brick:feeds+ ?room"), consume=_table)  # type: ignore[union-attr]
    assert {_local(r["point"]) for r in rows} == SENSOR_POINTS
    assert len(rows) == len(SENSOR_POINTS)  # one row each: no duplicates through the room's classes
    room = {_local(r["point"]): _local(r["room"]) for r in rows}
    assert room["hall-s2.co2"] == "hall-room" and room["office-s3.setpoint"] == "office-room"
    units = {_local(r["point"]): str(r["unit"].value) for r in rows}
    assert units["hall-s1.temperature"] == QUDT_UNIT + "DEG_C" and units["office-s3.co2"] == QUDT_UNIT + "PPM"


@pytest.mark.parametrize("marker", ["sosa:hasSimpleResult", "brick:lastKnownValue"])
async def test_standard_vocabularies_alone_find_every_value_and_unit(plant: Demo, marker: str) -> None:
    query = _query(marker)
    assert "tb:" not in query.rsplit("PREFIX", 1)[1].split(">", 1)[1]  # the body: SOSA/QUDT or Brick alone
    model = plant.gateway.model  # type: ignore[union-attr]
    static = ["boiler1.setpoint", "machine1.speed_setpoint", "hall-s1.setpoint", "boiler1.enable"]
    rows, values = await _steady_rows(plant, query, static)
    by_point = {_local(r["point"]): r for r in rows}
    assert set(by_point) == set(model.points) and len(rows) == len(model.points)
    for pid, p in model.points.items():
        unit = by_point[pid].get("unit")
        assert (str(unit.value) if unit else None) == (QUDT_UNIT + p.unit if p.unit else None), pid
        assert "time" in by_point[pid], pid
    for pid in static:
        got = by_point[pid]["value"].value
        assert (got == "true") is values[pid] if isinstance(values[pid], bool) else float(got) == values[pid], pid


def _ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"] for i in items}


async def test_rest_filters_by_location_and_fed_by(plant: Demo) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{plant.ports.http}", timeout=10) as http:

        async def points(**params: str) -> set[str]:
            r = await http.get("/points", params=params)
            assert r.status_code == 200, r.text
            return _ids(r.json())

        hall = {p for p in SENSOR_POINTS if p.startswith("hall-")}
        assert await points(location="hall-room") == hall
        assert await points(fed_by="ahu1") == SENSOR_POINTS
        machine = {"machine1.spindle_speed", "machine1.motor_temp", "machine1.parts", "machine1.speed_setpoint"}
        ahu = {"ahu1.supply_air_temp", "ahu1.fan_status"}
        # the ground floor's share of what boiler 1 feeds: the AHU (in the boiler room), the hall, the workshop
        assert await points(location="ground-floor", fed_by="boiler1") == ahu | hall | machine
        assert await points(location="first-floor") == SENSOR_POINTS - hall
        r = await http.get("/points", params={"location": "hall"})  # an area of the asset tree, not a location
        assert r.status_code == 404 and "hall-room" in r.text, r.text

        boiler = (await http.get("/assets/boiler1")).json()
        feeds = [(o["relation"], o["target"]["id"]) for o in boiler["relations"]["outgoing"]]
        assert ("feeds", "ahu1") in feeds and ("feeds", "workshop-room") in feeds
        assert ("hasInputSubstance", "brick:Natural_Gas") in feeds
        path = [p["id"] for p in boiler["location"]["path"]]
        assert path == ["campus", "main-building", "ground-floor", "boiler-room"]
        rated = {p["key"]: p for p in boiler["properties"]}["rated_power"]
        assert (rated["value"], rated["unit"], rated["unit_symbol"]) == (40, "KiloW", "kW")
        ahu1 = (await http.get("/assets/ahu1")).json()
        incoming = {(i["relation"], i["target"]["id"]) for i in ahu1["relations"]["incoming"]}
        assert {("isFedBy", "boiler1"), ("isControlledBy", "plc1")} <= incoming
        plc = (await http.get("/assets/plc1")).json()
        assert {p["key"]: p["value"] for p in plc["properties"]}["firmware"] == "3.1.0"

        # the README tour's REST commands, as printed there (with the demo's port)
        tour = README.read_text(encoding="utf-8").split("**Follow the topology.**")[1].split("\n\n")[0]
        paths = re.findall(r"curl -s '?http://127\.0\.0\.1:8000(/[^' ]+)", tour)
        assert paths == ["/points?location=ground-floor&fed_by=boiler1", "/assets/machine1"], paths
        assert _ids((await http.get(paths[0])).json()) == ahu | hall | machine
        machine1 = (await http.get(paths[1])).json()
        assert {p["key"]: p["value"] for p in machine1["properties"]}["model"] == NAMEPLATE["Model"]

        room = (await http.get("/locations/office-room")).json()
        assert [p["id"] for p in room["path"]] == ["campus", "main-building", "first-floor", "office-room"]
        assert _ids(room["assets"]) == {"office-s3"} and _ids(room["points"]) == SENSOR_POINTS - hall


def _mapping_properties(asset: str) -> dict[str, Any]:
    doc = yaml.safe_load(Path(DEMO_MAPPING).read_text(encoding="utf-8"))
    (found,) = [a for a in doc["assets"] if a["id"] == asset]
    return dict(found["properties"])


async def test_discovery_drafts_the_machines_nameplate_as_the_mapping_states_it(plant: Demo) -> None:
    url = f"opc.tcp://127.0.0.1:{plant.ports.machine}/machine"
    draft = yaml.safe_load(await discover(url, source_id="machine", units=CATALOG))
    (machine,) = [a for a in draft["assets"] if a["id"] == "Machine"]
    stated = _mapping_properties("machine1")
    rated = stated.pop("rated_power")  # on the mapping only: the machine does not publish it
    assert machine["properties"] == stated and re.fullmatch(r"[\d.]+ kW", rated)
    assert stated["serial_number"] == NAMEPLATE["SerialNumber"] and stated["firmware"] == NAMEPLATE["SoftwareRevision"]


async def test_opcua_client_follows_feeds_and_reads_the_nameplate(plant: Demo) -> None:
    async with Client(f"opc.tcp://127.0.0.1:{plant.ports.opcua}/twinbridge", timeout=5) as c:
        ns = await c.get_namespace_index("http://demo.twinbridge.local/opcua")
        feeds = ua.NodeId("reftype:Feeds", ns)

        async def fed_by(node: str) -> set[str]:
            found = await c.get_node(ua.NodeId(node, ns)).get_referenced_nodes(feeds, ua.BrowseDirection.Forward)
            return {str(n.nodeid.Identifier) for n in found}

        assert await fed_by("boiler1") == {"ahu1", "location:workshop-room"}
        assert await fed_by("ahu1") == {"location:hall-room", "location:office-room"}
        hall = c.get_node(ua.NodeId("location:hall-room", ns))
        here = await hall.get_referenced_nodes(ua.NodeId("reftype:HasLocation", ns), ua.BrowseDirection.Inverse)
        assert {"hall-s1", "hall-s2", "hall-s1.temperature"} <= {str(n.nodeid.Identifier) for n in here}
        machine = c.get_node(ua.NodeId("machine1", ns))
        assert await (await machine.get_child(f"{ns}:SerialNumber")).read_value() == NAMEPLATE["SerialNumber"]
        rated = await machine.get_child(f"{ns}:RatedPower")
        unit = await (await rated.get_child("0:EngineeringUnits")).read_value()
        assert (await rated.read_value(), unit.DisplayName.Text) == (7.5, "kW")
