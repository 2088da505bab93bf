"""The demo's MQTT room sensors speak exactly what mappings/profiles/mqtt-env-sensor.yaml reads: every JSON path
of the profile decodes with the MQTT adapter's own payload functions, within the profile's ranges; a setpoint
command in the profile's command format reaches the sensor, a malformed one is ignored. Pure logic: the
paho client is built but never connected."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml

from adapters.contract.model import DataType
from adapters.mqtt.payload import MISSING, get_path, parse_path, parse_quality, parse_timestamp, to_value
from gateway.demo_plant.sensors import ROOMS, RoomSensors

PROFILE = yaml.safe_load(
    (Path(__file__).resolve().parents[4] / "mappings" / "profiles" / "mqtt-env-sensor.yaml").read_text()
)


@pytest.fixture
def sensors() -> RoomSensors:
    return RoomSensors(port=1)


def _readings(sensors: RoomSensors) -> list[dict[str, Any]]:
    # the payloads as they go over the wire, over ten minutes of simulated time
    return [
        json.loads(json.dumps(sensors.reading(i, sensor, t)))
        for t in range(0, 600, 7)
        for i, (_, sensor) in enumerate(ROOMS)
    ]


@pytest.mark.parametrize("point", PROFILE["points"], ids=lambda p: p["id"])
def test_every_profile_point_decodes_from_the_demo_payload(sensors: RoomSensors, point: dict[str, Any]) -> None:
    path = parse_path(point["address"]["json_path"])
    datatype = DataType(point["datatype"])
    for payload in _readings(sensors):
        raw = get_path(payload, path)
        assert raw is not MISSING, f"{point['id']}: {point['address']['json_path']} missing in {payload}"
        value, problem = to_value(raw, datatype)
        assert problem is None, problem
        assert isinstance(value, int | float) and not isinstance(value, bool)
        if "min" in point:
            assert point["min"] <= value <= point["max"]


def test_timestamp_and_quality_fields_are_read_as_good_and_current(sensors: RoomSensors) -> None:
    address = PROFILE["address"]
    payload = sensors.reading(0, ROOMS[0][1], 0.0)
    ts = parse_timestamp(get_path(payload, parse_path(address["timestamp_path"])))
    assert ts is not None and abs(ts.timestamp() - time.time()) < 5
    assert parse_quality(get_path(payload, parse_path(address["quality_path"]))) == "Good"


def _command(topic: str, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=topic.encode())
    msg.payload = payload
    return msg


def test_a_setpoint_command_in_the_profile_format_moves_the_room_temperature(sensors: RoomSensors) -> None:
    area, sensor = ROOMS[0]
    setpoint = next(p for p in PROFILE["points"] if p["id"] == "setpoint")
    topic = setpoint["address"]["command_topic"].replace("{topic}", f"plant/{area}/{sensor}/telemetry")
    body = setpoint["address"]["command_payload"].replace("{value}", "26.5")
    sensors._on_message(sensors.client, None, _command(topic, body.encode()))
    assert sensors.setpoints[sensor] == 26.5
    temps = [sensors.reading(0, sensor, t)["temp"] for t in range(0, 600, 10)]
    assert all(abs(t - 26.5) < 1.5 for t in temps)
    assert sensors.reading(0, sensor, 0.0)["sp"] == 26.5


@pytest.mark.parametrize("body", [b"not json", b'{"value": 3}', b'{"sp": "warm"}', b"[1, 2]"])
def test_a_malformed_command_is_ignored(sensors: RoomSensors, body: bytes) -> None:
    area, sensor = ROOMS[0]
    sensors._on_message(sensors.client, None, _command(f"plant/{area}/{sensor}/telemetry/set", body))
    assert sensors.setpoints[sensor] == 21.0
