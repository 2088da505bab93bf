"""A device discovered at run time (an MQTT topic rule) whose profile computes a point, carries an alarm rule and an
anomaly detector: all three start with the device, without a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.contract.sample import Quality
from gateway.analytics.model import alarms_of
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient

pytestmark = pytest.mark.integration

MAPPING = """\
twin: {{name: disc, base_iri: "http://disc.local/", flush_interval: 50ms}}
sources:
  - id: mq
    kind: mqtt
    url: "{mqtt}"
    rules:
      - {{id: tanks, topic: "site/{{tank}}/telemetry", profile: test-tank, asset: "{{tank}}", parent: site}}
assets:
  - {{id: site, type: site, label: Site}}
"""
PROFILE = """\
profile: test-tank
label: a water tank
type: brick:Water_Tank
address: {payload: json}
points:
  - {id: level, unit: M, datatype: float, address: {json_path: "$.level"},
     alarms: [{limit: {high: 150 cm}, severity: 700}], anomaly: {detector: seasonal, season: null}}
  - {id: level_pct, unit: PERCENT, datatype: float, expr: "level / 2 [M]"}  # a ratio, shown in %
"""


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[Gateway, TestClient]]:
    broker = Broker(tmp_path / "broker")
    broker.start()
    client = TestClient(broker)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "test-tank.yaml").write_text(PROFILE)
    (tmp_path / "plant.yaml").write_text(MAPPING.format(mqtt=broker.url))
    gw = Gateway.from_files([tmp_path / "plant.yaml"])
    await gw.start(services=False)
    try:
        await wait_for(lambda: bool(gw.source_health()["mq"].details.get("subscriptions")), 20, "MQTT subscribed")
        yield gw, client
    finally:
        await gw.stop()
        client.close()
        broker.kill()


async def test_a_discovered_devices_profile_brings_its_derived_point_alarm_and_detector(
    site: tuple[Gateway, TestClient],
) -> None:
    gw, client = site
    client.publish("site/t1/telemetry", '{"level": 1.2}')
    await wait_for(lambda: "t1.level_pct" in gw.model.points, what="the derived point discovered with the tank")
    await wait_for(lambda: gw.twin.state("t1.level_pct").value == pytest.approx(60.0), what="level_pct computed")
    assert gw.twin.state("t1.level_pct").quality is Quality.GOOD
    assert "t1.level_anomaly" in gw.model.points  # the detector's score point came with it
    alarms = alarms_of(gw.view)
    assert alarms is not None
    await wait_for(lambda: alarms.alarm("t1.level/limit") is not None, what="the profile's alarm rule")

    client.publish("site/t1/telemetry", '{"level": 1.6}')  # 160 cm: above the 150 cm limit
    await wait_for(lambda: gw.twin.state("t1.level_pct").value == pytest.approx(80.0), what="level_pct followed")
    await wait_for(lambda: alarms.alarm("t1.level/limit").active, what="the limit alarm active")  # type: ignore[union-attr]
    await wait_for(lambda: gw.twin.state("t1.level_anomaly").quality is Quality.GOOD, what="a score published")
