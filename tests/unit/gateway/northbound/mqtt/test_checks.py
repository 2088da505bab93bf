"""`gateway: mqtt:` checks against the model, as `twinbridge validate` shows them: at file:line of the key."""

from __future__ import annotations

import pytest

from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings

HEAD = """\
twin: {base_iri: "http://t.local/"}
gateway:
  mqtt:
    brokers:
      - name: plant
        url: mqtt://127.0.0.1:1883
"""
PLANT = """\
sources:
  - {id: sim1, kind: sim}
assets:
  - {id: site, type: site, label: Site}
  - id: ahu1
    type: brick:AHU
    parent: site
    source: sim1
    points:
      - {id: temp, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float}
      - {id: fan, type: setpoint, unit: PERCENT, datatype: float, writable: true}
  - id: ahu2
    type: brick:AHU
    parent: site
    source: sim1
    points:
      - {id: temp, class: brick:Return_Air_Temperature_Sensor, unit: DEG_C, datatype: float}
"""


def _errors(uns: str, plant: str = PLANT) -> list[str]:
    try:
        load_mappings(["m.yaml"], texts={"m.yaml": HEAD + uns + plant})
    except ConfigErrors as exc:
        return [str(e) for e in exc.errors]
    return []


def test_a_template_that_collides_two_points_is_an_error_at_its_line_naming_both() -> None:
    assert _errors('        uns: {topic: "{prefix}/{site}/{point}", meta: false}\n') == [
        "m.yaml:7:15: gateway.mqtt.brokers[0].uns.topic: point 'ahu1.temp' and point 'ahu2.temp' would both "
        "publish on 'twinbridge/site/temp': add a level that tells them apart (e.g. {asset} or {equipment}) to "
        "topic:, or narrow select:"
    ]


def test_the_default_template_and_a_valid_one_pass() -> None:
    assert _errors("        uns: {commands: true}\n") == []
    assert _errors('        uns: {topic: "plant/{asset}/{point}", prefix: ""}\n') == []


def test_collisions_are_counted_on_what_the_selection_picks() -> None:
    flat = '        uns: {topic: "{prefix}/{point}", meta: false, select: SELECT}\n'
    assert _errors(flat.replace("SELECT", "{under: ahu1}")) == []
    assert _errors(flat.replace("SELECT", "{class: brick:Supply_Air_Temperature_Sensor}")) == []
    sparql = "'SELECT ?point WHERE { ?point <http://www.w3.org/2000/01/rdf-schema#label> \"fan\" }'"
    assert _errors(flat.replace("SELECT", "{sparql: " + sparql + "}")) == []
    assert len(_errors(flat.replace("SELECT", "{class: brick:Air_Temperature_Sensor}"))) == 1  # both subclasses


def test_a_template_naming_an_unknown_level_and_a_bad_prefix() -> None:
    assert _errors('        uns:\n          topic: "{prefix}/{building}/{point}"\n          prefix: "a/#"\n') == [
        "m.yaml:8:11: gateway.mqtt.brokers[0].uns.topic: topic '{prefix}/{building}/{point}' names {building}, "
        "which is no level: use {prefix}, {site}, {area}, {line}, {equipment}, {asset}, {point}",
        "m.yaml:9:11: gateway.mqtt.brokers[0].uns.prefix: prefix 'a/#' contains + or #, which only subscriptions "
        "may use",
    ]


def test_selection_errors_at_their_keys() -> None:
    errors = _errors(
        """\
        uns:
          select:
            class: [brick:AHU, brick:Temprature_Sensor]
            under: ahu3
            sparql: "SELECT ?p WHERE { ?p ?q ?o }"
            points: [ahu1.temp, ahu1.tmp]
"""
    )
    assert errors == [
        "m.yaml:9:21: gateway.mqtt.brokers[0].uns.select.class[0]: brick:AHU is a Brick equipment class; a "
        "selection takes points: use a point class (and under: for the equipment)",
        "m.yaml:9:32: gateway.mqtt.brokers[0].uns.select.class[1]: unknown Brick class brick:Temprature_Sensor "
        "(did you mean brick:Temperature_Sensor, brick:Air_Temperature_Sensor, brick:Soil_Temperature_Sensor?)",
        "m.yaml:10:13: gateway.mqtt.brokers[0].uns.select.under: unknown asset or location 'ahu3' for under: "
        "(nearest known: 'ahu2', 'ahu1')",
        "m.yaml:11:13: gateway.mqtt.brokers[0].uns.select.sparql: the SPARQL query selects ?p; it must select ?point",
        "m.yaml:12:33: gateway.mqtt.brokers[0].uns.select.points[1]: unknown point 'ahu1.tmp' (nearest known: "
        "'ahu1.temp', 'ahu2.temp', 'ahu1.fan')",
    ]
    assert "does not parse" in _errors('        uns: {select: {sparql: "SELECT ?point WHERE {"}}\n')[0]


def test_command_settings_that_contradict_each_other() -> None:
    assert _errors("        uns: {commands: true, command_role: reader}\n") == [
        "m.yaml:7:31: gateway.mqtt.brokers[0].uns.command_role: role 'reader' may not write: give operator or "
        "admin, or commands: false"
    ]
    assert _errors("        uns: {command_role: admin}\n") == [
        "m.yaml:7:15: gateway.mqtt.brokers[0].uns.command_role: command_role takes effect with commands: true only"
    ]


def test_asset_metadata_on_one_topic_is_an_error_unless_meta_is_off() -> None:
    assert _errors('        uns: {topic: "{prefix}/{asset}/{point}"}\n') == []
    one_level = '        uns: {topic: "{prefix}/{site}/{point}", select: {points: [ahu1.temp, ahu1.fan]}META}\n'
    assert _errors(one_level.replace("META", "")) == [
        "m.yaml:7:15: gateway.mqtt.brokers[0].uns.topic: the metadata of asset 'ahu1' and the metadata of asset "
        "'site' would both publish on 'twinbridge/site/_meta': add a level that tells the assets apart (e.g. "
        "{asset}) to topic:, or meta: false",
    ]
    assert _errors(one_level.replace("META", ", meta: false")) == []


def test_many_collisions_are_summed_up() -> None:
    points = "".join(f"      - {{id: p{i}, unit: DEG_C, datatype: float}}\n" for i in range(8))
    plant = PLANT + "  - id: ahu3\n    type: brick:AHU\n    parent: site\n    source: sim1\n    points:\n" + points
    errors = _errors('        uns: {topic: "{prefix}/{asset}", meta: false}\n', plant)
    assert len(errors) == 6  # 8 collisions: ahu1 (2 points), ahu3 (8 points)
    assert sum(e.endswith("... and 3 more topic collision(s) of this template") for e in errors) == 1


@pytest.mark.parametrize(
    "off", ["        uns: {enabled: false, topic: '{nope}'}\n", "        uns: {topic: '{nope}'}\n    enabled: false\n"]
)
def test_a_disabled_uns_or_service_is_not_checked(off: str) -> None:
    assert _errors(off) == []


def test_the_sparkplug_section_gets_the_edge_nodes_own_checks() -> None:
    errors = _errors("        sparkplug: {group: g, node: n, select: {class: brick:Nope}}\n")
    assert len(errors) == 1 and "gateway.mqtt.brokers[0].sparkplug.select.class[0]: unknown Brick class" in errors[0]
