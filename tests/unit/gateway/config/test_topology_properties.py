"""properties: nameplate keys in standard terms (schema.org, Brick, tb:, rdfs:seeAlso), quantities as a number and
a QUDT unit of the key's dimension, the integrator's own prefixed keys, and profile defaults the instance overrides
key by key."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.config.properties import STANDARD
from tests.unit.gateway.config.conftest import SIM, Errors, Load

BRICK = "https://brickschema.org/schema/Brick#"
SCHEMA = "http://schema.org/"
TB = "https://w3id.org/twinbridge#"
NAMEPLATE = """\
prefixes: {ex: "http://example.com/plant#"}
assets:
  - id: boiler1
    type: brick:Boiler
    properties:
      manufacturer: Viessmann
      model: Vitoplex 200
      product_code: "VX-200"
      serial_number: "7143-22-0012"
      firmware: "2.4.1"
      hardware_version: "B"
      install_date: 2019-05-14
      documents: ["https://example.com/manual.pdf", "http://example.com/datasheet.pdf"]
      rated_power: 40 kW
      rated_power_input: 43.5 KiloW
      rated_voltage: {value: 400, unit: V}
      rated_voltage_output: 0.23 kV
      rated_current: 16 A
      rated_current_output: "500 mA"
      cooling_capacity: 3 TON_FG
      "ex:warrantyEnd": 2027-01-01
      "ex:refrigerantCharge": {value: 1.2, unit: KiloGM}
      "ex:condensing": true
      "http://example.com/other#tag": "B-12"
locations:
  - id: hq
    type: building
    properties: {year_built: 1998, area: "1200 m²", gross_area: {value: 1300, unit: M2}, net_area: 1100 M2,
                 volume: 3600 m³, latitude: 48.1, longitude: -11.5, documents: "https://example.com/plan.pdf"}
"""


def props(entity: object) -> dict[str, tuple[str, object, str | None, str]]:
    return {p.key: (p.predicate, p.value, p.unit, p.label) for p in entity.properties}  # type: ignore[attr-defined]


def test_every_standard_key_in_its_standard_term(load: Load) -> None:
    m = load(NAMEPLATE)
    assert props(m.assets["boiler1"]) == {
        "manufacturer": (SCHEMA + "manufacturer", "Viessmann", None, "Manufacturer"),
        "model": (SCHEMA + "model", "Vitoplex 200", None, "Model"),
        "product_code": (SCHEMA + "productID", "VX-200", None, "Product code"),
        "serial_number": (SCHEMA + "serialNumber", "7143-22-0012", None, "Serial number"),
        "firmware": (SCHEMA + "softwareVersion", "2.4.1", None, "Firmware version"),
        "hardware_version": (TB + "hardwareVersion", "B", None, "Hardware version"),
        "install_date": (TB + "installDate", datetime.date(2019, 5, 14), None, "Install date"),
        "documents": (
            "http://www.w3.org/2000/01/rdf-schema#seeAlso",
            ("https://example.com/manual.pdf", "http://example.com/datasheet.pdf"),
            None,
            "Documents",
        ),
        "rated_power": (BRICK + "ratedPowerOutput", 40.0, "KiloW", "Rated power"),
        "rated_power_input": (BRICK + "ratedPowerInput", 43.5, "KiloW", "Rated power input"),
        "rated_voltage": (BRICK + "ratedVoltageInput", 400.0, "V", "Rated voltage"),
        "rated_voltage_output": (BRICK + "ratedVoltageOutput", 0.23, "KiloV", "Rated voltage output"),
        "rated_current": (BRICK + "ratedCurrentInput", 16.0, "A", "Rated current"),
        "rated_current_output": (BRICK + "ratedCurrentOutput", 500.0, "MilliA", "Rated current output"),
        "cooling_capacity": (BRICK + "coolingCapacity", 3.0, "TON_FG", "Cooling capacity"),
        "ex:warrantyEnd": ("http://example.com/plant#warrantyEnd", datetime.date(2027, 1, 1), None, "Warranty end"),
        "ex:refrigerantCharge": ("http://example.com/plant#refrigerantCharge", 1.2, "KiloGM", "Refrigerant charge"),
        "ex:condensing": ("http://example.com/plant#condensing", True, None, "Condensing"),
        "http://example.com/other#tag": ("http://example.com/other#tag", "B-12", None, "Tag"),
    }
    assert props(m.locations["hq"]) == {
        "year_built": (BRICK + "yearBuilt", 1998, None, "Year built"),
        "area": (BRICK + "area", 1200.0, "M2", "Area"),
        "gross_area": (BRICK + "grossArea", 1300.0, "M2", "Gross area"),
        "net_area": (BRICK + "netArea", 1100.0, "M2", "Net area"),
        "volume": (BRICK + "volume", 3600.0, "M3", "Volume"),
        "latitude": (BRICK + "latitude", 48.1, None, "Latitude"),
        "longitude": (BRICK + "longitude", -11.5, None, "Longitude"),
        "documents": (
            "http://www.w3.org/2000/01/rdf-schema#seeAlso",
            ("https://example.com/plan.pdf",),
            None,
            "Documents",
        ),
    }
    manufacturer = m.assets["boiler1"].properties[0]
    assert manufacturer.origin is not None and (manufacturer.origin.file, manufacturer.origin.line) == ("m.yaml", 6)
    used = set(props(m.assets["boiler1"])) | set(props(m.locations["hq"]))
    assert set(STANDARD) <= used  # this test covers every standard key


def test_properties_on_points_and_a_prefixed_standard_term_is_the_standard_key(load: Load) -> None:
    m = load(
        SIM
        + """\
assets:
  - id: s1
    source: sim1
    points:
      - {id: t, unit: DEG_C, datatype: float, properties: {manufacturer: Sensirion, "brick:ratedPowerInput": 2 W}}
"""
    )
    assert props(m.points["s1.t"]) == {
        "manufacturer": (SCHEMA + "manufacturer", "Sensirion", None, "Manufacturer"),
        "brick:ratedPowerInput": (BRICK + "ratedPowerInput", 2.0, "W", "Rated power input"),
    }


def test_bad_values_each_say_what_to_write(errors: Errors) -> None:
    errs = errors("""\
assets:
  - id: b
    properties:
      manufacturer: 12
      firmware: 2.10
      model: ""
      install_date: 2019-13-01
      year_built: 98
      documents: ["ftp://x/y", "https://ok/"]
      rated_power: 40 V
      rated_voltage: 400
      rated_current: 40 amps
      area: {value: 3}
      volume: {value: true, unit: M3}
      cooling_capacity: 3 kWh
      latitude: 200
      "http://example.com/p#x": [1]
""")
    assert errs == [
        'm.yaml:4:7: assets[0].properties.manufacturer: manufacturer is text: write it in quotes (manufacturer: "12")'
        " so YAML keeps it as written",
        'm.yaml:5:7: assets[0].properties.firmware: firmware is text: write it in quotes (firmware: "2.1") so YAML'
        " keeps it as written",
        "m.yaml:6:7: assets[0].properties.model: model is empty: write its text or leave the key out",
        "m.yaml:7:7: assets[0].properties.install_date: install_date is a date written YYYY-MM-DD, e.g. 2019-05-14"
        " (got '2019-13-01')",
        "m.yaml:8:7: assets[0].properties.year_built: year_built is a four-digit year such as 1998 (got 98)",
        "m.yaml:9:7: assets[0].properties.documents: documents is an http(s) URL or a list of them (e.g."
        ' ["https://example.com/manual.pdf"])',
        "m.yaml:10:7: assets[0].properties.rated_power: rated_power is a power; 'V' is a voltage unit: use W, kW,"
        " MW, ...",
        "m.yaml:11:7: assets[0].properties.rated_voltage: rated_voltage needs a number and a unit, e.g."
        " rated_voltage: 40 V or {value: 40, unit: ...} (got 400)",
        "m.yaml:12:7: assets[0].properties.rated_current: unknown unit 'amps' (a QUDT unit name such as KiloW, or a"
        " symbol such as kW)",
        "m.yaml:13:7: assets[0].properties.area: area: a quantity is written {value: <number>, unit: <QUDT unit>}"
        " (got keys value)",
        "m.yaml:14:7: assets[0].properties.volume: volume: the value of a quantity is a number (got True)",
        "m.yaml:15:7: assets[0].properties.cooling_capacity: unknown unit 'kWh' (did you mean KiloW-HR?)",
        "m.yaml:16:7: assets[0].properties.latitude: latitude is a number from -90 to 90 (got 200)",
        "m.yaml:17:7: assets[0].properties.http://example.com/p#x: http://example.com/p#x: write text, a number,"
        " true/false, a date or {value: ..., unit: ...} (got [1])",
    ]


def test_wrong_dimensions(errors: Errors) -> None:
    errs = errors("""\
assets:
  - id: b
    properties: {rated_current: 3 kW, area: 3 m³, cooling_capacity: {value: 3, unit: KiloW-HR}, volume: 2 A}
""")
    assert errs == [
        "m.yaml:3:18: assets[0].properties.rated_current: rated_current is an electric current; 'kW' is a power"
        " unit: use A, mA, ...",
        "m.yaml:3:39: assets[0].properties.area: area is an area; 'm³' is a volume unit: use m², ft², ...",
        "m.yaml:3:51: assets[0].properties.cooling_capacity: cooling_capacity is a power; 'KiloW-HR' is an energy"
        " unit: use kW, TOR, BTU_IT-PER-HR, ...",
        "m.yaml:3:97: assets[0].properties.volume: volume is a volume; 'A' is an electric current unit: use m³, L, ...",
    ]


def test_unknown_and_duplicate_keys(errors: Errors) -> None:
    errs = errors("""\
assets:
  - id: b
    properties:
      manufactur: x
      serial: "1"
      "ex:foo": 1
      rated_power: 4 kW
      "brick:ratedPowerOutput": 4 kW
""")
    assert errs == [
        "m.yaml:4:7: assets[0].properties.manufactur: unknown property 'manufactur' (did you mean 'manufacturer'? or"
        " write a prefixed IRI such as ex:manufactur, ex declared under prefixes:)",
        "m.yaml:5:7: assets[0].properties.serial: unknown property 'serial' (did you mean 'serial_number'? or write"
        " a prefixed IRI such as ex:serial, ex declared under prefixes:)",
        "m.yaml:6:7: assets[0].properties.ex:foo: unknown prefix 'ex' in 'ex:foo' (declare it under prefixes:, or"
        " write a full IRI)",
        "m.yaml:8:7: assets[0].properties.brick:ratedPowerOutput: 'brick:ratedPowerOutput' is the same term as"
        " 'rated_power' (brick:ratedPowerOutput)",
    ]


PROFILE = """\
profile: pump
type: brick:Pump
location: "{room}"
properties:
  manufacturer: Grundfos
  model: "Magna3 {size}"
  rated_power: 250 W
points:
  - {id: speed, unit: PERCENT, datatype: float, properties: {serial_number: "{asset}-speed"}}
"""


def test_profile_defaults_and_location_template(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "pump.yaml").write_text(PROFILE)
    (tmp_path / "m.yaml").write_text(
        SIM
        + """\
locations:
  - {id: r1, type: room}
  - {id: r2, type: room}
assets:
  - {id: p1, profile: pump, source: sim1, vars: {room: r1, size: "32-100"}}
  - id: p2
    profile: pump
    source: sim1
    vars: {room: r2, size: "40"}
    location: r1
    properties: {"brick:ratedPowerOutput": 0.3 kW, serial_number: "S2"}
"""
    )
    m = load_mappings([tmp_path / "m.yaml"])
    p1, p2 = m.assets["p1"], m.assets["p2"]
    assert p1.location == "r1" and p2.location == "r1"  # the instance's own location wins over the template
    assert props(p1) == {
        "manufacturer": (SCHEMA + "manufacturer", "Grundfos", None, "Manufacturer"),
        "model": (SCHEMA + "model", "Magna3 32-100", None, "Model"),
        "rated_power": (BRICK + "ratedPowerOutput", 250.0, "W", "Rated power"),
    }
    # the instance's properties first, then the defaults it does not set (compared by term)
    assert [(p.key, p.value, p.unit) for p in p2.properties] == [
        ("brick:ratedPowerOutput", 0.3, "KiloW"),
        ("serial_number", "S2", None),
        ("manufacturer", "Grundfos", None),
        ("model", "Magna3 40", None),
    ]
    default = p1.properties[0].origin
    assert default is not None and default.file.endswith("pump.yaml") and default.line == 5
    assert props(m.points["p2.speed"])["serial_number"][1] == "p2-speed"


def test_profile_template_errors_name_the_profile_and_the_instance(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "pump.yaml").write_text(PROFILE.replace("250 W", "250 V"))
    (tmp_path / "m.yaml").write_text(
        SIM
        + """\
locations:
  - {id: r1, type: room}
assets:
  - {id: p1, profile: pump, source: sim1, vars: {room: r9, size: "1"}}
  - {id: p2, profile: pump, source: sim1, vars: {room: r1}}
"""
    )
    with pytest.raises(ConfigErrors) as exc:
        load_mappings([tmp_path / "m.yaml"])
    prof, inst = tmp_path / "profiles" / "pump.yaml", tmp_path / "m.yaml"
    assert [str(e) for e in exc.value.errors] == [
        f"{prof}:3:1: location: unknown location 'r9' (nearest known: 'r1') [profile instance at {inst}:6:5]",
        f"{prof}:6:3: properties.model: placeholder {{size}} has no value (give it in vars:) [profile instance at"
        f" {inst}:7:5]",
        f"{prof}:7:3: properties.rated_power: rated_power is a power; 'V' is a voltage unit: use W, kW, MW, ..."
        f" [profile instance at {inst}:6:5]",
        f"{prof}:7:3: properties.rated_power: rated_power is a power; 'V' is a voltage unit: use W, kW, MW, ..."
        f" [profile instance at {inst}:7:5]",
    ]
