"""A rule naming a missing profile fails at validate time, with the source's position."""

from __future__ import annotations

import pytest

from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings

MAPPING = """\
sources:
  - id: b
    kind: mqtt
    url: "mqtt://127.0.0.1:1883"
    rules:
      - {id: r1, topic: "plant/{area}/{sensor}/telemetry", profile: PROFILE, asset: "{sensor}", payload: json}
"""


def test_missing_rule_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigErrors) as exc:
        load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("PROFILE", "nosuch")})
    msgs = [str(e) for e in exc.value.errors]
    assert msgs == [m for m in msgs if m.startswith("m.yaml:2:")]
    assert any("rule r1: missing profile 'nosuch'" in m and "mqtt-env-sensor" in m for m in msgs)


def test_existing_rule_profile_loads() -> None:
    model = load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("PROFILE", "mqtt-env-sensor")})
    assert "b" in model.sources
