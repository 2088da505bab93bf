"""Alarm rules in mappings (gateway/config/alarm_rules.py): per point, per profile point, per class; every bad
rule an error at its file:line that says what to write."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.loader import load_mappings
from gateway.rules.spec import AlarmKind, AlarmRule, Threshold
from tests.unit.gateway.config.conftest import SIM, Errors, Load


def _point(alarms: str, extra: str = "") -> str:
    # line 7 holds the alarms under test
    return (
        SIM + "assets:\n  - id: b1\n    source: sim1\n    points:\n"
        f"      - {{id: t, unit: DEG_C, address: {{signal: sine}}, alarms: {alarms}}}\n"
        "      - {id: sp, type: setpoint, unit: DEG_F, address: {signal: sine}}\n"
        "      - {id: p, unit: BAR, address: {signal: sine}}\n"
        "      - {id: running, datatype: bool, type: status, address: {signal: sine}}\n" + extra
    )


def _only(errs: list[str]) -> str:
    assert len(errs) == 1, errs
    return errs[0]


def test_every_kind_builds_its_rule(load: Load) -> None:
    alarms = (
        "[{limit: {high: 85 °C, high_high: {value: 203, unit: DEG_F}, low: 278.15 K, deadband: 1 K, on_delay: 10s}, "
        "severity: 800, message: '{asset_label}: {value} {unit} above {limit}'}, "
        "{deviation: {setpoint: sp, high: 5 K, low: 9 °F}, name: off-setpoint}, "
        "{rate: {max: 2 K, per: 1min}}, {stale: 30s}, {quality: 1min, ack_required: false, enabled: false}]"
    )
    text = _point(alarms).replace(
        "type: status, address: {signal: sine}}",
        "type: status, address: {signal: sine}, alarms: [{discrete: {value: true}}]}",
    )
    a = load(text).analytics
    assert a is not None
    limit, deviation, rate, stale, quality = a.alarms["b1.t"]
    assert limit == AlarmRule(
        name="limit",
        kind=AlarmKind.LIMIT,
        severity=800,
        message="{asset_label}: {value} {unit} above {limit}",
        high=Threshold(85.0, "DEG_C"),
        high_high=Threshold(203.0, "DEG_F"),
        low=Threshold(278.15, "K"),
        deadband=Threshold(1.0, "K"),
        on_delay=10.0,
        origin=limit.origin,
    )
    assert limit.origin is not None and (limit.origin.file, limit.origin.line) == ("m.yaml", 7)
    assert (deviation.name, deviation.setpoint, deviation.low) == ("off-setpoint", "b1.sp", Threshold(9.0, "DEG_F"))
    assert (rate.rate, rate.rate_per) == (Threshold(2.0, "K"), 60.0)
    assert (stale.kind, stale.timeout) == (AlarmKind.STALE, 30.0)
    assert (quality.bad_for, quality.ack_required, quality.enabled) == (60.0, False, False)
    assert a.alarms["b1.running"][0].values == (True,)


def test_a_mapping_without_analytics_has_none(load: Load) -> None:
    model = load(SIM + "assets:\n  - {id: b1, source: sim1, points: [{id: t, unit: DEG_C, address: {signal: sine}}]}\n")
    assert model.analytics is None and "analytics" not in model.sources


@pytest.mark.parametrize(
    ("alarms", "expected"),
    [
        (
            "[{limit: {high: 85}}]",
            "alarms[0].limit.high: high: 85 has no unit, and the point is in °C: write high: 85 °C",
        ),
        ("[{limit: {high: 3 bar}}]", "is a unit of force per area, but the point measures temperature in °C"),
        ("[{limit: {high: 85 °C, low: 90 °C}}]", "alarms[0].limit.high: high must be above low"),
        ("[{limit: {deadband: 1 K}}]", "limit: needs at least one of high_high, high, low, low_low"),
        ("[{limit: {hihg: 85 °C}}]", "unknown key 'hihg' in limit: (did you mean 'high'?"),
        ("[{deviation: {setpoint: nope, high: 5 K}}]", "unknown setpoint point 'nope'"),
        ("[{deviation: {setpoint: p, high: 5 K}}]", "setpoint b1.p is in bar but the point in °C"),
        ("[{stale: 30 seconds}]", "stale is written like 30s, 1min, 2h or 500ms"),
        ("[{limit: {high: 85 °C}, severity: 5000}]", "severity is a whole number from 1 to 1000"),
        ("[{limit: {high: 85 °C}, stale: 30s}]", "an alarm rule has exactly one of"),
        ("[{limit: {high: 85 °C}}, {limit: {low: 5 °C}}]", "a second rule named 'limit'"),
        ("[{limit: {high: 85 °C}, message: '{valeu} too high'}]", "unknown placeholder {valeu}"),
        ("[{rate: {per: 1min}}]", "rate: needs max:"),
        ("[{discrete: {}}]", "discrete: needs values:"),
    ],
)
def test_a_bad_rule_is_an_error_at_its_line(errors: Errors, alarms: str, expected: str) -> None:
    err = _only(errors(_point(alarms)))
    assert err.startswith("m.yaml:7:"), err
    assert expected in err, err


def test_a_threshold_in_another_unit_of_the_quantity_is_kept_for_the_engine_to_convert(load: Load) -> None:
    a = load(_point("[{limit: {high: 185 °F, low: 280 K}}]")).analytics
    assert a is not None
    assert (a.alarms["b1.t"][0].high, a.alarms["b1.t"][0].low) == (Threshold(185.0, "DEG_F"), Threshold(280.0, "K"))


def test_a_profile_point_carries_its_rules_to_each_instance(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "probe.yaml").write_text(
        "profile: probe\npoints:\n"
        "  - {id: t, unit: DEG_C, address: {signal: sine}, alarms: [{limit: {high: 30 °C}}, {stale: 1min}]}\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        SIM + "assets:\n  - {id: r1, profile: probe, source: sim1}\n  - {id: r2, profile: probe, source: sim1}\n"
    )
    a = load_mappings([mapping], env={}).analytics
    assert a is not None
    assert [r.name for r in a.alarms["r1.t"]] == ["limit", "stale"] and a.alarms["r2.t"] == a.alarms["r1.t"]


def test_a_bad_rule_in_a_profile_names_the_profile_line_and_the_instance(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "probe.yaml").write_text(
        "profile: probe\npoints:\n  - {id: t, unit: DEG_C, address: {signal: sine}, alarms: [{limit: {high: 30}}]}\n",
        encoding="utf-8",
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(SIM + "assets:\n  - {id: r1, profile: probe, source: sim1}\n")
    with pytest.raises(Exception) as exc:
        load_mappings([mapping], env={})
    err = _only(str(exc.value).splitlines())
    assert "probe.yaml:3:" in err and "write high: 30 °C" in err and f"profile instance at {mapping}:4" in err, err


def test_class_rules_take_any_unit_of_one_quantity(load: Load, errors: Errors) -> None:
    text = _point("[]") + (
        "alarms:\n"
        "  - {name: hot, select: {class: brick:Temperature_Sensor, under: b1}, limit: {high: 86 °F, deadband: 0.5 K}}\n"
        "  - {select: {points: [b1.t, b1.sp]}, stale: 1min}\n"
    )
    a = load(text).analytics
    assert a is not None
    hot, stale = a.class_alarms
    assert hot.rule.name == "hot" and hot.rule.high == Threshold(86.0, "DEG_F")
    assert hot.selector.classes == ("https://brickschema.org/schema/Brick#Temperature_Sensor",)
    assert stale.selector.points == ("b1.t", "b1.sp")
    bad = text + "  - {select: {class: brick:Temprature_Sensor}, limit: {high: 30 °C, low: 2 bar}}\n"
    errs = errors(bad)
    assert any(e.startswith("m.yaml:14:") and "unknown Brick class brick:Temprature_Sensor" in e and
               "brick:Temperature_Sensor" in e for e in errs), errs  # fmt: skip
    assert any(e.startswith("m.yaml:14:") and "every threshold of the rule in units of one quantity" in e
               for e in errs), errs  # fmt: skip


def test_class_rules_of_one_kind_need_names(errors: Errors) -> None:
    text = _point("[]") + (
        "alarms:\n  - {select: {class: brick:Temperature_Sensor}, stale: 1min}\n"
        "  - {select: {class: brick:Pressure_Sensor}, stale: 5min}\n"
    )
    err = _only(errors(text))
    assert err.startswith("m.yaml:13:") and "a second rule named 'stale'" in err, err
