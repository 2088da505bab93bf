"""locations: a tree of Brick location classes apart from the asset tree; location: on assets and points."""

from __future__ import annotations

from adapters.contract.model import AssetLevel
from tests.unit.gateway.config.conftest import SIM, Errors, Load

BRICK = "https://brickschema.org/schema/Brick#"
TREE = """\
locations:
  - {id: plant, type: site, label: Demo plant}
  - {id: hq, type: building, parent: plant, description: Head office}
  - {id: hq-f1, type: floor, parent: hq, label: Ground floor}
  - {id: hall, type: [room, brick:Mechanical_Room, "ex:CleanRoom"], parent: hq-f1}
  - {id: zone1, type: brick:HVAC_Zone, parent: hq}
prefixes: {ex: "http://example.com/plant#"}
"""


def test_the_location_tree_is_built_with_brick_classes(load: Load) -> None:
    m = load(TREE)
    assert list(m.locations) == ["plant", "hq", "hq-f1", "hall", "zone1"]
    plant, hall = m.locations["plant"], m.locations["hall"]
    assert plant.classes == (BRICK + "Site",) and plant.label == "Demo plant" and plant.parent is None
    assert hall.classes == (BRICK + "Room", BRICK + "Mechanical_Room", "http://example.com/plant#CleanRoom")
    assert hall.label == "hall" and hall.parent == "hq-f1"
    assert m.locations["hq"].description == "Head office"
    assert m.locations["zone1"].classes == (BRICK + "HVAC_Zone",)
    assert hall.origin is not None and (hall.origin.file, hall.origin.line) == ("m.yaml", 5)
    assert [loc.id for loc in m.location_ancestors("hall")] == ["hq-f1", "hq", "plant"]
    assert {loc.id for loc in m.location_subtree("hq")} == {"hq", "hq-f1", "hall", "zone1"}
    assert m.assets == {}  # the location tree is not the asset tree


def test_locations_across_files_and_assets_and_points_placed_in_them(load: Load) -> None:
    site = SIM + "assets:\n  - {id: area1, type: area, location: plant}\n"
    plant = """\
assets:
  - id: boiler1
    type: brick:Boiler
    source: sim1
    location: hall
    points:
      - {id: t, unit: DEG_C, datatype: float}
      - {id: room_t, unit: DEG_C, datatype: float, location: hq-f1}
      - {id: out_t, unit: DEG_C, datatype: float, relations: {hasLocation: plant}}
  - {id: pump1, type: brick:Pump, relations: {"brick:hasLocation": [hall]}}
"""
    m = load(site, plant=plant, tree=TREE)
    assert m.assets["boiler1"].location == "hall" and m.assets["area1"].location == "plant"
    assert m.assets["area1"].level is AssetLevel.AREA
    assert m.assets["pump1"].location == "hall" and m.assets["pump1"].relations == ()
    # a point keeps None unless it says where it is; it is then in its asset's location
    assert m.points["boiler1.t"].location is None and m.location_of("boiler1.t") == "hall"
    assert m.points["boiler1.room_t"].location == "hq-f1" and m.location_of("boiler1.room_t") == "hq-f1"
    assert m.points["boiler1.out_t"].location == "plant" and m.points["boiler1.out_t"].relations == ()
    assert m.location_of("boiler1") == "hall" and m.location_of("nothing") is None


def test_bad_location_types(errors: Errors) -> None:
    assert errors("""\
locations:
  - {id: b1, type: bulding}
  - {id: b2, type: brick:Boiler}
  - {id: b3, type: tb:Site}
  - {id: b4, type: brick:Romo}
  - {id: b5, type: "http://example.com/x#Lab"}
  - {id: b6}
""") == [
        "m.yaml:2:14: locations[0].type: unknown location type 'bulding' (did you mean 'building'? a location's type"
        " is site, building, floor, room, zone, space, outside, region or a Brick location class such as"
        " brick:Mechanical_Room)",
        "m.yaml:3:14: locations[1].type: brick:Boiler is a Brick equipment class; a location's type is site, building,"
        " floor, room, zone, space, outside, region or a Brick location class such as brick:Mechanical_Room",
        "m.yaml:4:14: locations[2].type: tb:Site is a level of the asset tree; a location's type is site, building,"
        " floor, room, zone, space, outside, region or a Brick location class such as brick:Mechanical_Room",
        "m.yaml:5:14: locations[3].type: unknown Brick class brick:Romo (did you mean brick:Room?); a location's type"
        " is site, building, floor, room, zone, space, outside, region or a Brick location class such as"
        " brick:Mechanical_Room",
        "m.yaml:6:14: locations[4].type: a location needs a Brick location class: a location's type is site, building,"
        " floor, room, zone, space, outside, region or a Brick location class such as brick:Mechanical_Room",
        "m.yaml:7:5: locations[5].type: missing required key 'type'",
    ]


def test_bad_tree(errors: Errors) -> None:
    errs = errors("""\
locations:
  - {id: plant, type: site}
  - {id: plant, type: building}
  - {id: r1, type: room, parent: nowhere}
  - {id: r2, type: room, parent: pump1}
  - {id: boiler1, type: room}
  - {id: c1, type: room, parent: c2}
  - {id: c2, type: room, parent: c1}
  - {id: c3, type: room, parent: c2}
  - {id: d1, type: room, colour: red}
assets:
  - {id: boiler1, type: brick:Boiler}
  - {id: pump1, type: brick:Pump}
""")
    assert errs == [
        "m.yaml:3:6: locations[1].id: duplicate location id 'plant' (first defined at m.yaml:2:5)",
        "m.yaml:4:26: locations[2].parent: unknown parent location 'nowhere'",
        "m.yaml:5:26: locations[3].parent: 'pump1' is an asset; a location's parent is a location (place an asset"
        " with location:)",
        "m.yaml:6:6: locations[4].id: location id 'boiler1' is also an asset id (asset at m.yaml:12:5); assets and"
        " locations share one set of ids: rename one",
        "m.yaml:7:26: locations[5].parent: location 'c1' is its own ancestor (c1 -> c2 -> c1)",
        "m.yaml:8:26: locations[6].parent: location 'c2' is its own ancestor (c2 -> c1 -> c2)",
        "m.yaml:10:26: locations[8].colour: unknown key 'colour' (allowed: description, id, label, parent, properties,"
        " relations, type)",
    ]


def test_unknown_locations_of_assets_and_points(errors: Errors) -> None:
    errs = errors(
        SIM
        + """\
locations:
  - {id: hall1, type: room}
assets:
  - {id: a1, type: brick:Pump, location: hal1}
  - {id: a2, type: brick:Pump, location: a1}
  - {id: a3, type: brick:Pump, location: hall1, relations: {hasLocation: hall1}}
  - {id: a4, type: brick:Pump, relations: {hasLocation: [hall1, hall1]}}
  - id: a5
    source: sim1
    points:
      - {id: t, unit: DEG_C, datatype: float, location: hall2}
"""
    )
    assert errs == [
        "m.yaml:6:32: assets[0].location: unknown location 'hal1' (nearest known: 'hall1')",
        "m.yaml:7:32: assets[1].location: unknown location 'a1' ('a1' is an asset; a location is declared under"
        " locations:)",
        "m.yaml:8:61: assets[2].relations.hasLocation: hasLocation says what location: says; keep one (location:"
        " hall1)",
        "m.yaml:9:44: assets[3].relations.hasLocation: an asset or point is in one location (got 2)",
        "m.yaml:13:47: assets[4].points[0].location: unknown location 'hall2' (nearest known: 'hall1')",
    ]


def test_a_failed_location_is_one_error_not_one_per_use(errors: Errors) -> None:
    errs = errors("""\
locations:
  - {id: hall1, type: rooom}
  - {id: hall2, colour: red}
assets:
  - {id: a1, type: brick:Pump, location: hall2}
""")
    assert errs == [
        "m.yaml:2:17: locations[0].type: unknown location type 'rooom' (did you mean 'room'? a location's type is"
        " site, building, floor, room, zone, space, outside, region or a Brick location class such as"
        " brick:Mechanical_Room)",
        "m.yaml:3:5: locations[1].type: missing required key 'type' [1 placement using location 'hall2' not"
        " checked until this is fixed]",
        "m.yaml:3:17: locations[1].colour: unknown key 'colour' (allowed: description, id, label, parent,"
        " properties, relations, type)",
    ]
