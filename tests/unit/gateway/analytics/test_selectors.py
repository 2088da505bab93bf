"""Selections on a real twin: classes with their subclasses, an asset subtree, SPARQL, listed ids, and points
added at run time reported to watchers."""

from __future__ import annotations

from adapters.contract.model import Asset, AssetLevel, Location
from gateway.analytics.selectors import Selections
from gateway.rules.spec import Selector
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView
from tests.conftest import make_model, make_point, wait_for

B = "https://brickschema.org/schema/Brick#"
POWER = B + "Electric_Power_Sensor"


def _twin() -> Twin:
    points = [
        make_point("hall.m1.p", classes=(POWER,), unit="W"),
        make_point("hall.m2.p", classes=(POWER,), unit="KiloW", location="room1"),
        make_point("yard.t", classes=(B + "Temperature_Sensor",)),
        make_point("yard.sat", classes=(B + "Supply_Air_Temperature_Sensor",)),
    ]
    model = make_model(points)
    model.assets["hall"] = Asset("hall", AssetLevel.AREA, (), "hall")
    for a in ("hall.m1", "hall.m2"):
        model.assets[a] = Asset(a, AssetLevel.EQUIPMENT, (), a, parent="hall")
    model.locations["building"] = Location("building", (), "building")
    model.locations["room1"] = Location("room1", (), "room 1", parent="building")
    return Twin(model)


async def test_classes_subclasses_subtrees_sparql_and_ids() -> None:
    sel = Selections(TwinView(_twin()))
    assert await sel.resolve(Selector(classes=(POWER,), under="hall")) == {"hall.m1.p", "hall.m2.p"}
    assert await sel.resolve(Selector(classes=(B + "Temperature_Sensor",))) == {"yard.t", "yard.sat"}
    assert await sel.resolve(Selector(classes=(POWER,), under="building")) == {"hall.m2.p"}  # a location subtree
    assert await sel.resolve(Selector(classes=(B + "Point",), points=("yard.t", "nope"))) == {"yard.t"}
    query = f"SELECT ?point WHERE {{ ?point a <{B}Supply_Air_Temperature_Sensor> }}"
    assert await sel.resolve(Selector(sparql=query)) == {"yard.sat"}
    assert await sel.resolve(Selector(classes=(POWER,), under="unknown")) == set()


async def test_a_watcher_hears_points_that_start_matching() -> None:
    twin = _twin()
    sel = Selections(TwinView(twin))
    heard: list[set[str]] = []
    now = await sel.watch(Selector(classes=(POWER,), under="hall"), heard.append)
    assert now == {"hall.m1.p", "hall.m2.p"}
    twin.add(
        [Asset("hall.m3", AssetLevel.EQUIPMENT, (), "m3", parent="hall")],
        [make_point("hall.m3.p", classes=(POWER,), unit="W"), make_point("hall.m3.t")],
    )
    await wait_for(lambda: heard == [{"hall.m3.p"}], what="the new meter reported")
    sel.close()
