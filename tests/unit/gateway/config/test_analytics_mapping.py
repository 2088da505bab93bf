"""Derived points, aggregates, detectors and the analytics: section in mappings (gateway/config/analytics*.py):
the specs a valid mapping builds, and each bad input an error at its file:line that says what to change."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from adapters.contract.model import Asset, DataType, Point
from gateway.config.fragments import FragmentDiscovery
from gateway.config.loader import load_mappings
from gateway.rules.spec import DERIVED_SOURCE, AlarmKind, DerivedAddress, DetectorSpec
from tests.unit.gateway.config.conftest import SIM, Errors, Load

BRICK = "https://brickschema.org/schema/Brick#"
# 12 lines; the point under test is added as line 13
PLANT = SIM + (
    "locations:\n  - {id: site, type: site}\n"
    "assets:\n  - id: boiler1\n    source: sim1\n    location: site\n    points:\n"
    "      - {id: flow, unit: M3-PER-HR, address: {signal: sine}}\n"
    "      - {id: supply_temp, class: Supply_Water_Temperature_Sensor, unit: DEG_C, address: {signal: sine}}\n"
    "      - {id: return_temp, unit: DEG_C, address: {signal: sine}}\n"
)


def _only(errs: list[str]) -> str:
    assert len(errs) == 1, errs
    return errs[0]


def test_derived_points_are_points_of_the_analytics_source_with_compiled_expressions(load: Load) -> None:
    model = load(
        PLANT
        + "      - {id: thermal_power, unit: KiloW,\n"
        + '         expr: "flow * (supply_temp - return_temp) * 1.163 [KiloW-HR/(M3*K)]"}\n'
        + '      - {id: heat, unit: KiloW-HR, expr: "integral(thermal_power)"}\n'
        + "  - id: hall\n    points:\n"
        + "      - {id: total, unit: KiloW, aggregate: {sum: {class: brick:Electric_Power_Sensor, under: site}}}\n"
        + "      - {id: n, unit: UNITLESS, aggregate: {count: {points: [boiler1.flow, boiler1.supply_temp]}}}\n"
    )
    power = model.points["boiler1.thermal_power"]
    assert (power.source, power.writable, power.unit) == (DERIVED_SOURCE, False, "KiloW")
    assert isinstance(power.address, DerivedAddress) and str(power.address.expr).startswith("flow *")
    assert model.sources[DERIVED_SOURCE].kind == DERIVED_SOURCE
    a = model.analytics
    assert a is not None and set(a.derived) == {"boiler1.thermal_power", "boiler1.heat", "hall.total", "hall.n"}
    compiled = a.derived["boiler1.thermal_power"].compiled
    assert set(compiled.inputs) == {"boiler1.flow", "boiler1.supply_temp", "boiler1.return_temp"}
    assert [w.point for w in a.derived["boiler1.heat"].compiled.windows] == ["boiler1.thermal_power"]
    total = a.derived["hall.total"].aggregate
    assert total is not None and total.function == "sum"
    assert (total.selector.classes, total.selector.under) == ((BRICK + "Electric_Power_Sensor",), "site")
    count = a.derived["hall.n"].aggregate
    assert count is not None and count.selector.points == ("boiler1.flow", "boiler1.supply_temp")


@pytest.mark.parametrize(
    ("point", "where", "expected"),
    [
        ('{id: x, unit: DEG_C, expr: "supply_temp * (2"}', ":13:", "expected ')'"),
        ('{id: x, unit: DEG_C, expr: "supply_temp + flow"}', ":13:49:", "cannot add DEG_C"),
        (
            '{id: x, unit: KiloW, expr: "flow * (supply_temp - return_temp)"}',
            ":13:",
            "the point's unit KiloW needs power",
        ),
        ('{id: x, unit: DEG_C, expr: "supply_tmp + 1 [K]"}', ":13:37:", "'supply_tmp'"),
        ('{id: x, unit: DEG_C, expr: "y", address: {signal: sine}}', ":13:", "has no address: remove it"),
        ('{id: x, unit: DEG_C, expr: "supply_temp", writable: true}', ":13:", "cannot be written: remove writable"),
        ('{id: x, unit: DEG_C, expr: "supply_temp", source: sim1}', ":13:", "has no source: remove it"),
        ('{id: x, expr: "supply_temp"}', ":13:", "a numeric measurement needs a unit"),
        (
            "{id: x, unit: KiloW, aggregate: {sum: {class: brick:Electric_Power_Sensr}}}",
            ":13:",
            "brick:Electric_Power_Sensor",
        ),
        ("{id: x, unit: KiloW, aggregate: {sum: {class: brick:Boiler}}}", ":13:", "a selection takes points"),
        ("{id: x, unit: KiloW, aggregate: {sum: {under: hal}}}", ":13:", "unknown asset or location 'hal' for under:"),
        ("{id: x, unit: KiloW, aggregate: {total: {under: site}}}", ":13:", "aggregate: is one of sum, avg"),
        ("{id: x, unit: KiloW, aggregate: {sum: {points: [x]}}}", ":13:", "cannot be an input of itself"),
        (
            '{id: x, unit: KiloW, aggregate: {sum: {sparql: "SELECT ?point WHERE { ?point a brick:X }"}}}',
            ":13:",
            "an undeclared prefix at line 1, column 39 of the query",
        ),
        (
            '{id: x, unit: KiloW, aggregate: {sum: {sparql: "SELECT ?p WHERE { ?p ?q ?r }"}}}',
            ":13:",
            "it must select ?point",
        ),
        ('{id: x, unit: KiloW, aggregate: {sum: {sparql: "SELEC ?point"}}}', ":13:", "does not parse"),
    ],
)
def test_a_bad_derived_point_is_an_error_at_its_line(errors: Errors, point: str, where: str, expected: str) -> None:
    errs = errors(PLANT + f"      - {point}\n")
    if 'expr: "y"' in point:  # the unknown 'y' is reported too: both at the point's line
        errs = [e for e in errs if "address" in e]
    err = _only(errs)
    assert where in err and err.startswith("m.yaml:"), err
    assert expected in err, err


def test_an_expression_error_points_at_its_character_also_in_a_block_scalar(errors: Errors) -> None:
    text = PLANT + "      - id: x\n        unit: DEG_C\n        expr: >\n          supply_temp + nope\n"
    err = _only(errors(text))
    assert err.startswith("m.yaml:16:25:") and "'nope'" in err, err


def test_a_cycle_between_derived_points_is_named(errors: Errors) -> None:
    text = PLANT + (
        '      - {id: a, unit: DEG_C, expr: "b + 1 [K]"}\n'
        '      - {id: b, unit: DEG_C, expr: "avg(c, 15min)"}\n'
        '      - {id: c, unit: DEG_C, expr: "a"}\n'
    )
    err = _only(errors(text))
    assert err.startswith("m.yaml:13:") and "boiler1.a -> boiler1.b -> boiler1.c -> boiler1.a" in err, err


def test_the_analytics_source_id_is_reserved(errors: Errors) -> None:
    err = _only(errors("sources:\n  - {id: analytics, kind: sim}\n"))
    assert err.startswith("m.yaml:2:") and "reserved for derived points: rename the source" in err, err


def test_a_detector_adds_its_score_point_and_anomaly_alarm(load: Load) -> None:
    model = load(PLANT.replace("class: Supply_Water_Temperature_Sensor, ", "anomaly: {threshold: 0.95, season: 7d}, "))
    score = model.points["boiler1.supply_temp_anomaly"]
    assert (score.source, score.unit, score.datatype, score.asset) == (
        DERIVED_SOURCE,
        "UNITLESS",
        DataType.DOUBLE,
        "boiler1",
    )
    assert score.label == "supply_temp anomaly score"
    a = model.analytics
    assert a is not None
    spec = a.anomaly["boiler1.supply_temp"]
    assert (spec.score_point, spec.threshold, spec.season, spec.detector) == (score.id, 0.95, 7 * 86400.0, "seasonal")
    [rule] = a.alarms[score.id]
    assert (rule.kind, rule.name, rule.threshold) == (AlarmKind.ANOMALY, "anomaly", 0.95)
    assert DERIVED_SOURCE in model.sources


@pytest.mark.parametrize(
    ("anomaly", "expected"),
    [
        ("{detector: magic}", "unknown detector 'magic' (known: seasonal, hst"),
        ("{threshold: -1}", "threshold is the anomaly score above which"),
        ("{season: weekly}", "season is written like 30s, 1min"),
        ("{treshold: 0.9}", "did you mean 'threshold'?"),
        ("yes please", "anomaly: is true, or a mapping"),
    ],
)
def test_a_bad_detector_is_an_error_at_its_line(errors: Errors, anomaly: str, expected: str) -> None:
    err = _only(errors(PLANT + f"      - {{id: x, unit: DEG_C, address: {{signal: sine}}, anomaly: {anomaly}}}\n"))
    assert err.startswith("m.yaml:13:") and expected in err, err


def test_class_detectors_and_settings(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        PLANT + "analytics: {state: data/analytics, anomaly_queue: 500}\n"
        "anomaly:\n  - {select: {class: brick:Temperature_Sensor, under: boiler1}, detector: hst, alarm: false}\n",
        encoding="utf-8",
    )
    a = load_mappings([mapping], env={}).analytics
    assert a is not None
    assert (a.settings.state, a.settings.anomaly_queue) == (str(tmp_path / "data" / "analytics"), 500)
    [cd] = a.class_anomaly
    assert cd.detector == DetectorSpec(detector="hst", alarm=False, origin=cd.detector.origin)
    assert cd.selector.classes == (BRICK + "Temperature_Sensor",) and cd.selector.under == "boiler1"


def test_an_empty_analytics_section_still_makes_analytics(load: Load, errors: Errors) -> None:
    a = load(PLANT + "analytics: {}\n").analytics
    assert a is not None and a.empty() and "analytics" not in load(PLANT + "analytics: {}\n").sources
    err = _only(errors(PLANT + "analytics: {stat: x}\n"))
    assert err.startswith("m.yaml:13:") and "stat" in err, err


def _sensor_profile(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "env.yaml").write_text(
        "profile: env\nsource_kind: mqtt\naddress: {payload: json}\npoints:\n"
        "  - id: temperature\n    unit: DEG_C\n    datatype: float\n    address: {json_path: $.temp}\n"
        "    alarms: [{limit: {high: 30 °C}}, {stale: 1min}]\n    anomaly: true\n"
        '  - {id: temperature_f, unit: DEG_F, expr: "temperature"}\n',
        encoding="utf-8",
    )


def test_points_an_mqtt_rule_discovers_get_their_profiles_rules(tmp_path: Path) -> None:
    _sensor_profile(tmp_path)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "sources:\n  - id: broker\n    kind: mqtt\n    url: mqtt://127.0.0.1:1883\n    rules:\n"
        '      - {id: rooms, topic: "plant/{sensor}/telemetry", profile: env, asset: "{sensor}"}\n',
        encoding="utf-8",
    )
    model = load_mappings([mapping], env={})
    assert model.analytics is not None and model.analytics.empty() and DERIVED_SOURCE in model.sources
    added: list[Point] = []

    def add(assets: Sequence[Asset], points: Sequence[Point]) -> list[Point]:
        added.extend(points)
        return list(points)

    found = FragmentDiscovery(model, "broker", add)
    topic = "plant/s17/telemetry"
    instance = {"id": "s17", "profile": "env", "vars": {"sensor": "s17", "topic": topic}, "address": {"topic": topic}}
    fragment = {"origin": f"mqtt rule rooms (topic {topic})", "assets": [instance]}
    assert found(fragment, dry_run=True).errors == []
    assert model.analytics.empty()  # a dry run keeps nothing
    result = found(fragment)
    assert result.errors == []
    assert {p.id for p in added} == {"s17.temperature", "s17.temperature_f", "s17.temperature_anomaly"}
    a = model.analytics
    assert [r.name for r in a.alarms["s17.temperature"]] == ["limit", "stale"]
    assert a.anomaly["s17.temperature"].score_point == "s17.temperature_anomaly"
    assert a.alarms["s17.temperature_anomaly"][0].kind is AlarmKind.ANOMALY
    assert a.derived["s17.temperature_f"].compiled.inputs == ("s17.temperature",)


def test_validate_reports_a_bad_expression_with_file_and_line(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(PLANT + '      - {id: x, unit: DEG_C, expr: "supply_temp + flow"}\n', encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "validate", str(mapping)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode != 0
    assert f"{mapping}:13:49: assets[0].points[3].expr: cannot add DEG_C" in out.stderr, out.stderr


def test_an_aggregate_that_is_no_mapping_says_how_to_write_one(errors: Errors) -> None:
    err = _only(errors(PLANT + "      - {id: x, unit: KiloW, aggregate: sum}\n"))
    assert err.startswith("m.yaml:13:") and "aggregate: is one of sum, avg, min, max, count with a selection" in err
