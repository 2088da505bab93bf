"""/locations over real HTTP, and the topology in /openapi.json (docs/api.md "Topology"; the plant: conftest.py)."""

from __future__ import annotations

import httpx


async def test_the_tree_is_flat_each_location_after_its_parent(api: httpx.AsyncClient) -> None:
    rows = (await api.get("/locations")).json()
    assert [(r["id"], r["parent"], r["depth"]) for r in rows] == [
        ("plant", None, 0),
        ("hq", "plant", 1),
        ("hq-f1", "hq", 2),
        ("hq-f1-hall", "hq-f1", 3),
        ("boilerroom", "hq-f1", 3),
        ("hq-f2", "hq", 2),
        ("hq-f2-lab", "hq-f2", 3),
        ("outside", "plant", 1),
    ]
    by_id = {r["id"]: r for r in rows}
    assert by_id["plant"] == {
        "id": "plant",
        "label": "Demo plant",
        "types": ["brick:Site"],
        "parent": None,
        "depth": 0,
        "asset_count": 3,
        "point_count": 9,
    }
    assert by_id["boilerroom"]["types"] == ["brick:Room", "brick:Mechanical_Room"]
    assert (by_id["hq-f2"]["asset_count"], by_id["hq-f2"]["point_count"]) == (2, 6)
    assert (by_id["outside"]["asset_count"], by_id["outside"]["point_count"]) == (0, 1)
    under = (await api.get("/locations", params={"under": "hq-f1"})).json()
    assert [(r["id"], r["depth"]) for r in under] == [("hq-f1", 2), ("hq-f1-hall", 3), ("boilerroom", 3)]


async def test_a_location_lists_what_is_in_it_and_below(api: httpx.AsyncClient) -> None:
    hq = (await api.get("/locations/hq")).json()
    assert hq["label"] == "HQ" and hq["types"] == ["brick:Building"] and hq["parent"] == "plant"
    assert hq["iri"] == "http://t.local/location/hq" and hq["description"] is None
    assert hq["path"] == [{"id": "plant", "label": "Demo plant"}, {"id": "hq", "label": "HQ"}]
    assert hq["children"] == [{"id": "hq-f1", "label": "Ground floor"}, {"id": "hq-f2", "label": "First floor"}]
    assert [(a["id"], a["location"]) for a in hq["assets"]] == [
        ("boiler1", "boilerroom"),
        ("ahu1", "hq-f2"),
        ("vav1", "hq-f2-lab"),
    ]
    assert [(p["id"], p["location"]) for p in hq["points"]] == [
        ("rs1.hall_temp", "hq-f1-hall"),
        ("boiler1.temp", "boilerroom"),
        ("ahu1.sat", "hq-f2"),
        ("ahu1.fan", "hq-f2"),
        ("ahu1.run", "hq-f2"),
        ("vav1.flow", "hq-f2-lab"),
        ("vav1.damper", "hq-f2-lab"),
        ("rs1.lab_temp", "hq-f2-lab"),
    ]
    assert hq["asset_count"] == 3 and hq["point_count"] == 8
    year = hq["properties"][0]
    assert (year["key"], year["value"], year["datatype"], year["unit"]) == ("year_built", 1998, "integer", None)
    assert hq["relations"] == {"outgoing": [], "incoming": []}


async def test_a_room_shows_what_feeds_it(api: httpx.AsyncClient) -> None:
    hall = (await api.get("/locations/hq-f1-hall")).json()
    assert hall["children"] == [] and [p["id"] for p in hall["points"]] == ["rs1.hall_temp"]
    assert hall["relations"]["incoming"] == [
        {
            "relation": "isFedBy",
            "name": "IsFedBy",
            "iri": "https://brickschema.org/schema/Brick#isFedBy",
            "inverse_of": "feeds",
            "target": {"kind": "asset", "id": "ahu1", "label": "AHU 1", "iri": "http://t.local/asset/ahu1"},
        }
    ]
    lab = (await api.get("/locations/hq-f2-lab")).json()
    assert [i["target"]["id"] for i in lab["relations"]["incoming"]] == ["vav1"]


async def test_openapi_documents_the_topology(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/openapi.json")).json()
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    assert {"/locations", "/locations/{location_id}"} <= set(paths)
    ok = paths["/locations/{location_id}"]["get"]["responses"]
    assert ok["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/LocationDetail")
    assert ok["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    params = {p["name"] for p in paths["/points"]["get"]["parameters"]}
    assert {"location", "fed_by", "asset", "unit"} <= params
    assert "location" in {p["name"] for p in paths["/assets"]["get"]["parameters"]}
    for detail in ("AssetDetail", "PointDetail"):
        assert {"location", "relations", "properties"} <= set(schemas[detail]["required"])
    assert {"outgoing", "incoming"} <= set(schemas["Relations"]["properties"])
    assert {"key", "label", "iri", "value", "unit", "unit_symbol"} <= set(schemas["PropertyOut"]["properties"])
    assert {"id", "label", "path", "inherited"} <= set(schemas["LocationRef"]["properties"])
