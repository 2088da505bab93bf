"""Validation points at the cause: errors that only follow from an earlier one are left out (and counted at
their cause), an unset ${VAR} is one message, and `twinbridge validate --allow-missing-env` checks a mapping
without its secrets. Real files in tmp_path, through load_mappings and through the command's main()."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config.errors import ConfigError, ConfigErrors
from gateway.config.loader import load_mappings


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(*files: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigErrors) as exc:
        load_mappings(list(files), env=env or {})
    return [str(e) for e in exc.value.errors]


BROKEN_SOURCE = """\
sources:
  - id: plc1
    kind: modbus
    url: "tcp://127.0.0.1:5020"
    poll_interval: fast
assets:
  - id: boiler1
    source: plc1
    points:
      - {id: t1, unit: DEG_C, datatype: float, address: {table: holding, address: 0, encoding: float32}}
      - {id: t2, unit: DEG_C, datatype: float, address: {table: holding, address: 2, encoding: float32}}
"""


def test_points_of_a_source_whose_config_failed_are_not_reported_as_unknown_source(tmp_path: Path) -> None:
    errs = errors_of(write(tmp_path, "plant.yaml", BROKEN_SOURCE))
    assert len(errs) == 1, errs
    assert errs[0].startswith(f"{tmp_path / 'plant.yaml'}:5:5: sources[0].poll_interval: expected a duration")
    assert "[1 asset, 2 points using source 'plc1' not checked until this is fixed]" in errs[0]


def test_follow_ons_across_files_are_left_out(tmp_path: Path) -> None:
    # the points live in a.yaml (sorted first), the broken source in b.yaml: only the cause is reported
    sources, assets = BROKEN_SOURCE.split("assets:")
    a = write(tmp_path, "a.yaml", "assets:" + assets)
    b = write(tmp_path, "b.yaml", sources)
    errs = errors_of(a, b)
    assert len(errs) == 1 and errs[0].startswith(f"{b}:5:5:"), errs


def test_unknown_source_on_an_asset_is_reported_once_not_per_point(tmp_path: Path) -> None:
    text = BROKEN_SOURCE.replace("    poll_interval: fast\n", "").replace("source: plc1", "source: plc2")
    errs = errors_of(write(tmp_path, "plant.yaml", text))
    assert len(errs) == 1, errs
    assert ":7:5: assets[0].source: unknown source id 'plc2' (did you mean 'plc1'?)" in errs[0]
    assert "[2 points using source 'plc2'" in errs[0]


def test_children_of_a_failed_asset_are_not_reported_as_unknown_parent_or_asset(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plant.yaml",
        """\
        sources: [{id: sim1, kind: sim}]
        assets:
          - {id: site, type: site, colour: red}
          - {id: area, type: area, parent: site, source: sim1}
        points:
          - {id: p, asset: site, unit: DEG_C, datatype: float}
        """,
    )
    errs = errors_of(path)
    assert len(errs) == 1 and ":3:28: assets[0].colour: unknown key 'colour'" in errs[0], errs
    assert "[1 asset, 1 point using asset 'site' not checked" in errs[0]


def test_a_real_error_next_to_a_follow_on_is_still_reported(tmp_path: Path) -> None:
    text = BROKEN_SOURCE + "      - {id: t3, unit: DEGC, datatype: float, address: {table: holding, address: 4}}\n"
    errs = errors_of(write(tmp_path, "plant.yaml", text))
    assert len(errs) == 2 and "unknown unit 'DEGC'" in errs[1], errs


ENV = """\
gateway:
  http:
    port: ${HTTP_PORT}
    tokens:
      - {name: ops, role: operator, token: "${API_TOKEN}"}
sources:
  - id: plc1
    kind: modbus
    url: "tcp://${PLC_HOST}:${PLC_PORT}"
  - id: ua
    kind: opcua
    url: ${UA_URL}
    auth: {type: username, username: gw, password: "${PLC_HOST}"}
assets:
  - id: boiler1
    source: plc1
    points:
      - {id: t1, unit: DEG_C, datatype: float, address: {table: holding, address: 0, encoding: float32}}
  - id: m
    source: ua
    points:
      - {id: p, unit: DEG_C, datatype: float, address: {node: "ns=2;s=x"}}
"""


def test_an_unset_variable_is_one_message_without_follow_ons(tmp_path: Path) -> None:
    path = write(tmp_path, "plant.yaml", ENV)
    errs = errors_of(path)
    assert errs == [
        f"{path}:3:11: gateway.http.port: environment variable HTTP_PORT is not set",
        f"{path}:5:44: gateway.http.tokens[0].token: environment variable API_TOKEN is not set",
        f"{path}:9:10: sources[0].url: environment variable PLC_HOST is not set (also used at {path}:13:52)",
        f"{path}:9:10: sources[0].url: environment variable PLC_PORT is not set",
        f"{path}:12:10: sources[1].url: environment variable UA_URL is not set",
    ]


def test_errors_beside_an_unset_variable_are_still_reported(tmp_path: Path) -> None:
    # a key that does not exist is an error whatever its value, set or not
    text = ENV.replace("    url: ${UA_URL}\n", "    url: ${UA_URL}\n    user: ${UA_USER}\n").replace(
        "address: {node:", "address: {nod:"
    )
    errs = errors_of(write(tmp_path, "plant.yaml", text))
    assert any("sources[1].user: unknown key 'user'" in e for e in errs), errs
    assert not any("address" in e for e in errs), errs  # the broken source's points are not checked
    assert sum("is not set" in e for e in errs) == 6


def test_allow_missing_env_checks_everything_else_and_notes_the_variables(tmp_path: Path) -> None:
    path = write(tmp_path, "plant.yaml", ENV)
    notes: list[ConfigError] = []
    model = load_mappings([path], env={}, notes=notes)
    assert set(model.points) == {"boiler1.t1", "m.p"}
    names = ("HTTP_PORT", "API_TOKEN", "PLC_HOST", "PLC_PORT", "UA_URL")
    assert [n.message.split(";")[0] for n in notes] == [f"note: environment variable {v} is not set" for v in names]
    # a real mistake is still an error
    with pytest.raises(ConfigErrors) as exc:
        load_mappings([write(tmp_path, "bad.yaml", ENV.replace("DEG_C", "DEGC", 1))], env={}, notes=[])
    assert [e.path for e in exc.value.errors] == ["assets[0].points[0].unit"]


def test_validate_allow_missing_env_through_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "plant.yaml", ENV)
    assert main(["validate", "--no-shacl", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("is not set") == 5 and "5 error(s)" in err
    assert main(["validate", "--allow-missing-env", str(path)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("ok: 2 sources, 2 assets, 2 points")
    assert out.err.count("note: environment variable") == 5 and "error" not in out.err


FIT = """\
sources: [{id: sim1, kind: sim}]
assets:
  - id: boiler1
    source: sim1
    points:
      - {id: supply, class: brick:Supply_Water_Temperature_Sensor, unit: PERCENT, datatype: float}
      - {id: pressure, class: brick:Pressure_Sensor, unit: DEG_C, datatype: float}
      - {id: ok_temp, class: brick:Supply_Water_Temperature_Sensor, unit: K, datatype: float}
      - {id: ok_pressure, class: brick:Pressure_Sensor, unit: KiloPA, datatype: float}
      - {id: ok_speed, class: brick:Motor_Speed_Sensor, unit: REV-PER-MIN, datatype: float}
      - {id: ok_damper, class: brick:Damper_Position_Sensor, unit: PERCENT, datatype: float}
      - {id: ok_rh, class: brick:Relative_Humidity_Sensor, unit: PERCENT_RH, datatype: float}
      - {id: ok_plain, class: brick:Sensor, unit: PERCENT, datatype: float}
      - {id: ok_setpoint, type: setpoint, class: brick:Leaving_Hot_Water_Temperature_Setpoint, unit: DEG_F,
         datatype: float}
"""


def test_a_unit_that_does_not_fit_the_brick_class_quantity_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "plant.yaml", FIT)
    errs = errors_of(path)
    assert errs == [
        f"{path}:6:68: assets[0].points[0].unit: unit PERCENT (Percent) does not fit "
        "brick:Supply_Water_Temperature_Sensor, which measures quantitykind:Temperature: use a unit of that "
        "quantity such as DEG_C, K, DEG_F",
        f"{path}:7:54: assets[0].points[1].unit: unit DEG_C (Degree Celsius) does not fit brick:Pressure_Sensor, "
        "which measures quantitykind:Pressure: use a unit of that quantity such as PA, KiloPA, BAR",
    ]


def test_every_class_of_a_point_is_checked_and_the_command_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "p.yaml",
        """\
        sources: [{id: sim1, kind: sim}]
        assets:
          - id: ahu
            source: sim1
            points:
              - {id: t, class: [brick:Sensor, brick:Air_Temperature_Sensor], unit: PA, datatype: float}
        """,
    )
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:6:70: assets[0].points[0].unit: unit PA (Pascal) does not fit brick:Air_Temperature_Sensor" in err
