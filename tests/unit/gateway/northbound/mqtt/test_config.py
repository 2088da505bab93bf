"""The `gateway: mqtt:` section's own rules (no model needed), as `twinbridge validate` reports them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.northbound.mqtt.config import MqttBroker, MqttNorthConfig

SP = {"group": "plant", "node": "gw1"}


def _broker(**kw: object) -> dict[str, object]:
    return {"name": "plant", "url": "mqtt://127.0.0.1:1883", **kw}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_broker(), "a broker publishes uns:, sparkplug: or both"),
        (_broker(sparkplug=SP, clean_session=False), "a Sparkplug edge node connects with a clean session"),
        (_broker(uns={}, password="x"), "password needs username"),
        (_broker(uns={}, url="tcp://h"), "the URL must start with mqtt:// or mqtts://"),
        (_broker(sparkplug={"group": "a/b", "node": "n"}), "group must be a non-empty Sparkplug id"),
    ],
)
def test_a_broker_entry_is_refused_with_the_reason(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MqttBroker.model_validate(raw)


def test_the_section_needs_brokers_with_distinct_names() -> None:
    with pytest.raises(ValidationError, match="give at least one broker"):
        MqttNorthConfig.model_validate({})
    with pytest.raises(ValidationError, match="duplicate broker name"):
        MqttNorthConfig.model_validate({"brokers": [_broker(uns={}), _broker(sparkplug=SP)]})
    assert MqttNorthConfig.model_validate({"enabled": False}).brokers == []


def test_client_ids_are_stable_only_for_a_persistent_session() -> None:
    clean = MqttBroker.model_validate(_broker(uns={}))
    assert (
        clean.make_client_id().startswith("twinbridge-north-plant-")
        and clean.make_client_id() != "twinbridge-north-plant"
    )
    kept = MqttBroker.model_validate(_broker(uns={}, clean_session=False))
    assert kept.make_client_id() == "twinbridge-north-plant"
    assert MqttBroker.model_validate(_broker(uns={}, client_id="gw-a")).make_client_id() == "gw-a"
