"""OPC UA Alarms & Conditions against a scripted AlarmService: every method, role, field and ConditionRefresh.

The gateway, its OPC UA server and the asyncua clients are real; the AlarmService is a small in-test
implementation of the ``gateway.analytics.model.AlarmService`` protocol whose transitions the test drives, so
each Part 9 method's mapping (arguments, actor, outcome status) is checked on its own. The limit alarm of a
real Modbus device through the real alarm engine: test_alarms_limit.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.common.subscription import Subscription

from gateway.analytics.model import AlarmEvent, AlarmOutcome, AlarmSnapshot, Transition
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.conftest import (
    VIEW_PW,
    client,
    endpoint,
    nid,
    opcua_section,
    twin_header,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ALARM = "boiler.temp/high"
ACK = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
CONFIRM = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Confirm)
Ids = ua.ObjectIds


class Feed:
    """A subscriber's queue of the fake service's events."""

    def __init__(self) -> None:
        self.dropped = 0
        self.queue: asyncio.Queue[AlarmEvent | None] = asyncio.Queue()

    async def get(self, timeout: float | None = None) -> list[AlarmEvent]:
        event = await self.queue.get()
        return [] if event is None else [event]

    def close(self) -> None:
        self.queue.put_nowait(None)


class ScriptedAlarms:
    """An AlarmService whose conditions change when the test says (``activate``/``clear``) or by the methods."""

    def __init__(self, *alarms: AlarmSnapshot) -> None:
        self.state = {a.id: a for a in alarms}
        self.feeds: list[Feed] = []

    def emit(
        self,
        alarm_id: str,
        transition: Transition,
        actor: str | None = None,
        comment: str | None = None,
        **changes: Any,
    ) -> AlarmSnapshot:
        now = datetime.now(UTC)
        a = dataclasses.replace(self.state[alarm_id], **changes, event_id=uuid.uuid4().bytes, changed_at=now)
        if actor is not None:
            a = dataclasses.replace(a, last_actor=actor, last_comment=comment)
        a = dataclasses.replace(a, retain=a.enabled and (a.active or not a.acked or not a.confirmed))
        self.state[alarm_id] = a
        for feed in self.feeds:
            feed.queue.put_nowait(AlarmEvent(a, transition, now, actor, comment))
        return a

    def activate(self, alarm_id: str, level: str = "High") -> AlarmSnapshot:
        return self.emit(
            alarm_id,
            Transition.ACTIVATED,
            active=True,
            acked=False,
            confirmed=False,
            limit_state=level,
            active_since=datetime.now(UTC),
            message=f"temp above {level}",
        )

    def clear(self, alarm_id: str) -> AlarmSnapshot:
        return self.emit(alarm_id, Transition.CLEARED, active=False, limit_state=None, message="temp normal")

    # -- AlarmService --------------------------------------------------------------------------------------
    def alarms(self) -> list[AlarmSnapshot]:
        return list(self.state.values())

    def alarm(self, alarm_id: str) -> AlarmSnapshot | None:
        return self.state.get(alarm_id)

    def acknowledge(
        self, alarm_id: str, *, actor: str, comment: str | None = None, event_id: bytes | None = None
    ) -> AlarmOutcome:
        a = self.state[alarm_id]
        if event_id is not None and event_id != a.event_id:
            return AlarmOutcome("BadEventIdUnknown")
        if a.acked:
            return AlarmOutcome("BadConditionBranchAlreadyAcked")
        self.emit(alarm_id, Transition.ACKNOWLEDGED, actor, comment, acked=True)
        return AlarmOutcome("Good")

    def confirm(
        self, alarm_id: str, *, actor: str, comment: str | None = None, event_id: bytes | None = None
    ) -> AlarmOutcome:
        if self.state[alarm_id].confirmed:
            return AlarmOutcome("BadConditionBranchAlreadyConfirmed")
        self.emit(alarm_id, Transition.CONFIRMED, actor, comment, confirmed=True)
        return AlarmOutcome("Good")

    def shelve(
        self, alarm_id: str, *, actor: str, duration: float | None = None, comment: str | None = None
    ) -> AlarmOutcome:
        if self.state[alarm_id].shelved is not None:
            return AlarmOutcome("BadConditionAlreadyShelved")
        until = datetime.now(UTC) + timedelta(seconds=duration) if duration is not None else None
        self.emit(
            alarm_id, Transition.SHELVED, actor, comment, shelved="timed" if duration else "oneshot", unshelve_at=until
        )
        return AlarmOutcome("Good")

    def unshelve(self, alarm_id: str, *, actor: str, comment: str | None = None) -> AlarmOutcome:
        if self.state[alarm_id].shelved is None:
            return AlarmOutcome("BadConditionNotShelved")
        self.emit(alarm_id, Transition.UNSHELVED, actor, comment, shelved=None, unshelve_at=None)
        return AlarmOutcome("Good")

    def set_enabled(self, alarm_id: str, enabled: bool, *, actor: str) -> AlarmOutcome:
        if self.state[alarm_id].enabled == enabled:
            return AlarmOutcome("BadConditionAlreadyEnabled" if enabled else "BadConditionAlreadyDisabled")
        self.emit(alarm_id, Transition.ENABLED if enabled else Transition.DISABLED, actor, enabled=enabled)
        return AlarmOutcome("Good")

    def add_comment(self, alarm_id: str, comment: str, *, actor: str) -> AlarmOutcome:
        self.emit(alarm_id, Transition.COMMENT, actor, comment)
        return AlarmOutcome("Good")

    def subscribe(self, maxsize: int = 10_000) -> Feed:
        feed = Feed()
        self.feeds.append(feed)
        return feed

    def journal(self, **_: Any) -> list[AlarmEvent]:
        return []


def _normal(alarm_id: str, point: str, rule: str) -> AlarmSnapshot:
    return AlarmSnapshot(
        id=alarm_id,
        rule=rule,
        kind="limit",
        point=point,
        asset="boiler",
        severity=700,
        message="temp normal",
        enabled=True,
        active=False,
        acked=True,
        confirmed=True,
        suppressed=False,
        shelved=None,
        unshelve_at=None,
        limit_state=None,
        value=None,
        unit="DEG_C",
        active_since=None,
        changed_at=datetime.now(UTC),
        last_actor=None,
        last_comment=None,
        event_id=b"initial",
        retain=False,
    )


def _mapping(pki: Path) -> str:
    return (
        twin_header()
        + opcua_section(pki, anonymous=True)
        + """\
sources:
  - {id: dev, kind: sim, interval: 50ms}
assets:
  - {id: works, type: site, label: Works}
  - id: boiler
    type: brick:Boiler
    parent: works
    label: Boiler
    source: dev
    points:
      - {id: temp, type: measurement, unit: DEG_C, datatype: double, address: {signal: constant, initial: 60}}
"""
    )


class Events:
    """An event handler keeping every event notification."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def event_notification(self, event: Any) -> None:
        self.events.append(event)

    def of(self, alarm_event_id: bytes) -> Any:
        return next((e for e in self.events if e.EventId == alarm_event_id), None)

    def field(self, event_id: bytes, name: str) -> Any:
        return getattr(self.of(event_id), name)


class Plant:
    def __init__(self, gw: Gateway, alarms: ScriptedAlarms) -> None:
        self.gw, self.alarms = gw, alarms


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Plant]:
    alarms = ScriptedAlarms(_normal(ALARM, "boiler.temp", "high"))
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": _mapping(tmp_path_factory.mktemp("pki"))}))
    gw.view.analytics = alarms  # what the runtime does when the mapping has alarms
    await gw.start()
    try:
        yield Plant(gw, alarms)
    finally:
        await gw.stop()


async def _events(c: Client, source: ua.NodeId | int, *types: int) -> tuple[Events, Subscription]:
    handler = Events()
    sub = await c.create_subscription(20, handler)
    # the select clauses are the union of the types' fields (LimitState is ExclusiveLimitAlarmType's)
    default = [Ids.AlarmConditionType, Ids.ExclusiveLimitAlarmType, Ids.RefreshStartEventType, Ids.RefreshEndEventType]
    await sub.subscribe_events(source, list(types) or default)
    return handler, sub


async def _call(c: Client, obj: ua.NodeId, method: int | ua.NodeId, *args: Any) -> ua.StatusCode:
    """A method call's status, whatever it is (Node.call_method raises on Bad)."""
    req = ua.CallMethodRequest()
    req.ObjectId = obj
    req.MethodId = method if isinstance(method, ua.NodeId) else ua.NodeId(method)
    req.InputArguments = [a if isinstance(a, ua.Variant) else ua.Variant(a) for a in args]
    result = await c.uaclient.call([req])
    return result[0].StatusCode


def _bytes(b: bytes) -> ua.Variant:
    return ua.Variant(b, ua.VariantType.ByteString)


async def test_an_active_limit_alarm_reaches_the_server_object_and_the_asset_with_its_fields(plant: Plant) -> None:
    async with client(endpoint(plant.gw)) as c:
        on_server, _ = await _events(c, Ids.Server)
        on_asset, _ = await _events(c, await nid(c, "boiler"))
        on_site, _ = await _events(c, await nid(c, "works"))
        a = plant.alarms.activate(ALARM, "HighHigh")
        for seen in (on_server, on_asset, on_site):
            await wait_for(lambda seen=seen: seen.of(a.event_id) is not None, what="the activation event")
        ev = on_server.of(a.event_id)
        assert ev.EventType == ua.NodeId(Ids.ExclusiveLimitAlarmType)
        assert ev.SourceNode == await nid(c, "boiler.temp") and ev.SourceName == "boiler.temp"
        assert ev.NodeId == await nid(c, f"alarm:{ALARM}")  # ConditionId
        assert ev.ConditionName == "high" and ev.Severity == 700 and ev.Message.Text == "temp above HighHigh"
        assert ev.Retain is True and ev.BranchId == ua.NodeId()
        fields = {
            k: getattr(ev, k)
            for k in ("EnabledState/Id", "ActiveState/Id", "AckedState/Id", "ConfirmedState/Id", "SuppressedOrShelved")
        }
        assert fields == {
            "EnabledState/Id": True,
            "ActiveState/Id": True,
            "AckedState/Id": False,
            "ConfirmedState/Id": False,
            "SuppressedOrShelved": False,
        }
        assert ev.ActiveState.Text == "Active"
        assert getattr(ev, "LimitState/CurrentState").Text == "HighHigh"
        assert getattr(ev, "LimitState/CurrentState/Id") == ua.NodeId(Ids.ExclusiveLimitStateMachineType_HighHigh)
        assert getattr(ev, "ShelvingState/CurrentState").Text == "Unshelved"
        assert ev.Time == a.changed_at.replace(tzinfo=None) or ev.Time is not None


async def test_acknowledge_needs_the_operator_role_and_is_reported_with_the_user(plant: Plant) -> None:
    a = plant.alarms.activate(ALARM)
    async with (
        client(endpoint(plant.gw)) as c,
        client(endpoint(plant.gw), None) as anon,
        client(endpoint(plant.gw), "viewer", VIEW_PW) as viewer,
    ):
        cond = await nid(c, f"alarm:{ALARM}")
        seen, _ = await _events(c, Ids.Server)
        for refused in (anon, viewer):
            code = await _call(refused, cond, ACK, _bytes(a.event_id), ua.LocalizedText("no"))
            assert code.value == ua.StatusCodes.BadUserAccessDenied
        assert plant.alarms.state[ALARM].acked is False
        code = await _call(c, cond, ACK, _bytes(b"not-the-latest"), ua.LocalizedText("x"))
        assert code.value == ua.StatusCodes.BadEventIdUnknown
        assert (await _call(c, cond, ACK, _bytes(a.event_id), ua.LocalizedText("seen it"))).is_good()
        acked = plant.alarms.state[ALARM]
        assert acked.acked and acked.last_actor == "op"
        await wait_for(lambda: seen.of(acked.event_id) is not None, what="the acknowledged event")
        assert seen.field(acked.event_id, "AckedState/Id") is True
        assert seen.field(acked.event_id, "ClientUserId") == "op"
        assert seen.field(acked.event_id, "Comment").Text == "seen it"
        again = await _call(c, cond, ACK, _bytes(acked.event_id), ua.LocalizedText(""))
        assert again.value == ua.StatusCodes.BadConditionBranchAlreadyAcked
        assert (await _call(c, cond, CONFIRM, _bytes(acked.event_id), ua.LocalizedText("done"))).is_good()
        assert plant.alarms.state[ALARM].confirmed


async def test_shelving_enable_and_comments_through_the_condition_methods(plant: Plant) -> None:
    plant.alarms.activate(ALARM)
    async with client(endpoint(plant.gw)) as c:
        cond = await nid(c, f"alarm:{ALARM}")
        shelving = await nid(c, f"alarm:{ALARM}#ShelvingState")
        seen, _ = await _events(c, Ids.Server)
        assert (await _call(c, shelving, Ids.ShelvedStateMachineType_TimedShelve, ua.Variant(60_000.0))).is_good()
        shelved = plant.alarms.state[ALARM]
        assert shelved.shelved == "timed" and shelved.unshelve_at is not None
        await wait_for(lambda: seen.of(shelved.event_id) is not None, what="the shelved event")
        assert seen.field(shelved.event_id, "ShelvingState/CurrentState").Text == "TimedShelved"
        assert seen.field(shelved.event_id, "SuppressedOrShelved") is True
        assert 0 < seen.field(shelved.event_id, "ShelvingState/UnshelveTime") <= 60_000
        code = await _call(c, shelving, Ids.ShelvedStateMachineType_OneShotShelve)
        assert code.value == ua.StatusCodes.BadConditionAlreadyShelved
        assert (await _call(c, shelving, Ids.ShelvedStateMachineType_Unshelve)).is_good()
        assert (await _call(c, cond, Ids.ShelvedStateMachineType_OneShotShelve)).is_good()  # on the condition too
        assert plant.alarms.state[ALARM].shelved == "oneshot"
        assert (await _call(c, shelving, Ids.ShelvedStateMachineType_Unshelve)).is_good()
        code = await _call(c, shelving, Ids.ShelvedStateMachineType_TimedShelve, ua.Variant(0.0))
        assert code.value == ua.StatusCodes.BadShelvingTimeOutOfRange
        assert (await _call(c, cond, Ids.ConditionType_Disable)).is_good()
        assert plant.alarms.state[ALARM].enabled is False
        assert (await _call(c, cond, Ids.ConditionType_Disable)).value == ua.StatusCodes.BadConditionAlreadyDisabled
        assert (await _call(c, cond, Ids.ConditionType_Enable)).is_good()
        latest = plant.alarms.state[ALARM].event_id
        assert (await _call(c, cond, Ids.ConditionType_AddComment, _bytes(latest), ua.LocalizedText("hot"))).is_good()
        commented = plant.alarms.state[ALARM]
        assert commented.last_comment == "hot" and commented.last_actor == "op"
        await wait_for(lambda: seen.of(commented.event_id) is not None, what="the comment event")
        assert seen.field(commented.event_id, "Comment").Text == "hot"


async def test_condition_refresh_replays_the_retained_conditions_to_that_subscription_only(plant: Plant) -> None:
    async with client(endpoint(plant.gw), None) as c:  # refreshing needs no role
        asked, sub = await _events(c, await nid(c, "boiler"))
        other, _ = await _events(c, Ids.Server)
        a = plant.alarms.activate(ALARM, "High")
        await wait_for(lambda: asked.of(a.event_id) is not None and other.of(a.event_id) is not None)
        asked.events.clear()
        other.events.clear()
        refresh = ua.NodeId(Ids.ConditionType_ConditionRefresh)
        code = await _call(
            c, ua.NodeId(Ids.ConditionType), refresh, ua.Variant(sub.subscription_id, ua.VariantType.UInt32)
        )
        assert code.is_good()
        await wait_for(lambda: len(asked.events) >= 3, what="RefreshStart, the condition, RefreshEnd")
        types = [e.EventType for e in asked.events]
        assert types == [
            ua.NodeId(Ids.RefreshStartEventType),
            ua.NodeId(Ids.ExclusiveLimitAlarmType),
            ua.NodeId(Ids.RefreshEndEventType),
        ]
        replay = asked.events[1]
        assert replay.EventId == a.event_id and getattr(replay, "ActiveState/Id") is True
        assert other.events == []
        code = await _call(c, ua.NodeId(Ids.ConditionType), refresh, ua.Variant(999_999, ua.VariantType.UInt32))
        assert code.value == ua.StatusCodes.BadSubscriptionIdInvalid
    plant.alarms.clear(ALARM)


async def test_conditions_are_browsable_from_their_asset_and_the_event_tree_reaches_the_server(plant: Plant) -> None:
    async with client(endpoint(plant.gw)) as c:
        cond = c.get_node(await nid(c, f"alarm:{ALARM}"))
        asset = c.get_node(await nid(c, "boiler"))
        assert cond in await asset.get_children(refs=Ids.HasComponent)
        point = c.get_node(await nid(c, "boiler.temp"))
        assert cond in await point.get_referenced_nodes(refs=Ids.HasCondition)
        assert point in await asset.get_referenced_nodes(refs=Ids.HasEventSource)
        assert (await cond.read_type_definition()) == ua.NodeId(Ids.ExclusiveLimitAlarmType)
        methods = await cond.get_referenced_nodes(refs=Ids.HasComponent)
        assert c.get_node(ACK) in methods
        server = c.get_node(ua.NodeId(Ids.Server))
        root = c.get_node(await nid(c, "twin"))
        assert root in await server.get_referenced_nodes(refs=Ids.HasNotifier)
        site = c.get_node(await nid(c, "works"))
        assert asset in await site.get_referenced_nodes(refs=Ids.HasNotifier)
        assert ua.EventNotifier.SubscribeToEvents in await asset.read_event_notifier()


async def test_a_condition_first_seen_at_run_time_gets_a_node_and_condition_refresh2_replays_one_item(
    plant: Plant,
) -> None:
    stale = "boiler.temp/stale"
    async with client(endpoint(plant.gw)) as c:
        seen = Events()
        sub = await c.create_subscription(20, seen)
        types = [Ids.AlarmConditionType, Ids.RefreshStartEventType, Ids.RefreshEndEventType]
        await sub.subscribe_events(Ids.Server, types)
        on_boiler = await sub.subscribe_events(await nid(c, "boiler"), types)
        cond = c.get_node(await nid(c, f"alarm:{stale}"))
        assert cond not in await c.get_node(await nid(c, "boiler")).get_children(refs=Ids.HasComponent)
        # a class rule matching a point at run time: the service reports a condition the server never saw
        plant.alarms.state[stale] = dataclasses.replace(_normal(stale, "boiler.temp", "stale"), kind="stale")
        a = plant.alarms.emit(stale, Transition.ACTIVATED, active=True, acked=False, confirmed=False)
        await wait_for(lambda: len([e for e in seen.events if e.EventId == a.event_id]) == 2, what="both items")
        assert seen.field(a.event_id, "EventType") == ua.NodeId(Ids.AlarmConditionType)
        assert seen.field(a.event_id, "NodeId") == cond.nodeid
        assert cond in await c.get_node(await nid(c, "boiler")).get_children(refs=Ids.HasComponent)
        seen.events.clear()
        refresh2 = ua.NodeId(Ids.ConditionType_ConditionRefresh2)
        args = (ua.Variant(sub.subscription_id, ua.VariantType.UInt32), ua.Variant(on_boiler, ua.VariantType.UInt32))
        assert (await _call(c, ua.NodeId(Ids.ConditionType), refresh2, *args)).is_good()
        end = ua.NodeId(Ids.RefreshEndEventType)
        await wait_for(lambda: any(e.EventType == end for e in seen.events), what="RefreshEndEvent")
        retained = {i for i, s in plant.alarms.state.items() if s.retain}
        replayed = [e.NodeId for e in seen.events[1:-1]]
        ns = await c.get_namespace_index("http://t6.local/opcua")
        assert sorted(replayed) == sorted(ua.NodeId(f"alarm:{i}", ns) for i in retained)  # once each: one item
        assert seen.events[0].EventType == ua.NodeId(Ids.RefreshStartEventType) and seen.events[-1].EventType == end
        plant.alarms.emit(stale, Transition.CLEARED, active=False)
