"""OPC UA Alarms & Conditions against a scripted AlarmService: every method, role, field and ConditionRefresh.

The gateway, its OPC UA server and the asyncua clients are real; the AlarmService is a small in-test
implementation of the ``gateway.analytics.model.AlarmService`` protocol whose transitions the test drives, so
each Part 9 method's mapping (arguments, actor, outcome status) is checked on its own. The limit alarm of a
real Modbus device through the real alarm engine: test_alarms_limit.py.
"""

from __future__ import annotations

import dataclasses

import pytest
from asyncua import ua

from gateway.analytics.model import Transition
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.alarms_scripted import (
    ACK,
    ALARM,
    CONFIRM,
    Events,
    Ids,
    Plant,
    _bytes,
    _call,
    _events,
    _normal,
    plant,
)
from tests.integration.gateway.northbound.opcua.conftest import VIEW_PW, client, endpoint, nid

__all__ = ["plant"]  # the module-scoped fixture, defined with the scripted service

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


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
