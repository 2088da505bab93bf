"""What a client sees of the history in the address space, and the install of the history manager.

Historized variables carry ``Historizing = True`` and the HistoryRead bit in AccessLevel and UserAccessLevel
(every role may read history, as every role may read values); the server's HistoryServerCapabilities say
that data history is readable, how many values one response holds, and list the aggregates answered, under
both AggregateFunctions folders (ServerCapabilities' and HistoryServerCapabilities').
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from asyncua import Server, ua
from asyncua.server.address_space import AddressSpace

from gateway.northbound.history_access import history_reader, is_recorded
from gateway.northbound.opcua.address_space import NodeIds, variant_type
from gateway.northbound.opcua.history import AGGREGATES, MAX_VALUES, TwinHistoryManager, TwinHistoryStorage
from gateway.northbound.opcua.uatypes import node_id

if TYPE_CHECKING:
    from adapters.contract.model import Point
    from gateway.twin.view import TwinView

_HISTORIZING = ua.DataValue(ua.Variant(True, ua.VariantType.Boolean))
_CAPABILITIES = (
    (ua.ObjectIds.HistoryServerCapabilities_AccessHistoryDataCapability, True, ua.VariantType.Boolean),
    (ua.ObjectIds.HistoryServerCapabilities_ServerTimestampSupported, True, ua.VariantType.Boolean),
    (ua.ObjectIds.HistoryServerCapabilities_MaxReturnDataValues, MAX_VALUES, ua.VariantType.UInt32),
)
_AGGREGATE_FOLDERS = (
    ua.ObjectIds.HistoryServerCapabilities_AggregateFunctions,
    ua.ObjectIds.Server_ServerCapabilities_AggregateFunctions,
)


class ServerHistory:
    """The history side of the OPC UA server: its manager and the marks on historized variables."""

    def __init__(self, server: Server, view: TwinView, ids: NodeIds) -> None:
        self.server = server
        self.view = view
        self.ids = ids
        self.aspace: AddressSpace = server.iserver.aspace
        self.storage: TwinHistoryStorage | None = None

    @classmethod
    async def install(cls, server: Server, view: TwinView, ids: NodeIds) -> ServerHistory | None:
        """Answer HistoryRead from the twin's history and mark its variables; None when history is off."""
        reader = history_reader(view)
        if reader is None:
            return None
        self = cls(server, view, ids)
        self.storage = TwinHistoryStorage(reader, self.point_of, self.recorded)
        server.iserver.history_manager = TwinHistoryManager(server.iserver, self.storage, self.variant_of)
        self.mark(view.model.points.values())
        await self._capabilities()
        return self

    def point_of(self, nid: ua.NodeId) -> str | None:
        """The point id of a variable's NodeId, or None for any other node."""
        ident = nid.Identifier
        if nid.NamespaceIndex == self.ids.ns and isinstance(ident, str) and ident in self.view.model.points:
            return ident
        return None

    def recorded(self, pid: str) -> bool:
        """Whether the point's samples are recorded."""
        return is_recorded(self.view, pid)

    def variant_of(self, pid: str) -> ua.VariantType:
        """The built-in type of a point's raw values."""
        return variant_type(self.view.model.points[pid].datatype)

    def mark(self, points: Iterable[Point]) -> None:
        """Historizing and the HistoryRead access bits on the variables of recorded points."""
        for p in points:
            node = self.aspace.get(self.ids.point(p.id))
            if node is None or not self.recorded(p.id):
                continue
            attrs = node.attributes
            attrs[ua.AttributeIds.Historizing].value = _HISTORIZING
            for attr in (ua.AttributeIds.AccessLevel, ua.AttributeIds.UserAccessLevel):
                current = attrs[attr].value
                level = int(current.Value.Value) if current and current.Value and current.Value.Value else 0
                # a new DataValue, never the shared one changed in place (fast_nodes shares them between nodes)
                attrs[attr].value = ua.DataValue(
                    ua.Variant(level | ua.AccessLevel.HistoryRead.mask, ua.VariantType.Byte)
                )

    async def _capabilities(self) -> None:
        for oid, value, vtype in _CAPABILITIES:
            await self.server.get_node(node_id(oid)).write_value(ua.Variant(value, vtype))
        for folder in _AGGREGATE_FOLDERS:
            node = self.server.get_node(node_id(folder))
            present = {r.NodeId for r in await node.get_references(ua.ObjectIds.Organizes)}
            for agg in AGGREGATES:
                if agg not in present:
                    await node.add_reference(agg, ua.ObjectIds.Organizes, forward=True, bidirectional=False)
