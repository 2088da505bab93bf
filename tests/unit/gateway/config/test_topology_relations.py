"""relations: on assets, points and locations: Brick's, twinbridge's and the integrator's own, resolved across
files, each checked against the Brick families it goes from and to, stated once, and without cycles in a
hierarchy."""

from __future__ import annotations

from adapters.contract.model import Relation, TargetKind
from tests.unit.gateway.config.conftest import SIM, Errors, Load

BRICK = "https://brickschema.org/schema/Brick#"
TB = "https://w3id.org/twinbridge#"
EX = "http://example.com/plant#"
PLANT = (
    SIM
    + """\
locations:
  - {id: plant, type: site}
  - {id: f1, type: floor, parent: plant}
  - {id: hall1, type: room, parent: f1}
  - {id: zone1, type: brick:HVAC_Zone, parent: plant}
assets:
  - {id: boiler1, type: brick:Boiler, source: sim1, points: [{id: t, unit: DEG_C, datatype: float}]}
  - {id: ahu1, type: brick:AHU}
  - {id: meter1, type: brick:Electrical_Meter}
  - {id: meter2, type: brick:Electrical_Meter}
  - {id: hws, type: brick:Hot_Water_System}
"""
)


def rel(model_entity: object) -> list[tuple[str, str, TargetKind, str, str | None, str | None]]:
    rels: tuple[Relation, ...] = model_entity.relations  # type: ignore[attr-defined]
    return [(r.predicate, r.target, r.target_kind, r.name, r.inverse, r.inverse_name) for r in rels]


def test_brick_relations_resolve_with_their_inverses_and_opc_ua_names(load: Load) -> None:
    more = """\
assets:
  - id: pump1
    type: brick:Pump
    relations:
      isFedBy: boiler1
      feeds: [ahu1]
      "brick:hasInputSubstance": brick:Hot_Water
      controls: ahu1
      connectedTo: meter1
  - {id: meter3, type: brick:Electrical_Meter, relations: {meters: [pump1, hall1], isSubMeterOf: meter1}}
locations:
  - {id: hall2, type: room, parent: f1, relations: {isFedBy: ahu1, connectedTo: hall1}}
"""
    m = load(PLANT, more=more)
    assert rel(m.assets["pump1"]) == [
        (BRICK + "isFedBy", "boiler1", TargetKind.ASSET, "IsFedBy", BRICK + "feeds", "Feeds"),
        (BRICK + "feeds", "ahu1", TargetKind.ASSET, "Feeds", BRICK + "isFedBy", "IsFedBy"),
        (BRICK + "hasInputSubstance", BRICK + "Hot_Water", TargetKind.TERM, "HasInputSubstance", None, None),
        (TB + "controls", "ahu1", TargetKind.ASSET, "Controls", TB + "isControlledBy", "IsControlledBy"),
        (BRICK + "connectedTo", "meter1", TargetKind.ASSET, "ConnectedTo", BRICK + "connectedTo", "ConnectedTo"),
    ]
    assert rel(m.assets["meter3"]) == [
        (BRICK + "meters", "pump1", TargetKind.ASSET, "Meters", BRICK + "isMeteredBy", "IsMeteredBy"),
        (BRICK + "meters", "hall1", TargetKind.LOCATION, "Meters", BRICK + "isMeteredBy", "IsMeteredBy"),
        (BRICK + "isSubMeterOf", "meter1", TargetKind.ASSET, "IsSubMeterOf", BRICK + "hasSubMeter", "HasSubMeter"),
    ]
    assert rel(m.locations["hall2"]) == [
        (BRICK + "isFedBy", "ahu1", TargetKind.ASSET, "IsFedBy", BRICK + "feeds", "Feeds"),
        (BRICK + "connectedTo", "hall1", TargetKind.LOCATION, "ConnectedTo", BRICK + "connectedTo", "ConnectedTo"),
    ]
    first = m.assets["pump1"].relations[0].origin
    assert first is not None and (first.file, first.line) == ("more.yaml", 5)
    assert m.assets["boiler1"].relations == ()  # the inverse is not copied onto the target: the twin states it


def test_targets_in_other_files_points_and_collections(load: Load) -> None:
    other = """\
assets:
  - id: ahu2
    type: brick:AHU
    source: sim1
    relations: {feeds: [zone1, hall1], isPartOf: hws}
    points:
      - {id: sat, unit: DEG_C, datatype: float, relations: {"ex:calibratedAgainst": boiler1.t}}
prefixes: {ex: "http://example.com/plant#"}
relation_types:
  - {id: "ex:calibratedAgainst", inverse: "ex:calibrates", label: "Calibrated against"}
"""
    m = load(PLANT, other=other)
    assert [(r.target, r.target_kind) for r in m.assets["ahu2"].relations] == [
        ("zone1", TargetKind.LOCATION),
        ("hall1", TargetKind.LOCATION),
        ("hws", TargetKind.ASSET),
    ]
    assert rel(m.points["ahu2.sat"]) == [
        (EX + "calibratedAgainst", "boiler1.t", TargetKind.POINT, "Calibrated against", EX + "calibrates", "Calibrates")
    ]


def test_custom_relations_need_a_declaration_and_take_terms(load: Load, errors: Errors) -> None:
    declared = """\
prefixes: {ex: "http://example.com/plant#", vendor: "https://vendor.example/terms/"}
relation_types:
  - {id: "ex:maintainedBy", inverse: "ex:maintains"}
  - {id: "ex:twinOf", inverse: "ex:twinOf", label: Twin of}
  - {id: "http://example.com/other#servedBy"}
assets:
  - {id: team-a, type: brick:Equipment, relations: {"ex:maintains": [pump9]}}
  - id: pump9
    type: brick:Pump
    relations: {"ex:twinOf": team-a, "http://example.com/other#servedBy": "vendor:ServiceDesk"}
"""
    m = load(declared)
    assert rel(m.assets["team-a"]) == [
        (EX + "maintains", "pump9", TargetKind.ASSET, "Maintains", EX + "maintainedBy", "MaintainedBy")
    ]
    assert rel(m.assets["pump9"]) == [
        (EX + "twinOf", "team-a", TargetKind.ASSET, "Twin of", EX + "twinOf", "Twin of"),
        (
            "http://example.com/other#servedBy",
            "https://vendor.example/terms/ServiceDesk",
            TargetKind.TERM,
            "ServedBy",
            None,
            None,
        ),
    ]
    assert m.vocabulary.prefixes == {"ex": EX, "vendor": "https://vendor.example/terms/"}
    assert errors(declared.replace('"ex:maintains": [pump9]', '"ex:maintain": [pump9]')) == [
        "m.yaml:7:53: assets[0].relations.ex:maintain: undeclared relation ex:maintain: declare it under"
        ' relation_types: (- {id: "ex:maintain", inverse: ..., label: ...})'
    ]


def test_unknown_names_and_targets(errors: Errors) -> None:
    errs = errors(
        PLANT
        + """\
  - id: a1
    type: brick:Pump
    relations:
      feed: [ahu1]
      "brick:feed": ahu1
      "tb:control": ahu1
      "zz:x": ahu1
      isFedBy: []
"""
    )
    assert errs == [
        "m.yaml:17:7: assets[5].relations.feed: unknown relation 'feed' (did you mean 'feeds'? Brick relations are"
        " feeds, isFedBy, hasPart, isPartOf, meters, isMeteredBy, ...; your own are prefixed and declared under"
        " relation_types:)",
        "m.yaml:18:7: assets[5].relations.brick:feed: unknown Brick relation brick:feed (did you mean brick:feeds?"
        " known: brick:feeds, brick:isFedBy, brick:hasPart, brick:isPartOf, brick:meters, brick:isMeteredBy,"
        " brick:hasSubMeter, brick:isSubMeterOf, brick:hasInputSubstance, brick:hasOutputSubstance,"
        " brick:connectedTo, brick:hasLocation, brick:isLocationOf, brick:hasPoint, brick:isPointOf)",
        "m.yaml:19:7: assets[5].relations.tb:control: unknown twinbridge relation tb:control (did you mean"
        " tb:controls? known: tb:controls, tb:isControlledBy)",
        "m.yaml:20:7: assets[5].relations.zz:x: unknown prefix 'zz' in 'zz:x' (declare it under prefixes:, or"
        " write a full IRI)",
        "m.yaml:21:7: assets[5].relations.isFedBy: isFedBy names no target (write an id or a list of ids)",
    ]
    assert errors(PLANT + "  - {id: a1, type: brick:Pump, relations: {feeds: [ahu1, 7]}}\n") == [
        "m.yaml:14:58: assets[5].relations.feeds[1]: input should be a valid string (got 7)"
    ]


def test_unknown_targets_name_the_nearest_ids(errors: Errors) -> None:
    errs = errors(PLANT + '  - {id: a1, type: brick:Pump, relations: {feeds: [ahu2, boiler1.tt, hall2, ""]}}\n')
    assert errs == [
        "m.yaml:14:52: assets[5].relations.feeds[0]: unknown target 'ahu2' of feeds: no asset, point or location"
        " has this id (nearest known: 'ahu1')",
        "m.yaml:14:58: assets[5].relations.feeds[1]: unknown target 'boiler1.tt' of feeds: no asset, point or"
        " location has this id (nearest known: 'boiler1.t', 'boiler1')",
        "m.yaml:14:70: assets[5].relations.feeds[2]: unknown target 'hall2' of feeds: no asset, point or location"
        " has this id (nearest known: 'hall1')",
        "m.yaml:14:77: assets[5].relations.feeds[3]: a target is an id or a prefixed term (got '')",
    ]


def test_domain_and_range_by_brick_family(errors: Errors) -> None:
    errs = errors(
        PLANT
        + """\
  - {id: a1, type: brick:Pump, source: sim1, points: [{id: t, unit: DEG_C, datatype: float, relations: {feeds: hall1}}]}
  - {id: a2, type: brick:Pump, relations: {hasPart: hall1, isFedBy: zone1, feeds: ["brick:Hot_Water"]}}
  - {id: a3, type: brick:Pump, relations: {meters: hall1, hasSubMeter: meter1}}
  - {id: m3, type: brick:Electrical_Meter, relations: {meters: meter1, isMeteredBy: meter2, hasSubMeter: ahu1}}
  - {id: a4, type: brick:Pump, relations: {hasInputSubstance: [brick:Hot_Watr, hall1], connectedTo: hall1}}
""",
        rooms="locations:\n  - {id: hall2, type: room, relations: {feeds: ahu1, hasPart: [ahu1, zone1],"
        " hasLocation: f1}}\n",
    )
    assert errs == [
        "m.yaml:14:105: assets[5].points[0].relations.feeds: feeds cannot go from a point to a room ('a1.t' ->"
        " 'hall1'): feeds goes from equipment or a collection to equipment, a location or a collection",
        "m.yaml:15:44: assets[6].relations.hasPart: hasPart cannot go from equipment to a room ('a2' -> 'hall1'):"
        " hasPart goes from equipment to equipment; from a location to a location; from a collection to equipment,"
        " a location or a collection",
        "m.yaml:15:60: assets[6].relations.isFedBy: isFedBy cannot go from equipment to a HVAC zone ('a2' ->"
        " 'zone1'): isFedBy goes from equipment, a location or a collection to equipment or a collection",
        "m.yaml:15:84: assets[6].relations.feeds[0]: feeds cannot go from equipment to a substance ('a2' ->"
        " 'brick:Hot_Water'): feeds goes from equipment or a collection to equipment, a location or a collection",
        "m.yaml:16:44: assets[7].relations.meters: meters goes from a meter (brick:Meter or a subclass); 'a3' is not"
        " one",
        "m.yaml:16:59: assets[7].relations.hasSubMeter: hasSubMeter goes from a meter (brick:Meter or a subclass);"
        " 'a3' is not one",
        "m.yaml:17:56: assets[8].relations.meters: between meters use hasSubMeter/isSubMeterOf, not"
        " meters/isMeteredBy ('meter1' is a meter)",
        "m.yaml:17:72: assets[8].relations.isMeteredBy: between meters use hasSubMeter/isSubMeterOf, not"
        " meters/isMeteredBy ('m3' is a meter)",
        "m.yaml:17:93: assets[8].relations.hasSubMeter: hasSubMeter goes to a meter (brick:Meter or a subclass);"
        " 'ahu1' is not one",
        "m.yaml:18:64: assets[9].relations.hasInputSubstance[0]: brick:Hot_Watr is no Brick substance (did you"
        " mean brick:Hot_Water, brick:Water?)",
        "m.yaml:18:80: assets[9].relations.hasInputSubstance[1]: hasInputSubstance targets a Brick substance such"
        " as brick:Hot_Water or brick:Natural_Gas, not an id ('hall1')",
        "m.yaml:18:88: assets[9].relations.connectedTo: connectedTo cannot go from equipment to a room ('a4' ->"
        " 'hall1'): connectedTo goes from equipment to equipment; from a location to a location",
        "rooms.yaml:2:41: locations[0].relations.feeds: feeds cannot go from a room to equipment ('hall2' ->"
        " 'ahu1'): feeds goes from equipment or a collection to equipment, a location or a collection",
        "rooms.yaml:2:64: locations[0].relations.hasPart[0]: hasPart cannot go from a room to equipment ('hall2' ->"
        " 'ahu1'): hasPart goes from equipment to equipment; from a location to a location; from a collection to"
        " equipment, a location or a collection",
        "rooms.yaml:2:78: locations[0].relations.hasLocation: a location is placed in the location tree with"
        " parent:, not hasLocation",
    ]


def test_each_edge_is_stated_once_and_asymmetric_ones_one_way(errors: Errors) -> None:
    errs = errors(
        PLANT
        + """\
  - {id: a1, type: brick:Pump, relations: {isFedBy: a2, connectedTo: a2}}
  - {id: a2, type: brick:Pump, relations: {isFedBy: a1, feeds: [a1, a1, a2], connectedTo: a1, "brick:feeds": ahu1}}
  - {id: a3, type: brick:Pump, relations: {feeds: ahu1, isPartOf: a3}}
"""
    )
    assert errs == [
        "m.yaml:15:44: assets[6].relations.isFedBy: isFedBy cannot go both ways between 'a2' and 'a1' (the other way"
        " is stated at m.yaml:14:53)",
        "m.yaml:15:65: assets[6].relations.feeds[0]: 'a2' feeds 'a1' is already stated at m.yaml:14:53; state it once",
        "m.yaml:15:69: assets[6].relations.feeds[1]: 'a2' feeds 'a1' is already stated at m.yaml:14:53; state it once",
        "m.yaml:15:73: assets[6].relations.feeds[2]: feeds cannot go from 'a2' to itself",
        "m.yaml:15:78: assets[6].relations.connectedTo: 'a2' connectedTo 'a1' is already stated at m.yaml:14:70;"
        " state it once",
        "m.yaml:16:57: assets[7].relations.isPartOf: isPartOf cannot go from 'a3' to itself",
    ]


def test_no_cycle_in_a_hierarchy_parent_edges_included(errors: Errors, load: Load) -> None:
    errs = errors(
        PLANT
        + """\
  - {id: p1, type: brick:Pump, parent: ahu1, relations: {hasPart: ahu1}}
  - {id: c1, type: brick:Pump, parent: c4, relations: {hasPart: c2}}
  - {id: c2, type: brick:Pump, relations: {hasPart: c3}}
  - {id: c3, type: brick:Pump}
  - {id: c4, type: brick:Pump, relations: {isPartOf: c3}}
  - {id: m3, type: brick:Electrical_Meter, relations: {hasSubMeter: m4}}
  - {id: m4, type: brick:Electrical_Meter, relations: {hasSubMeter: m5}}
  - {id: m5, type: brick:Electrical_Meter, relations: {hasSubMeter: m3}}
""",
        rooms="locations:\n  - {id: r9, type: room, parent: f1, relations: {hasPart: plant}}\n",
    )
    assert errs == [
        "m.yaml:14:58: assets[5].relations.hasPart: hasPart closes a cycle (p1 -> ahu1 -> p1, each -> a hasPart"
        " edge, parent: counted as hasPart): a hierarchy has no cycles; remove one of these",
        "m.yaml:15:56: assets[6].relations.hasPart: hasPart closes a cycle (c1 -> c2 -> c3 -> c4 -> c1, each -> a"
        " hasPart edge, parent: counted as hasPart): a hierarchy has no cycles; remove one of these",
        "m.yaml:19:56: assets[10].relations.hasSubMeter: hasSubMeter closes a cycle (m3 -> m4 -> m5 -> m3, each ->"
        " a hasSubMeter edge): a hierarchy has no cycles; remove one of these",
        "rooms.yaml:2:50: locations[0].relations.hasPart: hasPart closes a cycle (r9 -> plant -> f1 -> r9, each -> a"
        " hasPart edge, parent: counted as hasPart): a hierarchy has no cycles; remove one of these",
    ]
    # a part of two wholes is no cycle (a room of a floor and of an HVAC zone, Brick's own example)
    ok = load(PLANT, rooms="locations:\n  - {id: r9, type: room, parent: f1, relations: {isPartOf: zone1}}\n")
    assert [r.target for r in ok.locations["r9"].relations] == ["zone1"]


def test_points_and_locations_of_things_are_not_relations(errors: Errors) -> None:
    errs = errors(
        PLANT
        + """\
  - {id: a1, type: brick:Pump, relations: {hasPoint: boiler1.t}}
""",
        more="""\
assets:
  - id: a2
    source: sim1
    points: [{id: p, unit: DEG_C, datatype: float, relations: {isPointOf: boiler1}}]
locations:
  - {id: r9, type: room, relations: {isLocationOf: boiler1}}
""",
    )
    assert errs == [
        "m.yaml:14:44: assets[5].relations.hasPoint: hasPoint is not written under relations: a point belongs to the"
        " asset whose points: lists it (use points:)",
        "more.yaml:4:64: assets[0].points[0].relations.isPointOf: isPointOf is not written under relations: a point"
        " belongs to the asset whose points: lists it (use points:)",
        "more.yaml:6:38: locations[0].relations.isLocationOf: isLocationOf is written the other way round: put"
        " location: <this location> on each asset or point here",
    ]


def test_a_target_that_failed_is_reported_once_at_its_cause(errors: Errors) -> None:
    errs = errors(PLANT + "  - {id: a1, colour: red}\n  - {id: a2, type: brick:Pump, relations: {feeds: a1}}\n")
    [only] = errs
    assert only.startswith("m.yaml:14:14: assets[5].colour: unknown key 'colour' (allowed: ")
    assert only.endswith(") [1 relation using asset 'a1' not checked until this is fixed]")
