"""After a broker restart that lost its retained messages (no persistence), the UNS publishes every current value
again, so a new subscriber still sees the whole plant at once, including points that did not change."""

from __future__ import annotations

import json

import pytest

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient

pytestmark = pytest.mark.integration

MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms}
gateway:
  mqtt:
    brokers:
      - {name: plant, url: "mqtt://127.0.0.1:PORT", reconnect: {initial: 0.1, max: 0.5}, uns: {prefix: uns}}
sources:
  - {id: sim1, kind: sim, interval: 1h}  # one sample at start: nothing changes afterwards
assets:
  - {id: site, type: site, label: Site}
  - id: boiler
    type: brick:Boiler
    parent: site
    source: sim1
    points:
      - {id: setpoint, datatype: float, unit: DEG_C, address: {signal: constant, initial: 55.5}}
      - {id: temp, datatype: float, unit: DEG_C, address: {signal: counter, rate: 5}}
"""
STATIC = "uns/site/boiler/setpoint"


def _late_subscriber(broker: Broker) -> TestClient:
    c = TestClient(broker)
    c.subscribe("uns/#")
    return c


async def test_a_broker_that_lost_its_retained_values_gets_every_point_again(broker: Broker) -> None:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("PORT", str(broker.port))}))
    await gw.start()
    try:
        first = _late_subscriber(broker)
        await first.wait_message(STATIC)
        first.close()
        broker.kill()
        for f in broker.dir.glob("*.db"):  # as if it ran without persistence: its retained store is gone
            f.unlink()
        broker.start()
        late = _late_subscriber(broker)
        try:
            await wait_for(lambda: bool(late.messages(STATIC)), 5, "the unchanged point published again")
            msg = late.messages(STATIC)[0]
            assert json.loads(msg.payload)["value"] == 55.5
            link = gw.services["mqtt"].links["plant"]  # type: ignore[attr-defined]
            assert link.counters["connects"] == 2
        finally:
            late.close()
    finally:
        await gw.stop()
