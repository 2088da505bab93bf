"""The MQTT router without a broker: discovery from profiles, caps, conflicts, subscriptions, bad profiles."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from adapters.contract.adapter import AdapterContext, AdapterUnavailable
from adapters.contract.model import AssetLevel, DataType, Point, PointKind
from adapters.contract.sample import Quality
from adapters.mqtt.adapter import MqttAdapter
from adapters.mqtt.config import MqttAddress, MqttSourceConfig
from adapters.mqtt.discovery import SparkplugRuleFactory
from gateway.config.fragments import FragmentDiscovery
from gateway.config.profiles import ProfileLibrary, ProfileView, builtin_profile_dir

ENV = {"temp": 21.5, "hum": 40, "co2": 500, "sp": 20, "ts": 1718000000, "status": "ok"}


def library(tmp_path: Path, **profiles: str) -> ProfileLibrary:
    d = tmp_path / "profiles"
    d.mkdir(exist_ok=True)
    for name, text in profiles.items():
        (d / f"{name}.yaml").write_text(text)
    lib = ProfileLibrary()
    lib.add_dir(d)
    lib.add_dir(builtin_profile_dir())
    return lib


def context(lib: ProfileLibrary, config: MqttSourceConfig, seen: list[Any] | None = None) -> AdapterContext:
    """What the gateway gives the adapter: the profile view and the loader's builder for discovered fragments."""
    on_add = None if seen is None else (lambda assets, pts: seen.append((assets, pts)))
    found = FragmentDiscovery.standalone(config, lib, on_add)
    return AdapterContext(logging.getLogger("t"), profiles=ProfileView(lib), discover=found)


def adapter(
    lib: ProfileLibrary, points: list[Point] | None = None, *, discover: bool = True, **cfg: Any
) -> MqttAdapter:
    config = MqttSourceConfig.model_validate({"id": "mq", "url": "mqtt://127.0.0.1:1", **cfg})
    seen: list[Any] = []
    ctx = context(lib, config, seen)
    if not discover:
        ctx.discover = None
    a = MqttAdapter(config, points or [], ctx)
    a._build_factories()
    a.seen = seen  # type: ignore[attr-defined]
    return a


RULE = {"id": "env", "topic": "plant/{area}/{sensor}/telemetry", "profile": "mqtt-env-sensor"}


def test_cap_on_discovered_assets(tmp_path: Path) -> None:
    a = adapter(library(tmp_path), rules=[RULE], max_discovered_assets=2)
    for i in range(4):
        a.router.handle(f"plant/a/s{i}/telemetry", json.dumps(ENV).encode())
    assert sorted({p.asset for p in a.points.values()}) == ["a-s0", "a-s1"]
    assert a.counters["discovery_refused.env"] == 2
    a.router.handle("plant/a/s3/telemetry", json.dumps(ENV).encode())  # remembered: no second attempt
    assert a.counters["discovery_refused.env"] == 2 and a.counters["ignored.env"] == 3


def test_conflicting_ids_are_ignored_and_counted(tmp_path: Path) -> None:
    a = adapter(library(tmp_path), rules=[RULE])
    assert a.router.handle("plant/a/s.1/telemetry", json.dumps(ENV).encode())
    # "s_1" sanitizes to the same asset id; the core refuses known ids
    assert a.router.handle("plant/a/s_1/telemetry", json.dumps(ENV).encode()) == []
    assert a.counters["conflicts.env"] == 1


def test_core_builds_the_fragment_and_the_adapter_serves_it(tmp_path: Path) -> None:
    a = adapter(library(tmp_path), rules=[RULE])
    out = a.router.handle("plant/x/y/telemetry", json.dumps(ENV).encode())
    assert {s.point for s in out} == {"x-y.temperature", "x-y.humidity", "x-y.co2", "x-y.setpoint"}
    assert all(s.quality is Quality.GOOD for s in out) and "x-y.co2" in a.points
    [(assets, points)] = a.seen  # type: ignore[attr-defined]
    assert [x.id for x in assets] == ["x-y"] and points[0].unit == "DEG_C"
    assert str(points[0].origin).startswith(str(builtin_profile_dir() / "mqtt-env-sensor.yaml"))


def test_without_the_core_a_rule_maps_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    a = adapter(library(tmp_path), rules=[RULE], discover=False)
    for _ in range(2):
        assert a.router.handle("plant/x/y/telemetry", json.dumps(ENV).encode()) == []
    assert a.points == {} and a.counters["discovery_errors.env"] == 1 and a.counters["ignored.env"] == 1
    assert len([r for r in caplog.records if "cannot map topic" in r.message]) == 1


async def test_profile_errors_stop_start_for_good(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        bad="profile: bad\npoints:\n  - {id: t, unit: NOT_A_UNIT, address: {json_path: '$.t'}}\n",
        holes="profile: holes\npoints:\n  - {id: t, unit: DEG_C, label: '{nope}'}\n",
    )
    for prof, msg in (
        ("missing", "missing or invalid profile 'missing'"),
        ("bad", "bad.yaml:3:13: points[0].unit: unknown unit 'NOT_A_UNIT'"),  # the loader's message, at its line
        ("holes", "holes.yaml:3:5: points[0]: placeholder {nope} has no value"),
    ):
        cfg = MqttSourceConfig.model_validate(
            {"id": "mq", "url": "mqtt://127.0.0.1:1", "rules": [{"id": "r", "topic": "a/{x}", "profile": prof}]}
        )
        a = MqttAdapter(cfg, [], context(lib, cfg))
        with pytest.raises(AdapterUnavailable) as exc:
            await a.start()
        assert not exc.value.retryable and exc.value.status == "BadConfigurationError"
        assert msg in exc.value.reason, exc.value.reason


def test_rule_vars_label_type_and_point_binding(tmp_path: Path) -> None:
    lib = library(
        tmp_path,
        dev="""\
profile: dev
type: brick:Fan
points:
  - {id: speed, unit: PERCENT, label: "{site} {sensor} speed", address: {json_path: "$.v"}}
  - {id: fault, type: status, datatype: bool, address: {json_path: "$.v"}}
""",
    )
    rule = {
        "id": "r",
        "topic": "f/{sensor}/{m}",
        "profile": "dev",
        "point": "{m}",
        "vars": {"site": "S1"},
        "label": "Fan {sensor}",
        "parent": "site-{site}",
        "parent_type": "site",
    }
    a = adapter(lib, rules=[rule])
    assert [s.value for s in a.router.handle("f/7/speed", b'{"v": 40}')] == [40.0]
    [(assets, points)] = a.seen  # type: ignore[attr-defined]
    assert [(x.id, x.level, x.label) for x in assets] == [
        ("site-S1", AssetLevel.SITE, "site-S1"),
        ("7", AssetLevel.EQUIPMENT, "Fan 7"),
    ]
    assert assets[1].classes == ("https://brickschema.org/schema/Brick#Fan",) and assets[1].parent == "site-S1"
    assert [(p.id, p.label) for p in points] == [("7.speed", "S1 7 speed")]
    assert a.router.handle("f/7/nothing", b"1") == [] and a.counters["ignored.r"] == 1


def test_sparkplug_births_without_profile_excludes_and_types(tmp_path: Path) -> None:
    cfg = MqttSourceConfig.model_validate(
        {
            "id": "mq",
            "url": "mqtt://h",
            "rules": [
                {"id": "sp", "payload": "sparkplug", "exclude": ["Node Control/*", "secret*"], "node_metrics": False}
            ],
        }
    )
    f = SparkplugRuleFactory(cfg.rules[0], "mq", None)  # type: ignore[arg-type]
    assert f.matches("any", "node")
    fragment = f.fragment(
        "G", "N", "D", {"Node Control/Rebirth": 11, "secretX": 10, "Temp": 9, "On": 11, "Blob": 17, "Name": 12}
    )
    assert fragment is not None
    found = context(library(tmp_path), cfg).discover(fragment)  # type: ignore[misc]
    assert [(p.id, p.datatype, p.kind, p.unit) for p in found.points] == [
        ("N-D.Temp", DataType.FLOAT, PointKind.MEASUREMENT, "UNITLESS"),  # a birth has no unit
        ("N-D.On", DataType.BOOL, PointKind.STATUS, None),
        ("N-D.Name", DataType.STRING, PointKind.STATUS, None),
    ]
    assert f.fragment("G", "N", None, {"Temp": 9}) is None


def test_subscriptions_skip_topics_a_rule_covers() -> None:
    def pt(pid: str, **addr: Any) -> Point:
        return Point(pid, "a", PointKind.MEASUREMENT, DataType.DOUBLE, "mq", MqttAddress(**addr), pid)

    pts = [
        pt("a.x", topic="plant/a/b/telemetry"),
        pt("a.y", topic="other/t", qos=2),
        pt("a.z", topic="plant/a/b/telemetry2", qos=0),
    ]
    cfg = MqttSourceConfig.model_validate({"id": "mq", "url": "mqtt://h", "qos": 1, "rules": [RULE]})
    a = MqttAdapter(cfg, pts, AdapterContext(logging.getLogger("t")))
    assert a.router.subscriptions(pts) == {"plant/+/+/telemetry": 1, "other/t": 2, "plant/a/b/telemetry2": 0}
    # the explicit point on a rule's topic is read as an explicit point, counted under the rule
    assert a.router.exact["plant/a/b/telemetry"].counter == "env"


def test_rule_type_is_checked_like_a_mapping(tmp_path: Path) -> None:
    a = adapter(library(tmp_path), rules=[{**RULE, "type": "brick:Fan"}])
    assert a.router.handle("plant/x/y/telemetry", json.dumps(ENV).encode())
    with pytest.raises(AdapterUnavailable, match="Brick point class; use it as a point's class:, not an asset type"):
        adapter(library(tmp_path), rules=[{**RULE, "type": "brick:Air_Temperature_Sensor"}])
