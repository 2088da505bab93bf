"""Load-time checks of a broker's sparkplug: settings against the model."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.northbound.mqtt.config import SparkplugSettings
from gateway.northbound.mqtt.sparkplug_checks import check
from tests.conftest import make_model, make_point


def _settings(**kw: Any) -> SparkplugSettings:
    return SparkplugSettings.model_validate({"group": "plant", "node": "gw1", **kw})


def test_a_clean_model_has_no_issue() -> None:
    model = make_model([make_point("boiler.temp"), make_point("pump.speed")])
    assert check(0, _settings(commands=True), model) == []


def test_devices_and_metrics_that_differ_only_in_case_collide() -> None:
    model = make_model(
        [make_point("Pump1.speed"), make_point("pump1.speed"), make_point("tank.Level"), make_point("tank.level")]
    )
    issues = check(2, _settings(), model)
    assert [i.path for i in issues] == [("brokers", 2, "sparkplug")] * 2
    assert "'Pump1', 'pump1' would be the same Sparkplug device 'pump1'" in issues[0].message
    assert "'tank.Level', 'tank.level'" in issues[1].message and "differ only in case" in issues[1].message
    # selecting one of each pair settles it; the issues then point at select:
    assert check(2, _settings(select={"points": ["Pump1.speed", "tank.level"]}), model) == []
    picked_both = check(2, _settings(select={"points": ["Pump1.speed", "pump1.speed"]}), model)
    assert [i.path for i in picked_both] == [("brokers", 2, "sparkplug", "select")]


def test_selection_errors_and_a_role_that_may_not_write() -> None:
    model = make_model([make_point("boiler.temp")])
    issues = check(0, _settings(select={"points": ["boiler.tmp"]}, commands=True, command_role="reader"), model)
    by_path = {i.path: i.message for i in issues}
    assert "unknown point 'boiler.tmp'" in by_path[("brokers", 0, "sparkplug", "select", "points", 0)]
    assert "may not write" in by_path[("brokers", 0, "sparkplug", "command_role")]
    assert check(0, _settings(command_role="reader"), model) == []  # no commands: the role does not matter


MAPPING = """\
sources:
  - {id: plc, kind: sim}
assets:
  - id: Pump1
    source: plc
    points:
      - {id: speed, unit: REV-PER-MIN, address: {signal: sine}}
  - id: pump1
    source: plc
    points:
      - {id: speed, unit: REV-PER-MIN, address: {signal: sine}}
gateway:
  mqtt:
    brokers:
      - name: scada
        url: mqtt://127.0.0.1:1883
        sparkplug: {group: plant, node: gw1, commands: true, command_role: reader}
"""


def test_the_loader_reports_them_at_file_and_line() -> None:
    with pytest.raises(ConfigErrors) as exc:
        load_mappings(["plant.yaml"], texts={"plant.yaml": MAPPING})
    lines = [str(e) for e in exc.value.errors]
    assert any(e.startswith("plant.yaml:17:") and "may not write" in e for e in lines), lines
    assert any(e.startswith("plant.yaml:") and "same Sparkplug device 'pump1'" in e for e in lines), lines
