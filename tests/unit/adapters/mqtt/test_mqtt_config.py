"""MQTT source/address/rule models and their errors through the mapping loader (file:line:col)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.contract.rdf import IRI
from adapters.mqtt.adapter import MqttAdapter
from adapters.mqtt.config import MQV, TB, MqttAddress, MqttSourceConfig
from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings

HEAD = """\
twin: {name: t, base_iri: "http://t.local/"}
sources:
  - id: mq
    kind: mqtt
    url: "mqtt://127.0.0.1:1883"
"""
ASSET = """\
assets:
  - id: m
    source: mq
    points:
"""


def load(text: str, env: dict[str, str] | None = None) -> Any:
    return load_mappings(["m.yaml"], texts={"m.yaml": text}, env=env or {})


def errors(text: str) -> str:
    with pytest.raises(ConfigErrors) as exc:
        load(text)
    return str(exc.value)


def test_valid_mapping_with_rules_and_points() -> None:
    text = (
        HEAD
        + """\
    protocol: "5"
    clean_session: false
    keepalive: 15s
    rules:
      - {id: env, topic: "plant/{area}/{sensor}/telemetry", profile: mqtt-env-sensor, parent: "{area}", qos: 2}
      - {id: sp, payload: sparkplug, group: Plant1}
"""
        + ASSET
        + """\
      - {id: p, unit: KiloW, address: {topic: meters/1, json_path: "$.p", timestamp_path: "$.t"}}
      - {id: s, type: setpoint, unit: DEG_C, writable: true,
         address: {topic: sp/1, command_topic: "sp/1/set", command_payload: '{"v": {value}}'}}
      - {id: spm, unit: DEG_C, writable: true, address: {group: G, node: N, device: D, metric: "Inputs/T"}}
"""
    )
    model = load(text)
    cfg = model.sources["mq"]
    assert isinstance(cfg, MqttSourceConfig)
    assert cfg.protocol == "5" and cfg.keepalive == 15 and cfg.port == 1883
    assert cfg.make_client_id() == "twinbridge-mq"  # persistent session: stable
    assert [r.id for r in cfg.rules] == ["env", "sp"]
    assert cfg.rules[1].filter == "spBv1.0/Plant1/+/+/#"
    p = model.points["m.p"].address
    assert p.payload == "json" and p.path_keys == ("p",)
    assert model.points["m.spm"].address.payload == "sparkplug"
    assert model.points["m.s"].writable


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('    url: "http://x"\n', "must start with mqtt:// or mqtts://"),
        ('    url: "mqtt://u:p@host"\n', "do not put credentials in the URL"),
        ('    url: "mqtt://host/topic"\n', "takes no path"),
        ("    tls: {ca_file: ca.pem}\n", "tls: settings need an mqtts:// URL"),
        ("    password: x\n", "password needs username"),
        ("    qos: 3\n", "qos"),
        ("    rules: [{id: r, topic: 'a/{x}/{x}', profile: p}]\n", "is used twice"),
        ("    rules: [{id: r, topic: 'a/{x}', profile: p, asset: '{y}'}]\n", "uses {y} which the rule does not bind"),
        ("    rules: [{id: r, topic: 'a/b', profile: p}]\n", "needs asset:"),
        ("    rules: [{id: r, topic: 'a/{x}/{m}', profile: p, point: '{zz}'}]\n", "point must be one bound level"),
        ("    rules: [{id: r, payload: sparkplug, group: 'a/b'}]\n", "group must be one Sparkplug id"),
        ("    rules: [{id: r, payload: sparkplug, node_asset: '{device}'}]\n", "node_asset cannot use {device}"),
        ("    rules: [{id: r, payload: sparkplug}, {id: r, payload: sparkplug}]\n", "duplicate rule id(s): r"),
        ("    rules: [{id: r, topic: 'spBv1.0/{g}/x', profile: p}]\n", "Sparkplug topics need payload: sparkplug"),
        ("    colour: red\n", "colour"),
    ],
)
def test_source_errors(snippet: str, message: str) -> None:
    text = HEAD.replace(
        '    url: "mqtt://127.0.0.1:1883"\n',
        snippet if "url:" in snippet else '    url: "mqtt://127.0.0.1:1883"\n' + snippet,
    )
    err = errors(text)
    assert message in err and "m.yaml:" in err


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("{json_path: '$.a'}", "a json address needs topic"),
        ("{topic: 'a/+', json_path: '$.a'}", "contains a wildcard"),
        ("{topic: a, json_path: 'a.b'}", "starts with $"),
        ("{topic: a, payload: plain, json_path: '$.a'}", "json_path needs payload: json"),
        ("{topic: a, quality_map: {'1': Fine}}", "not an OPC UA status name"),
        ("{group: G, node: N}", "needs group, node and metric"),
        ("{group: G, node: N, metric: m, topic: x}", "takes no topic"),
        ("{topic: a, metric: m}", "needs group, node and metric"),
        ("{topic: spBv1.0/g/NDATA/n}", "use payload: sparkplug"),
        ("{topic: a, command_topic: 'a/#'}", "cannot contain wildcards"),
    ],
)
def test_address_errors(address: str, message: str) -> None:
    err = errors(HEAD + ASSET + f"      - {{id: p, unit: DEG_C, address: {address}}}\n")
    assert message in err and "m.yaml:" in err


def test_cross_point_checks() -> None:
    text = (
        HEAD
        + ASSET
        + """\
      - {id: a, unit: DEG_C, address: {topic: t, json_path: "$.a"}}
      - {id: b, unit: DEG_C, address: {topic: t}}
      - {id: c, unit: DEG_C, writable: true, address: {topic: u}}
"""
    )
    err = errors(text)
    assert "topic t is read as plain here but as json by m.a" in err
    assert "writable but its mqtt address is read-only" in err


def test_secrets_from_env_are_secret() -> None:
    text = HEAD + "    username: gw\n    password: ${PW}\n    tls: null\n"
    model = load(text.replace("mqtt://", "mqtts://"), env={"PW": "hunter2"})
    cfg = model.sources["mq"]
    assert cfg.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg.model_dump()) and cfg.port == 1883
    assert cfg.endpoint() == "mqtts://127.0.0.1:1883"
    assert MqttSourceConfig(id="x", url="mqtts://h").port == 8883


def test_address_rdf_and_target() -> None:
    src = MqttSourceConfig(id="mq", url="mqtt://broker:1884")
    a = MqttAddress(topic="a/b", json_path="$.v", qos=1, command_topic="a/b/set")
    rdf = dict(a.rdf())
    assert rdf[MQV + "hasTopicName"] == "a/b" and rdf[TB + "jsonPath"] == "$.v"
    assert rdf[MQV + "hasQoSFlag"] == IRI("https://www.w3.org/2019/wot/mqtt/qualitfyOfService#1")
    assert rdf[TB + "payloadFormat"] == "json" and rdf[TB + "commandTopic"] == "a/b/set"
    assert rdf[MQV + "sendsControlPacket"] == IRI(MQV + "SUBSCRIBE") and rdf[MQV + "hasRetainFlag"] is False
    assert a.target(src) == "mqtt://broker:1884/a/b" and a.writable()
    sp = MqttAddress(group="G", node="N", device="D", metric="Inputs/T")
    assert sp.target(src) == "mqtt://broker:1884/spBv1.0/G/DDATA/N/D#Inputs/T"
    assert dict(sp.rdf())[TB + "sparkplugMetric"] == "Inputs/T" and sp.writable()
    assert not MqttAddress(topic="x").writable()
    with pytest.raises(ValidationError):
        MqttAddress(topic="x", group="G")


def test_adapter_registered() -> None:
    from adapters.registry import get_adapter

    assert get_adapter("mqtt") is MqttAdapter


def test_mqtt_profile_instantiated_by_a_mapping_asset() -> None:
    """The documented work-around for write-time placeholders in profiles expanded by the loader."""
    text = (
        HEAD
        + """\
assets:
  - {id: s1, source: mq, profile: mqtt-env-sensor, address: {topic: "plant/a/s1/telemetry"},
     vars: {topic: "plant/a/s1/telemetry", value: "{value}"}}
"""
    )
    sp = load(text).points["s1.setpoint"].address
    assert sp.topic == "plant/a/s1/telemetry" and sp.json_path == "$.sp"
    assert sp.command_topic == "plant/a/s1/telemetry/set" and sp.command_payload == '{"sp": {value}}'


def test_default_client_id_is_unique_per_instance_unless_set_or_persistent() -> None:
    cfg = MqttSourceConfig(id="mq", url="mqtt://broker")
    ids = {cfg.make_client_id() for _ in range(20)}
    assert len(ids) == 20 and all(re.fullmatch(r"twinbridge-mq-[0-9a-f]{6}", i) for i in ids)
    assert MqttSourceConfig(id="mq", url="mqtt://b", client_id="line-7").make_client_id() == "line-7"
    # a persistent session is found again by its id: the default must survive a restart
    assert MqttSourceConfig(id="mq", url="mqtt://b", clean_session=False).make_client_id() == "twinbridge-mq"
