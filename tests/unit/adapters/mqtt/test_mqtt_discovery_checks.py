"""A point an MQTT rule discovers passes the loader's own point builder: refused for what a mapping would be,
with the same message at the profile's line. The old builder in adapters/mqtt/discovery.py accepted all four
of these points (it checked neither unit presence, class family, integer range nor percent deadbands)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from adapters.contract.adapter import AdapterContext, AdapterUnavailable
from adapters.mqtt.adapter import MqttAdapter
from adapters.mqtt.config import MqttSourceConfig
from gateway.config.fragments import FragmentDiscovery
from gateway.config.profiles import ProfileLibrary, ProfileView

CASES = {
    "no-unit": ("{id: t, address: {json_path: '$.v'}}", "points[0]: a numeric measurement needs a unit"),
    "int-range": (
        "{id: c, datatype: int16, unit: UNITLESS, max: 40000, address: {json_path: '$.v'}}",
        "points[0].max: max 40000 is outside what a int16 can hold (-32768..32767)",
    ),
    "percent-deadband": (
        "{id: t, unit: DEG_C, transform: {deadband: {percent: 5}}, address: {json_path: '$.v'}}",
        "points[0].transform.deadband.percent: a percent deadband needs the point's min and max",
    ),
    "class-family": (
        "{id: t, unit: DEG_C, class: 'brick:Pump', address: {json_path: '$.v'}}",
        "points[0].class: brick:Pump is a Brick equipment class; a point's class must be a Brick point class",
    ),
}


def _setup(tmp_path: Path, point: str) -> tuple[MqttSourceConfig, ProfileLibrary]:
    (tmp_path / "dev.yaml").write_text(f"profile: dev\npoints:\n  - {point}\n")
    lib = ProfileLibrary()
    lib.add_dir(tmp_path)
    cfg = MqttSourceConfig.model_validate(
        {"id": "mq", "url": "mqtt://127.0.0.1:1", "rules": [{"id": "r", "topic": "d/{dev}", "profile": "dev"}]}
    )
    return cfg, lib


@pytest.mark.parametrize("case", sorted(CASES))
async def test_refused_at_start_with_the_loaders_message(tmp_path: Path, case: str) -> None:
    point, message = CASES[case]
    cfg, lib = _setup(tmp_path, point)
    ctx = AdapterContext(logging.getLogger("t"), ProfileView(lib), FragmentDiscovery.standalone(cfg, lib))
    with pytest.raises(AdapterUnavailable) as exc:
        await MqttAdapter(cfg, [], ctx).start()
    assert "dev.yaml:3:" in exc.value.reason and message in exc.value.reason, exc.value.reason
    assert not exc.value.retryable


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_at_run_time_logged_once_counted(tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture) -> None:
    point, message = CASES[case]
    cfg, lib = _setup(tmp_path, point)
    ctx = AdapterContext(logging.getLogger("t"), ProfileView(lib))
    a = MqttAdapter(cfg, [], ctx)
    a._build_factories()  # no core yet: no start-up probe
    ctx.discover = FragmentDiscovery.standalone(cfg, lib)
    for _ in range(3):
        assert a.router.handle("d/7", b'{"v": 1}') == []
    assert a.points == {} and a.router.ignored == {"d/7": "r"}
    assert a.counters["discovery_errors.r"] == 1 and a.counters["ignored.r"] == 2
    [log] = [r.getMessage() for r in caplog.records if "cannot map" in r.getMessage()]
    assert "rule r cannot map topic d/7: " in log and "dev.yaml:3:" in log and message in log
