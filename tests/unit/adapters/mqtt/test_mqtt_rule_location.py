"""A topic rule's ``location: "{area}"`` places each discovered asset in a location of the mapping; a topic naming
no location is refused with the loader's message, counted and logged once; the start-up probe checks a fixed
location and leaves a template bound to topic levels to the messages (its probe values name no location)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from adapters.contract.adapter import AdapterContext, AdapterUnavailable
from adapters.contract.model import Asset, Point
from adapters.mqtt.adapter import MqttAdapter
from adapters.mqtt.config import MqttSourceConfig
from gateway.config.fragments import FragmentDiscovery
from gateway.config.loader import load_mappings
from gateway.config.profiles import ProfileView
from gateway.model import TwinModel

MAPPING = """\
sources:
  - id: mq
    kind: mqtt
    url: "mqtt://127.0.0.1:1"
    rules:
      - {id: env, topic: "plant/{area}/{sensor}/telemetry", profile: mqtt-env-sensor, location: LOCATION}
locations:
  - {id: plant, type: site}
  - {id: hall1, type: room, parent: plant}
"""
READING = b'{"temp": 21.5, "hum": 40, "co2": 500, "sp": 20, "ts": 1718000000, "status": "ok"}'


def gateway(location: str, model: TwinModel | None = None) -> tuple[MqttAdapter, TwinModel]:
    """The adapter as the gateway runs it: the loaded model's locations, discovery through the core's builder."""
    if model is None:
        model = load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("LOCATION", location)})

    def add(assets: Any, points: Any) -> list[Point]:
        model.assets.update((a.id, a) for a in assets)
        model.points.update((p.id, p) for p in points)
        return list(points)

    ctx = AdapterContext(logging.getLogger("t"), ProfileView(model.profiles), FragmentDiscovery(model, "mq", add))
    config = model.sources["mq"]
    assert isinstance(config, MqttSourceConfig)
    adapter = MqttAdapter(config, [], ctx)
    adapter._build_factories()  # with the start-up probe
    return adapter, model


def test_a_discovered_asset_is_placed_in_the_location_its_topic_names() -> None:
    adapter, model = gateway('"{area}"')
    samples = adapter.router.handle("plant/hall1/s1/telemetry", READING)
    assert samples
    asset: Asset = model.assets["hall1-s1"]
    assert asset.location == "hall1"
    assert model.location_of("hall1-s1.temperature") == "hall1"  # its points are where it is


def test_a_topic_naming_no_location_is_refused_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    adapter, model = gateway('"{area}"')
    for _ in range(3):
        assert adapter.router.handle("plant/hall2/s1/telemetry", READING) == []
    assert "hall2-s1" not in model.assets and adapter.points == {}
    assert adapter.counters["discovery_errors.env"] == 1 and adapter.counters["ignored.env"] == 2
    [log] = [r.getMessage() for r in caplog.records if "cannot map" in r.getMessage()]
    assert "rule env cannot map topic plant/hall2/s1/telemetry: " in log
    assert "assets[0].location: unknown location 'hall2' (nearest known: 'hall1')" in log


def test_a_fixed_location_is_checked_at_start_up() -> None:
    with pytest.raises(AdapterUnavailable) as exc:
        gateway("hal1")
    assert "rule 'env': " in exc.value.reason
    assert "assets[0].location: unknown location 'hal1' (nearest known: 'hall1')" in exc.value.reason
    adapter, model = gateway("hall1")
    adapter.router.handle("plant/a/s9/telemetry", READING)
    assert model.assets["a-s9"].location == "hall1"


def test_a_location_template_binds_only_what_the_rule_binds() -> None:
    with pytest.raises(ValueError, match=r"location '\{room\}' uses \{room\} which the rule does not bind"):
        MqttSourceConfig.model_validate(
            {
                "id": "mq",
                "url": "mqtt://127.0.0.1:1",
                "rules": [{"id": "r", "topic": "d/{dev}", "profile": "p", "location": "{room}"}],
            }
        )


def test_a_profile_location_template_places_rule_made_assets(tmp_path: Path) -> None:
    """A profile's ``location: "{area}"`` fills from the topic like the rule's own would; the start-up probe
    (made-up values) does not look it up."""
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "room-sensor.yaml").write_text(
        'profile: room-sensor\nlocation: "{area}"\naddress: {payload: json}\n'
        "points:\n  - {id: temperature, unit: DEG_C, datatype: float, address: {json_path: '$.temp'}}\n"
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("mqtt-env-sensor, location: LOCATION", "room-sensor"))
    model = load_mappings([mapping])
    adapter, model = gateway("", model)
    adapter.router.handle("plant/hall1/s3/telemetry", READING)
    assert model.assets["hall1-s3"].location == "hall1"
    assert adapter.router.handle("plant/hall7/s3/telemetry", READING) == []
    assert adapter.counters["discovery_errors.env"] == 1
