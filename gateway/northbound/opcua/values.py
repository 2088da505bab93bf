"""Twin states as OPC UA DataValues, pushed straight into the address space: the OPC UA server's hot path.

Where the time went: asyncua deep-copies the DataValue of every change once per monitored item
(``MonitoredItemValues.set_current_datavalue``), so that a writer changing its object in place later cannot
rewrite a queued notification. That copy was most of a push (1,000 monitored points: ~56 µs per change
through ``Server.write_attribute_value``). The twin's values are immutable scalars and each change gets a fresh
DataValue that nothing mutates afterwards, so ``SharedDataValue`` lets asyncua share it instead (~9 µs with
cached NodeIds and status codes; ``python -m bench opcua_server``).
"""

from __future__ import annotations

import functools
from typing import Any

from asyncua import ua
from asyncua.server.address_space import AddressSpace

from adapters.contract.sample import PointState
from adapters.contract.status import quality_class
from adapters.contract.status import status_code as status_code_of
from gateway.northbound.opcua.uatypes import node_id, status, ua_time

_VALUE = ua.AttributeIds.Value
_CLASS_CODES = {"Good": ua.StatusCodes.Good, "Uncertain": ua.StatusCodes.Uncertain, "Bad": ua.StatusCodes.Bad}


class SharedDataValue(ua.DataValue):
    """A DataValue that is never mutated after it is made, so copies of it may be the object itself."""

    __slots__ = ()

    def __copy__(self) -> SharedDataValue:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedDataValue:
        return self


@functools.lru_cache(maxsize=1024)
def status_code(name: str) -> ua.StatusCode:
    """The StatusCode of an OPC UA status name; a name OPC UA does not define keeps its class (Bad...)."""
    code = status_code_of(name)
    return status(code if code is not None else _CLASS_CODES[quality_class(name)])


def data_value(state: PointState, vtype: ua.VariantType) -> SharedDataValue:
    """The DataValue of a twin state: value in the variable's built-in type, status, source and server time.

    OPC UA Part 4 7.11: a Bad value is null, and while a fault lasts the source timestamp is when the source
    recognized it (the twin's ``quality_ts``), not the time of the last value it keeps.
    """
    status = status_code(state.status)
    variant = ua.Variant() if state.value is None or status.is_bad() else ua.Variant(state.value, vtype)
    return SharedDataValue(
        variant,
        StatusCode=status,
        SourceTimestamp=ua_time(state.quality_ts or state.source_ts),
        ServerTimestamp=ua_time(state.gateway_ts),
    )


class ValuePusher:
    """Writes twin states into the Value attribute of their variables (and so to every subscribed client)."""

    def __init__(self, aspace: AddressSpace, ns: int) -> None:
        self._aspace = aspace
        self._ns = ns
        self._targets: dict[str, tuple[ua.NodeId, ua.VariantType]] = {}

    def add(self, point_id: str, vtype: ua.VariantType) -> None:
        """Serve a point whose variable (NodeId ``s=<point id>``) exists."""
        self._targets[point_id] = (node_id(point_id, self._ns), vtype)

    async def push(self, state: PointState) -> ua.StatusCode | None:
        """Publish a state; ``None`` for a point this server does not serve, else asyncua's write result."""
        target = self._targets.get(state.point)
        if target is None:
            return None
        nodeid, vtype = target
        result: ua.StatusCode = await self._aspace.write_attribute_value(nodeid, _VALUE, data_value(state, vtype))
        return result
