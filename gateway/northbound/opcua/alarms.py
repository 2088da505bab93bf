"""OPC UA Alarms & Conditions of the twin's alarms (Part 9), driven by the ``AlarmService``.

Each transition of the service's feed becomes one event of the condition (``alarms_events``), raised with the
point's variable as SourceNode on every notifier up the asset tree (the asset, its ancestors, the twin's root,
the Server object), so a client subscribed to events on any of them receives it. Conditions get their nodes
(``alarms_nodes``) at start and when first seen (class rules matching points added at run time).

Methods are the condition types' (namespace 0) method nodes, bound once for every condition: the callback
finds the condition by the call's ObjectId. Acknowledge, Confirm, AddComment, Enable, Disable and the
ShelvingState's TimedShelve, OneShotShelve and Unshelve need the operator role (else BadUserAccessDenied) and
answer the AlarmService's outcome status; ConditionRefresh/ConditionRefresh2 (any role) replay the retained
conditions between a RefreshStartEvent and a RefreshEndEvent to the monitored items of that subscription only.

asyncua gives method callbacks neither the session nor its user: ``track_session_users`` wraps each client
session's Call so the callback reads them from a context variable (the call runs in that request's task).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.internal_session import InternalSession

from gateway.analytics.model import AlarmEvent, AlarmFeed, AlarmOutcome, AlarmService, alarms_of
from gateway.northbound.opcua.address_space import NodeIds
from gateway.northbound.opcua.alarms_events import ConditionEvent, condition_event
from gateway.northbound.opcua.alarms_nodes import SERVER, ConditionNodes
from gateway.northbound.opcua.uatypes import node_id, status
from gateway.northbound.opcua.users import TwinUserManager
from gateway.northbound.opcua.values import status_code
from gateway.northbound.roles import allows

if TYPE_CHECKING:
    from asyncua.server.internal_subscription import InternalSubscription

    from adapters.contract.model import Asset
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.opcua.alarms")

_SESSION: ContextVar[InternalSession | None] = ContextVar("twinbridge_opcua_session", default=None)
_Method = Callable[..., Awaitable[ua.StatusCode]]
_O = ua.ObjectIds
_ANONYMOUS = User(role=UserRole.Anonymous)  # asyncua's default user of a new session


def track_session_users(server: Server) -> None:
    """Make the calling session known to method callbacks (``_SESSION``) for every session created from now."""
    iserver = server.iserver
    create = iserver.create_session

    def create_session(name: str, user: User = _ANONYMOUS, external: bool = False) -> Any:
        session = create(name, user=user, external=external)
        call = session.call

        async def call_in_session(params: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
            token = _SESSION.set(session)
            try:
                return await call(params)
            finally:
                _SESSION.reset(token)

        session.call = call_in_session  # type: ignore[method-assign]
        return session

    iserver.create_session = create_session  # type: ignore[method-assign]


def _arg(args: tuple[Any, ...], i: int) -> Any:
    value = args[i] if i < len(args) else None
    return value.Value if isinstance(value, ua.Variant) else value


def _text(value: Any) -> str | None:
    text = value.Text if isinstance(value, ua.LocalizedText) else value
    return str(text) if text else None


class ServerAlarms:
    """The alarms part of one OPC UA server."""

    def __init__(self, server: Server, view: TwinView, ids: NodeIds, users: TwinUserManager, svc: AlarmService):
        self.server = server
        self.view = view
        self.svc = svc
        self.users = users
        self.nodes = ConditionNodes(server.iserver.aspace, ids, view.model)
        self._feed: AlarmFeed | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def install(cls, server: Server, view: TwinView, ids: NodeIds, users: TwinUserManager) -> ServerAlarms | None:
        """Conditions, notifiers and methods for the twin's alarms; None when the twin has none. Call before the
        server starts listening (sessions created earlier are not tracked)."""
        svc = alarms_of(view)
        if svc is None:
            return None
        self = cls(server, view, ids, users, svc)
        track_session_users(server)
        self._bind_methods()
        self._feed = svc.subscribe()  # before listing: no transition falls between the two
        self.nodes.notifiers(view.model.assets)
        self.nodes.ensure(svc.alarms())
        self._task = asyncio.create_task(self._pump(self._feed), name="opcua-server-alarms")
        log.info("OPC UA alarms & conditions: %d condition(s)", len(self.nodes.refs))
        return self

    async def stop(self) -> None:
        if self._feed is not None:
            self._feed.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def on_model(self, assets: Iterable[Asset]) -> None:
        """Assets and points added at run time: new assets become notifiers, new conditions get nodes."""
        self.nodes.notifiers(a.id for a in assets)
        self.nodes.ensure(self.svc.alarms())

    # -- events --------------------------------------------------------------------------------------------
    async def _pump(self, feed: AlarmFeed) -> None:
        while True:
            events = await feed.get()
            if not events:
                return  # closed
            for event in events:
                try:
                    await self.publish(event)
                except Exception:
                    log.exception("could not raise the OPC UA event of alarm %s", event.alarm.id)

    async def publish(self, event: AlarmEvent) -> None:
        """Raise the event of one transition on every notifier of its condition, to every subscription."""
        refs = self.nodes.ensure([event.alarm])
        if not refs:
            return
        ref = refs[0]
        ev = condition_event(
            event.alarm, ref, time=event.time, receive_time=datetime.now(UTC), actor=event.actor, comment=event.comment
        )
        subs = list(self.server.iserver.subscription_service.subscriptions.values())
        for notifier in ref.notifiers:
            ev.emitting_node = notifier  # a monitored item receives only the events of the node it monitors
            for sub in subs:
                await sub.monitored_item_srv.trigger_event(ev)

    # -- methods -------------------------------------------------------------------------------------------
    def _bind_methods(self) -> None:
        bind = self.server.iserver.isession.add_method_callback
        methods: dict[int, _Method] = {
            _O.AcknowledgeableConditionType_Acknowledge: self._acknowledge,
            _O.AcknowledgeableConditionType_Confirm: self._confirm,
            _O.ConditionType_AddComment: self._add_comment,
            _O.ConditionType_Enable: self._enable,
            _O.ConditionType_Disable: self._disable,
            _O.ShelvedStateMachineType_TimedShelve: self._timed_shelve,
            _O.AlarmConditionType_ShelvingState_TimedShelve: self._timed_shelve,
            _O.ShelvedStateMachineType_OneShotShelve: self._one_shot_shelve,
            _O.AlarmConditionType_ShelvingState_OneShotShelve: self._one_shot_shelve,
            _O.ShelvedStateMachineType_Unshelve: self._unshelve,
            _O.AlarmConditionType_ShelvingState_Unshelve: self._unshelve,
            _O.ConditionType_ConditionRefresh: self._condition_refresh,
            _O.ConditionType_ConditionRefresh2: self._condition_refresh2,
        }
        for method, callback in methods.items():
            bind(node_id(method), callback)

    def _act(self, parent: ua.NodeId, what: str, action: Callable[[str, str], AlarmOutcome]) -> ua.StatusCode:
        session = _SESSION.get()
        user = session.user if session is not None else None
        role = self.users.role(user)
        who = (user.name if user is not None else None) or "anonymous"
        if session is None or not allows(role, "operator"):
            log.warning("OPC UA %s on %s by %s refused: role %s may not act on alarms", what, parent, who, role)
            return status(ua.StatusCodes.BadUserAccessDenied)
        alarm_id = self.nodes.alarm_of(parent)
        if alarm_id is None:
            return status(ua.StatusCodes.BadNodeIdUnknown)
        outcome = action(alarm_id, who)
        if not outcome.ok:
            log.info("OPC UA %s of %s by %s: %s %s", what, alarm_id, who, outcome.status, outcome.reason or "")
        return status_code(outcome.status)

    async def _acknowledge(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        if len(args) < 2:
            return status(ua.StatusCodes.BadArgumentsMissing)
        event_id, comment = _arg(args, 0), _text(_arg(args, 1))
        return self._act(
            parent,
            "Acknowledge",
            lambda aid, actor: self.svc.acknowledge(aid, actor=actor, comment=comment, event_id=event_id),
        )

    async def _confirm(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        if len(args) < 2:
            return status(ua.StatusCodes.BadArgumentsMissing)
        event_id, comment = _arg(args, 0), _text(_arg(args, 1))
        return self._act(
            parent, "Confirm", lambda aid, actor: self.svc.confirm(aid, actor=actor, comment=comment, event_id=event_id)
        )

    async def _add_comment(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        if len(args) < 2:
            return status(ua.StatusCodes.BadArgumentsMissing)
        event_id, comment = _arg(args, 0), _text(_arg(args, 1))

        def comment_on(aid: str, actor: str) -> AlarmOutcome:
            alarm = self.svc.alarm(aid)
            if alarm is None or (event_id is not None and event_id != alarm.event_id):
                return AlarmOutcome("BadEventIdUnknown", "the EventId is not the condition's latest event")
            return self.svc.add_comment(aid, comment or "", actor=actor)

        return self._act(parent, "AddComment", comment_on)

    async def _enable(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        return self._act(parent, "Enable", lambda aid, actor: self.svc.set_enabled(aid, True, actor=actor))

    async def _disable(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        return self._act(parent, "Disable", lambda aid, actor: self.svc.set_enabled(aid, False, actor=actor))

    async def _timed_shelve(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        if len(args) < 1:
            return status(ua.StatusCodes.BadArgumentsMissing)
        try:
            milliseconds = float(_arg(args, 0))
        except (TypeError, ValueError):
            return status(ua.StatusCodes.BadTypeMismatch)
        if not milliseconds > 0:
            return status(ua.StatusCodes.BadShelvingTimeOutOfRange)
        return self._act(
            parent, "TimedShelve", lambda aid, actor: self.svc.shelve(aid, actor=actor, duration=milliseconds / 1000)
        )

    async def _one_shot_shelve(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        return self._act(parent, "OneShotShelve", lambda aid, actor: self.svc.shelve(aid, actor=actor, duration=None))

    async def _unshelve(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        return self._act(parent, "Unshelve", lambda aid, actor: self.svc.unshelve(aid, actor=actor))

    # -- ConditionRefresh ----------------------------------------------------------------------------------
    async def _condition_refresh(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        return await self._refresh(_arg(args, 0), None)

    async def _condition_refresh2(self, parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        if len(args) < 2:
            return status(ua.StatusCodes.BadArgumentsMissing)
        return await self._refresh(_arg(args, 0), _arg(args, 1))

    async def _refresh(self, sub_id: Any, monitored_item: Any) -> ua.StatusCode:
        session = _SESSION.get()
        subs = self.server.iserver.subscription_service.subscriptions
        sub = subs.get(int(sub_id)) if isinstance(sub_id, int) else None
        if sub is None or session is None or sub.session_id != session.session_id:
            return status(ua.StatusCodes.BadSubscriptionIdInvalid)
        targets = self._event_items(sub, monitored_item)
        if monitored_item is not None and not targets:
            return status(ua.StatusCodes.BadMonitoredItemIdInvalid)
        await self._mark(sub, targets, _O.RefreshStartEventType)
        now = datetime.now(UTC)
        retained = [a for a in self.svc.alarms() if a.retain]
        self.nodes.ensure(retained)
        for alarm in retained:
            ref = self.nodes.refs.get(alarm.id)
            if ref is None:  # its point has no variable
                continue
            ev = condition_event(alarm, ref, time=alarm.changed_at, receive_time=now)
            await self._send(sub, targets, ev, set(ref.notifiers))
        await self._mark(sub, targets, _O.RefreshEndEventType)
        return status(ua.StatusCodes.Good)

    @staticmethod
    def _event_items(sub: InternalSubscription, only: Any) -> list[tuple[ua.NodeId, int]]:
        """(monitored node, monitored item id) of a subscription's event items (asyncua 2.1 keeps them in
        ``_monitored_events``; it offers no public listing)."""
        by_node: dict[ua.NodeId, list[int]] = getattr(sub.monitored_item_srv, "_monitored_events", {})
        return [(n, mid) for n, mids in by_node.items() for mid in mids if only is None or mid == only]

    @staticmethod
    async def _send(
        sub: InternalSubscription, targets: list[tuple[ua.NodeId, int]], ev: Any, nodes: set[ua.NodeId] | None
    ) -> None:
        for node, mid in targets:
            if nodes is None or node in nodes:
                ev.emitting_node = node
                await sub.monitored_item_srv.trigger_event(ev, mid)

    async def _mark(self, sub: InternalSubscription, targets: list[tuple[ua.NodeId, int]], etype: int) -> None:
        now = datetime.now(UTC)
        ev = ConditionEvent(SERVER)
        ev.put("EventId", uuid.uuid4().bytes, ua.VariantType.ByteString)
        ev.put("EventType", node_id(etype), ua.VariantType.NodeId)
        ev.put("SourceNode", SERVER, ua.VariantType.NodeId)
        ev.put("SourceName", "Server", ua.VariantType.String)
        ev.put("Time", now, ua.VariantType.DateTime)
        ev.put("ReceiveTime", now, ua.VariantType.DateTime)
        ev.put("Message", ua.LocalizedText("ConditionRefresh"), ua.VariantType.LocalizedText)
        ev.put("Severity", 1, ua.VariantType.UInt16)
        await self._send(sub, targets, ev, None)  # every event item of the subscription, whatever its node
