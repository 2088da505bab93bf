"""A limit alarm of a Modbus device, end to end through the alarm engine and OPC UA Alarms & Conditions.

A real pymodbus server feeds a gateway whose mapping puts a limit alarm on the boiler temperature; real
asyncua clients subscribe to events on the Server object and on the boiler asset, see the alarm become active
when the register rises, acknowledge it through the Acknowledge method (the operator may, an anonymous
session may not), see AckedState true, replay it by ConditionRefresh and see it return to normal.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import ua

from gateway.analytics.model import alarms_of
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.modbus.modbus_helpers import DeviceStore, ModbusTestServer
from tests.integration.gateway.northbound.opcua.conftest import (
    OP_PW,
    client,
    endpoint,
    nid,
    opcua_section,
    running,
    twin_header,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ALARM = "boiler.temp/limit"
Ids = ua.ObjectIds
TYPES = [Ids.AlarmConditionType, Ids.ExclusiveLimitAlarmType, Ids.RefreshStartEventType, Ids.RefreshEndEventType]


def _mapping(url: str, pki: Path) -> str:
    return (
        twin_header()
        + opcua_section(pki, anonymous=True)
        + f"""\
sources:
  - {{id: plc, kind: modbus, url: "{url}", poll_interval: 100ms, timeout: 1s, retries: 0}}
assets:
  - {{id: works, type: site, label: Works}}
  - id: boiler
    type: brick:Boiler
    parent: works
    label: Boiler
    source: plc
    points:
      - id: temp
        type: measurement
        unit: DEG_C
        datatype: float
        transform: {{scale: 0.1}}
        address: {{table: holding, address: 0, encoding: int16}}
        alarms:
          - {{limit: {{high: 85 °C, high_high: 95 °C, deadband: 1 K}}, severity: 800,
             message: "{{asset_label}}: supply {{value}} {{unit}} above {{limit}}"}}
"""
    )


class Events:
    """An event handler keeping every event notification."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def event_notification(self, event: Any) -> None:
        self.events.append(event)

    def last(self, field: str) -> Any:
        """The field of the latest event of the alarm (None before any)."""
        mine = [e for e in self.events if e.SourceName == "boiler.temp"]
        return getattr(mine[-1], field) if mine else None


class Plant:
    def __init__(self, store: DeviceStore, gw: Gateway) -> None:
        self.store, self.gw = store, gw

    def temperature(self, celsius: float) -> None:
        self.store.set(1, "holding", 0, round(celsius * 10))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Plant]:
    store = DeviceStore(units={1})
    store.set(1, "holding", 0, 600)  # 60.0 °C: normal
    device = ModbusTestServer(store, "tcp")
    await device.start()
    try:
        async with running(_mapping(device.url, tmp_path_factory.mktemp("pki"))) as gw:
            await wait_for(lambda: gw.twin.state("boiler.temp").status == "Good")
            yield Plant(store, gw)
    finally:
        await device.stop()


async def _call(c: Any, obj: ua.NodeId, method: int, *args: ua.Variant) -> ua.StatusCode:
    req = ua.CallMethodRequest()
    req.ObjectId, req.MethodId, req.InputArguments = obj, ua.NodeId(method), list(args)
    return (await c.uaclient.call([req]))[0].StatusCode


async def test_a_limit_alarm_is_raised_acknowledged_refreshed_and_returns_to_normal(plant: Plant) -> None:
    url = endpoint(plant.gw)
    async with client(url) as op, client(url, None) as anonymous:
        on_server, on_asset = Events(), Events()
        server_sub = await op.create_subscription(20, on_server)
        await server_sub.subscribe_events(Ids.Server, TYPES)
        asset_sub = await op.create_subscription(20, on_asset)
        await asset_sub.subscribe_events(await nid(op, "boiler"), TYPES)

        plant.temperature(88.0)  # above high (85 °C), below high_high
        for seen in (on_server, on_asset):
            await wait_for(lambda seen=seen: seen.last("ActiveState/Id") is True, what="the active alarm event")
        active = on_server.events[-1]
        assert active.EventType == ua.NodeId(Ids.ExclusiveLimitAlarmType)
        assert active.SourceNode == await nid(op, "boiler.temp")
        assert active.NodeId == await nid(op, f"alarm:{ALARM}")
        assert active.Severity == 800 and "Boiler" in active.Message.Text
        assert getattr(active, "LimitState/CurrentState").Text == "High"
        assert getattr(active, "AckedState/Id") is False and active.Retain is True

        condition = active.NodeId
        event_id = ua.Variant(active.EventId, ua.VariantType.ByteString)
        refused = await _call(
            anonymous,
            condition,
            Ids.AcknowledgeableConditionType_Acknowledge,
            event_id,
            ua.Variant(ua.LocalizedText("anon")),
        )
        assert refused.value == ua.StatusCodes.BadUserAccessDenied
        done = await _call(
            op,
            condition,
            Ids.AcknowledgeableConditionType_Acknowledge,
            event_id,
            ua.Variant(ua.LocalizedText("checking the burner")),
        )
        assert done.is_good()
        await wait_for(lambda: on_server.last("AckedState/Id") is True, what="the acknowledged event")
        assert on_server.last("ClientUserId") == "op"
        assert on_server.last("Comment").Text == "checking the burner"
        assert on_server.last("ActiveState/Id") is True

        on_asset.events.clear()
        refresh = await _call(
            op,
            ua.NodeId(Ids.ConditionType),
            Ids.ConditionType_ConditionRefresh,
            ua.Variant(asset_sub.subscription_id, ua.VariantType.UInt32),
        )
        assert refresh.is_good()
        await wait_for(
            lambda: any(e.EventType == ua.NodeId(Ids.RefreshEndEventType) for e in on_asset.events),
            what="RefreshEndEvent",
        )
        replayed = [e for e in on_asset.events if e.SourceName == "boiler.temp"]
        assert len(replayed) == 1 and getattr(replayed[0], "ActiveState/Id") is True
        assert getattr(replayed[0], "AckedState/Id") is True
        assert on_asset.events[0].EventType == ua.NodeId(Ids.RefreshStartEventType)

        plant.temperature(60.0)
        for seen in (on_server, on_asset):
            await wait_for(lambda seen=seen: seen.last("ActiveState/Id") is False, what="the return to normal")
        assert on_server.last("AckedState/Id") is True


DOC = Path(__file__).resolve().parents[5] / "docs" / "analytics.md"
HEADING = "## OPC UA Alarms & Conditions"


def _documented_client() -> dict[str, Any]:
    """The namespace of the Python example in the docs section."""
    section = DOC.read_text(encoding="utf-8").split(HEADING, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "no python example"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), f"{DOC}:{HEADING}", "exec"), namespace)
    return namespace


async def test_the_documented_client_acknowledges_the_active_alarm(plant: Plant) -> None:
    service = alarms_of(plant.gw.view)
    assert service is not None
    plant.temperature(97.0)  # above high_high
    await wait_for(lambda: (a := service.alarm(ALARM)) is not None and a.active and not a.acked, what="active")
    acknowledge_all = _documented_client()["acknowledge_all"]
    assert await acknowledge_all(endpoint(plant.gw), "op", OP_PW, "from the docs") == 1
    alarm = service.alarm(ALARM)
    assert alarm is not None and alarm.acked and alarm.limit_state == "HighHigh"
    assert alarm.last_actor == "op" and alarm.last_comment == "from the docs"
    assert await acknowledge_all(endpoint(plant.gw), "op", OP_PW) == 0  # nothing left to acknowledge
    plant.temperature(60.0)
    await wait_for(lambda: not service.alarm(ALARM).active, what="back to normal")  # type: ignore[union-attr]
