"""Condition nodes of the twin's alarms and the notifier tree their events travel up (OPC UA Part 9).

- **Conditions.** One Object per alarm condition, NodeId ``s=alarm:<alarm id>`` (``<point id>/<rule>``), typed
  by the condition type of its kind (``alarms_events.condition_type``), a component of the point's asset
  (browse name ``<point local id>_<rule>``) and the target of a ``HasCondition`` reference from the point's
  variable (the ConditionSource). Its methods are the condition types' own (Acknowledge, Confirm, AddComment,
  Enable, Disable: forward ``HasComponent`` references to the namespace-0 method nodes, which Part 9 lets a
  client call with the condition as ObjectId). Its ``ShelvingState`` child (``s=alarm:<id>#ShelvingState``,
  ShelvedStateMachineType) references TimedShelve, OneShotShelve and Unshelve the same way. The condition's
  state is carried by its events and by ConditionRefresh, not by child variables.
- **Notifiers.** Every asset object and the twin's root are EventNotifiers (SubscribeToEvents); ``HasNotifier``
  goes Server -> twin root -> top assets -> child assets, and ``HasEventSource`` from an asset to each point
  variable with a condition, so a client browsing the event hierarchy from the Server object finds the sources.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asyncua import ua
from asyncua.server.address_space import AddressSpace, AttributeValue

from gateway.analytics.model import AlarmSnapshot
from gateway.model import TwinModel
from gateway.northbound.opcua.address_space import NodeIds, node_item, standard_id
from gateway.northbound.opcua.alarms_events import ConditionRef, condition_type
from gateway.northbound.opcua.fast_nodes import add_references_fast, build_nodes
from gateway.northbound.opcua.uatypes import node_id

log = logging.getLogger("twinbridge.opcua.alarms")

SERVER = node_id(ua.ObjectIds.Server)
CONDITION_METHODS = (
    ua.ObjectIds.AcknowledgeableConditionType_Acknowledge,
    ua.ObjectIds.AcknowledgeableConditionType_Confirm,
    ua.ObjectIds.ConditionType_AddComment,
    ua.ObjectIds.ConditionType_Enable,
    ua.ObjectIds.ConditionType_Disable,
)
SHELVING_METHODS = (
    ua.ObjectIds.ShelvedStateMachineType_TimedShelve,
    ua.ObjectIds.ShelvedStateMachineType_OneShotShelve,
    ua.ObjectIds.ShelvedStateMachineType_Unshelve,
)
_SUBSCRIBE_TO_EVENTS = ua.DataValue(ua.Variant(ua.EventNotifier.SubscribeToEvents.mask, ua.VariantType.Byte))


def condition_id(ids: NodeIds, alarm_id: str) -> ua.NodeId:
    """The NodeId of an alarm's condition object."""
    return node_id(f"alarm:{alarm_id}", ids.ns)


def shelving_id(ids: NodeIds, alarm_id: str) -> ua.NodeId:
    """The NodeId of an alarm condition's ShelvingState object."""
    return node_id(f"alarm:{alarm_id}#ShelvingState", ids.ns)


def _reference(source: ua.NodeId, ref: int, target: ua.NodeId, forward: bool = True) -> ua.AddReferencesItem:
    item = ua.AddReferencesItem()
    item.SourceNodeId = source
    item.ReferenceTypeId = standard_id(ref)
    item.TargetNodeId = target
    item.IsForward = forward
    return item


class ConditionNodes:
    """The condition objects of one server and the notifier references; builds only what is new."""

    def __init__(self, aspace: AddressSpace, ids: NodeIds, model: TwinModel) -> None:
        self.aspace = aspace
        self.ids = ids
        self.model = model
        self.refs: dict[str, ConditionRef] = {}
        self._by_node: dict[ua.NodeId, str] = {}  # condition or ShelvingState NodeId -> alarm id
        self._notifiers: set[str] = set()  # asset ids made notifiers and linked to their parent
        self._sources: set[str] = set()  # point ids linked from their asset by HasEventSource
        self._root = False

    def alarm_of(self, nid: ua.NodeId) -> str | None:
        """The alarm id of a condition's or its ShelvingState's NodeId."""
        return self._by_node.get(nid)

    # -- notifiers ---------------------------------------------------------------------------------------
    def notifiers(self, assets: Iterable[str]) -> None:
        """Make assets (and the twin's root) EventNotifiers linked by HasNotifier up to the Server object."""
        refs: list[ua.AddReferencesItem] = []
        if not self._root:
            self._root = True
            self._subscribable(self.ids.root())
            refs += self._both(SERVER, ua.ObjectIds.HasNotifier, self.ids.root())
        for aid in assets:
            if aid in self._notifiers or aid not in self.model.assets:
                continue
            self._notifiers.add(aid)
            if not self._subscribable(self.ids.asset(aid)):
                continue
            parent = self.model.assets[aid].parent
            up = self.ids.asset(parent) if parent and parent in self.model.assets else self.ids.root()
            refs += self._both(up, ua.ObjectIds.HasNotifier, self.ids.asset(aid))
        self._link(refs)

    def chain(self, asset_id: str) -> tuple[ua.NodeId, ...]:
        """The notifiers an event of an asset's point is raised on: the asset, its ancestors, root, Server."""
        out: list[ua.NodeId] = []
        seen: set[str] = set()
        aid: str | None = asset_id
        while aid is not None and aid in self.model.assets and aid not in seen:
            seen.add(aid)
            out.append(self.ids.asset(aid))
            aid = self.model.assets[aid].parent
        return (*out, self.ids.root(), SERVER)

    def _subscribable(self, nid: ua.NodeId) -> bool:
        node = self.aspace.get(nid)
        if node is None:
            return False
        # a new AttributeValue: fast_nodes shares attribute DataValues between nodes
        node.attributes[ua.AttributeIds.EventNotifier] = AttributeValue(_SUBSCRIBE_TO_EVENTS)
        return True

    # -- conditions --------------------------------------------------------------------------------------
    def ensure(self, alarms: Iterable[AlarmSnapshot]) -> list[ConditionRef]:
        """The conditions of ``alarms``, building the nodes of those seen for the first time (a condition whose
        point has no variable is skipped with a warning)."""
        new = [a for a in alarms if a.id not in self.refs]
        if new:
            self._build(new)
        return [self.refs[a.id] for a in alarms if a.id in self.refs]

    def _build(self, alarms: list[AlarmSnapshot]) -> None:
        ids, points = self.ids, self.model.points
        ready = []
        for a in alarms:
            point = points.get(a.point)
            if point is None or self.aspace.get(ids.point(a.point)) is None:
                log.warning("alarm %s: point %s has no OPC UA variable; no condition node", a.id, a.point)
                continue
            ready.append(a)
        self.notifiers({points[a.point].asset for a in ready})
        items: list[ua.AddNodesItem] = []
        refs: list[ua.AddReferencesItem] = []
        for a in ready:
            point = points[a.point]
            cond, shelving = condition_id(ids, a.id), shelving_id(ids, a.id)
            attrs = ua.ObjectAttributes()
            attrs.DisplayName = ua.LocalizedText(f"{point.label}: {a.rule}")
            attrs.Description = ua.LocalizedText(f"{a.kind} alarm {a.rule} of {a.point}")
            attrs.EventNotifier = 0
            typedef = standard_id(condition_type(a.kind))
            name = f"{point.local_id}_{a.rule}"
            asset_node = ids.asset(point.asset)
            items.append(
                node_item(
                    cond, asset_node, ua.ObjectIds.HasComponent, name, ids.ns, ua.NodeClass.Object, attrs, typedef
                )
            )
            sattrs = ua.ObjectAttributes()
            sattrs.DisplayName = ua.LocalizedText("ShelvingState")
            sattrs.Description = ua.LocalizedText("Shelving of the condition")
            sattrs.EventNotifier = 0
            items.append(
                node_item(
                    shelving,
                    cond,
                    ua.ObjectIds.HasComponent,
                    "ShelvingState",
                    0,
                    ua.NodeClass.Object,
                    sattrs,
                    standard_id(ua.ObjectIds.ShelvedStateMachineType),
                )
            )
            source = ids.point(a.point)
            refs += self._both(source, ua.ObjectIds.HasCondition, cond)
            if a.point not in self._sources:
                self._sources.add(a.point)
                refs += self._both(asset_node, ua.ObjectIds.HasEventSource, source)
            # forward only: the shared method nodes would otherwise collect one inverse per condition
            refs += [_reference(cond, ua.ObjectIds.HasComponent, standard_id(m)) for m in CONDITION_METHODS]
            refs += [_reference(shelving, ua.ObjectIds.HasComponent, standard_id(m)) for m in SHELVING_METHODS]
            self._by_node[cond] = self._by_node[shelving] = a.id
            self.refs[a.id] = ConditionRef(a.id, cond, source, a.point, self.chain(point.asset))
        results = build_nodes(self.aspace, items)
        bad = [
            (i.RequestedNewNodeId, r.StatusCode)
            for i, r in zip(items, results, strict=True)
            if not r.StatusCode.is_good()
        ]
        if bad:
            log.warning("%d condition node(s) could not be created, first: %s %s", len(bad), *bad[0])
        self._link(refs)

    # -- references --------------------------------------------------------------------------------------
    @staticmethod
    def _both(source: ua.NodeId, ref: int, target: ua.NodeId) -> list[ua.AddReferencesItem]:
        return [_reference(source, ref, target, True), _reference(target, ref, source, False)]

    def _link(self, refs: list[ua.AddReferencesItem]) -> None:
        if not refs:
            return
        results = add_references_fast(self.aspace, refs)
        bad = [(r.SourceNodeId, code) for r, code in zip(refs, results, strict=True) if not code.is_good()]
        if bad:
            log.debug("%d alarm reference(s) not added, first: %s %s", len(bad), *bad[0])
