"""A scripted AlarmService and a gateway serving it over OPC UA, for test_alarms_methods.py: the test drives
the transitions, so each Part 9 method's mapping (arguments, actor, outcome status) is checked on its own."""

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
from tests.integration.gateway.northbound.opcua.conftest import (
    opcua_section,
    twin_header,
)

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
