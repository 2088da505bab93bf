"""Locations, relations and nameplates on /assets and /points over real HTTP (the plant: conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.contract.model import Asset, AssetLevel
from gateway.runtime import Gateway


def _ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()]


def _path(loc: dict[str, Any]) -> list[str]:
    return [p["id"] for p in loc["path"]]


async def test_an_asset_shows_its_location_relations_and_nameplate(api: httpx.AsyncClient) -> None:
    b = (await api.get("/assets/boiler1")).json()
    assert b["location"] == {
        "id": "boilerroom",
        "label": "Boiler room",
        "path": [
            {"id": "plant", "label": "Demo plant"},
            {"id": "hq", "label": "HQ"},
            {"id": "hq-f1", "label": "Ground floor"},
            {"id": "boilerroom", "label": "Boiler room"},
        ],
        "inherited": False,
    }
    out = b["relations"]["outgoing"]
    assert out[0] == {
        "relation": "feeds",
        "name": "Feeds",
        "iri": "https://brickschema.org/schema/Brick#feeds",
        "target": {"kind": "asset", "id": "ahu1", "label": "AHU 1", "iri": "http://t.local/asset/ahu1"},
    }
    gas = out[1]
    assert gas["relation"] == "hasInputSubstance" and gas["target"]["kind"] == "term"
    assert gas["target"]["id"] == "brick:Natural_Gas" and gas["target"]["label"] == "Natural Gas"
    assert b["relations"]["incoming"] == []
    props = {p["key"]: p for p in b["properties"]}
    assert props["manufacturer"]["value"] == "Viessmann" and props["manufacturer"]["datatype"] == "string"
    assert props["install_date"]["value"] == "2019-05-14" and props["install_date"]["datatype"] == "date"
    assert props["documents"]["value"] == ["https://example.com/manual.pdf"]
    assert props["documents"]["datatype"] == "iris"
    power = props["rated_power"]
    assert power["value"] == 40.0 and power["unit"] == "KiloW" and power["unit_symbol"] == "kW"
    assert power["label"] == "Rated power" and power["iri"] == "https://brickschema.org/schema/Brick#ratedPowerOutput"
    assert props["manufacturer"]["unit"] is None and props["manufacturer"]["unit_symbol"] is None


async def test_incoming_relations_are_read_from_the_other_end(api: httpx.AsyncClient) -> None:
    ahu = (await api.get("/assets/ahu1")).json()
    assert ahu["location"]["id"] == "hq-f2" and _path(ahu["location"]) == ["plant", "hq", "hq-f2"]
    assert [(o["relation"], o["target"]["kind"], o["target"]["id"]) for o in ahu["relations"]["outgoing"]] == [
        ("feeds", "location", "hq-f1-hall")
    ]
    incoming = [(i["relation"], i["name"], i["inverse_of"], i["target"]["id"]) for i in ahu["relations"]["incoming"]]
    # boiler1 feeds ahu1 -> ahu1 isFedBy boiler1; vav1 isFedBy ahu1 (declared on vav1) -> ahu1 feeds vav1
    assert incoming == [("isFedBy", "IsFedBy", "feeds", "boiler1"), ("feeds", "Feeds", "isFedBy", "vav1")]
    vav = (await api.get("/assets/vav1")).json()
    assert [(i["relation"], i["inverse_of"]) for i in vav["relations"]["incoming"]] == [("isControlledBy", "controls")]
    assert vav["relations"]["incoming"][0]["target"] == {
        "kind": "asset",
        "id": "ctl1",
        "label": "Controller 1",
        "iri": "http://t.local/asset/ctl1",
    }


async def test_the_integrators_own_relations_with_and_without_an_inverse(api: httpx.AsyncClient) -> None:
    vav = (await api.get("/assets/vav1")).json()
    inspected = vav["relations"]["outgoing"][-1]
    assert (inspected["relation"], inspected["name"], inspected["iri"]) == (
        "ex:inspectedBy",
        "Inspected by",
        "http://example.com/plant#inspectedBy",
    )
    hall_temp = (await api.get("/points/rs1.hall_temp")).json()
    assert [(o["relation"], o["name"], o["target"]["id"]) for o in hall_temp["relations"]["outgoing"]] == [
        ("ex:calibratedBy", "Calibrated by", "team-a")
    ]
    team = (await api.get("/assets/team-a")).json()
    assert team["relations"]["outgoing"] == []
    assert team["relations"]["incoming"] == [
        {
            "relation": None,  # ex:inspectedBy has no inverse: what vav1 says, without a name for this end
            "name": None,
            "iri": None,
            "inverse_of": "ex:inspectedBy",
            "target": {"kind": "asset", "id": "vav1", "label": "VAV 1", "iri": "http://t.local/asset/vav1"},
        },
        {
            "relation": "ex:calibrates",
            "name": "Calibrates",
            "iri": "http://example.com/plant#calibrates",
            "inverse_of": "ex:calibratedBy",
            "target": {
                "kind": "point",
                "id": "rs1.hall_temp",
                "label": "hall_temp",
                "iri": "http://t.local/point/rs1.hall_temp",
            },
        },
    ]


async def test_a_point_has_its_own_location_or_its_assets(api: httpx.AsyncClient) -> None:
    temp = (await api.get("/points/boiler1.temp")).json()
    assert temp["location"]["id"] == "boilerroom" and temp["location"]["inherited"] is True
    assert _path(temp["location"]) == ["plant", "hq", "hq-f1", "boilerroom"]
    oat = (await api.get("/points/ahu1.oat")).json()
    assert oat["location"]["id"] == "outside" and oat["location"]["inherited"] is False
    assert _path(oat["location"]) == ["plant", "outside"]
    hall_temp = (await api.get("/points/rs1.hall_temp")).json()
    assert hall_temp["location"]["id"] == "hq-f1-hall" and hall_temp["location"]["inherited"] is False
    assert [(p["key"], p["value"]) for p in hall_temp["properties"]] == [("manufacturer", "Sensirion")]
    nowhere = (await api.get("/assets/rs1")).json()
    assert nowhere["location"] is None and nowhere["relations"] == {"outgoing": [], "incoming": []}
    assert nowhere["properties"] == []


async def test_assets_by_location_take_every_place_below(api: httpx.AsyncClient) -> None:
    assert _ids(await api.get("/assets", params={"location": "hq"})) == ["ahu1", "boiler1", "vav1"]
    assert _ids(await api.get("/assets", params={"location": "hq-f2"})) == ["ahu1", "vav1"]
    assert _ids(await api.get("/assets", params={"location": "hq-f2-lab"})) == ["vav1"]
    assert _ids(await api.get("/assets", params={"location": "outside"})) == []
    # combined with the asset-tree filters
    assert _ids(await api.get("/assets", params={"location": "hq", "under": "hall"})) == ["ahu1", "vav1"]
    assert _ids(await api.get("/assets", params={"location": "plant", "level": "equipment"})) == [
        "ahu1",
        "boiler1",
        "vav1",
    ]


async def test_points_by_location_use_the_points_own_place(api: httpx.AsyncClient) -> None:
    ids = lambda r: sorted(_ids(r))  # noqa: E731
    assert ids(await api.get("/points", params={"location": "hq-f1"})) == ["boiler1.temp", "rs1.hall_temp"]
    assert ids(await api.get("/points", params={"location": "outside"})) == ["ahu1.oat"]
    assert ids(await api.get("/points", params={"location": "hq-f2"})) == [
        "ahu1.fan",
        "ahu1.run",
        "ahu1.sat",  # ahu1.oat is outside: its own location wins over its asset's
        "rs1.lab_temp",
        "vav1.damper",
        "vav1.flow",
    ]
    assert ids(await api.get("/points", params={"location": "hq-f2", "unit": "DEG_C"})) == ["ahu1.sat", "rs1.lab_temp"]
    assert ids(await api.get("/points", params={"location": "hq-f2", "asset": "rs1"})) == ["rs1.lab_temp"]


async def test_fed_by_follows_feeds_transitively(api: httpx.AsyncClient) -> None:
    ids = lambda r: sorted(_ids(r))  # noqa: E731
    # boiler1 -> ahu1 -> vav1 (declared as vav1 isFedBy ahu1) -> lab; ahu1 -> hall (a room: the points in it)
    assert ids(await api.get("/points", params={"fed_by": "boiler1"})) == [
        "ahu1.fan",
        "ahu1.oat",
        "ahu1.run",
        "ahu1.sat",
        "rs1.hall_temp",
        "rs1.lab_temp",
        "vav1.damper",
        "vav1.flow",
    ]
    assert ids(await api.get("/points", params={"fed_by": "ahu1"})) == [
        "rs1.hall_temp",
        "rs1.lab_temp",
        "vav1.damper",
        "vav1.flow",
    ]
    assert ids(await api.get("/points", params={"fed_by": "vav1"})) == ["rs1.lab_temp"]
    assert ids(await api.get("/points", params={"fed_by": "rs1"})) == []
    both = {"fed_by": "boiler1", "location": "hq-f1", "type": "brick:Air_Temperature_Sensor"}
    assert ids(await api.get("/points", params=both)) == ["rs1.hall_temp"]
    fed_celsius = {"fed_by": "ahu1", "unit": "DEG_C"}
    assert ids(await api.get("/points", params=fed_celsius)) == ["rs1.hall_temp", "rs1.lab_temp"]


async def test_unknown_ids_are_404_with_the_nearest_known(api: httpx.AsyncClient) -> None:
    cases = [
        ("/assets", {"location": "hq-f3"}, "no location 'hq-f3'", ["hq-f1", "hq-f2"]),
        ("/points", {"location": "lab"}, "no location 'lab'", ["hq-f2-lab"]),
        ("/points", {"fed_by": "boiler2"}, "no asset 'boiler2'", ["boiler1"]),
        ("/points", {"location": "hq", "fed_by": "ahu2"}, "no asset 'ahu2'", ["ahu1"]),
        ("/locations", {"under": "Outside"}, "no location 'Outside'", ["outside"]),
        ("/locations/hq-f3", {}, "no location 'hq-f3'", ["hq-f1", "hq-f2"]),
        ("/assets/boiler2", {}, "no asset 'boiler2'", ["boiler1"]),
        ("/points/boiler1.tmp", {}, "no point 'boiler1.tmp'", ["boiler1.temp"]),
    ]
    for path, params, message, close in cases:
        r = await api.get(path, params=params)
        body = r.json()
        assert r.status_code == 404, (path, params, body)
        assert body["error"].startswith(message) and set(close) <= set(body["nearest"]), (path, params, body)
        assert all(c in body["error"] for c in close)
    r = await api.get("/locations/zzz")
    assert r.status_code == 404 and r.json()["nearest"] == []
    assert "none of the 8 known location ids is close" in r.json()["error"]


async def test_assets_added_at_run_time_are_placed(api: httpx.AsyncClient, plant: Gateway) -> None:
    assert _ids(await api.get("/assets", params={"location": "hq-f2-lab"})) == ["vav1"]
    cache = plant.services["http"].app.state.api.topologies  # type: ignore[attr-defined]
    first = cache.get(plant.model)
    assert cache.get(plant.model) is first  # built once per model state, not per request
    plant.twin.add([Asset("hood1", AssetLevel.EQUIPMENT, (), "Fume hood", parent="hall", location="hq-f2-lab")], [])
    assert _ids(await api.get("/assets", params={"location": "hq-f2-lab"})) == ["vav1", "hood1"]
    lab = (await api.get("/locations/hq-f2-lab")).json()
    assert [a["id"] for a in lab["assets"]] == ["vav1", "hood1"] and lab["asset_count"] == 2
