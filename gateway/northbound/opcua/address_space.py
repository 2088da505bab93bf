"""The twin as OPC UA nodes, created in batches (asyncua's node-by-node API takes ~10 ms per node).

NodeIds are strings in the twin's namespace, derived from ids only: an asset is ``s=<asset id>``, a point
``s=<point id>``, its properties ``s=<point id>#EngineeringUnits``/``#EURange``, types ``s=type:<name>``; the
topology (gateway/northbound/opcua/topology.py) adds ``s=location:<id>``, ``s=folder:Locations``,
``s=reftype:<name>`` and ``s=<owner>#<property>``. They are identical across restarts and mapping reloads.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from asyncua import ua

from adapters.contract.model import Asset, DataType, Point
from gateway import classes, units
from gateway.model import TwinModel
from gateway.northbound.opcua.uatypes import node_id

_VARIANT = {
    DataType.BOOL: ua.VariantType.Boolean,
    DataType.INT16: ua.VariantType.Int16,
    DataType.UINT16: ua.VariantType.UInt16,
    DataType.INT32: ua.VariantType.Int32,
    DataType.UINT32: ua.VariantType.UInt32,
    DataType.INT64: ua.VariantType.Int64,
    DataType.UINT64: ua.VariantType.UInt64,
    DataType.FLOAT: ua.VariantType.Float,
    DataType.DOUBLE: ua.VariantType.Double,
    DataType.STRING: ua.VariantType.String,
}
UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"
LEVEL_TYPES = ("Site", "Area", "Line", "Equipment")
KIND_TYPES = ("Measurement", "Setpoint", "Command", "Status")


def variant_type(dt: DataType) -> ua.VariantType:
    """The OPC UA built-in type of a point datatype."""
    return _VARIANT[dt]


def unece_unit_id(code: str) -> int:
    """OPC UA Part 8 UnitId of a UNECE common code: the ASCII bytes of the code packed into an Int32."""
    uid = 0
    for ch in code[:4]:
        uid = (uid << 8) | ord(ch)
    return uid


def eu_information(unit_name: str) -> ua.EUInformation | None:
    """EngineeringUnits of a QUDT unit (UNECE code, symbol, label)."""
    u = units.get_unit(unit_name)
    if u is None:
        return None
    eu = ua.EUInformation()
    eu.NamespaceUri = UNECE_NAMESPACE
    eu.UnitId = unece_unit_id(u.unece) if u.unece else -1
    eu.DisplayName = ua.LocalizedText(u.symbol or u.name)
    eu.Description = ua.LocalizedText(u.label)
    return eu


@functools.lru_cache(maxsize=256)
def standard_id(identifier: int) -> ua.NodeId:
    """A NodeId of namespace 0 (``ua.ObjectIds.HasProperty``...), one object per id: the items of a big twin
    share them (nothing mutates a NodeId) instead of making ~100,000 alike."""
    return node_id(identifier)


class NodeIds:
    """Stable NodeIds of a twin in one namespace index."""

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def asset(self, aid: str) -> ua.NodeId:
        return node_id(aid, self.ns)

    def point(self, pid: str) -> ua.NodeId:
        return node_id(pid, self.ns)

    def prop(self, pid: str, name: str) -> ua.NodeId:
        return node_id(f"{pid}#{name}", self.ns)

    def type(self, name: str) -> ua.NodeId:
        return node_id(f"type:{name}", self.ns)

    def root(self) -> ua.NodeId:
        return node_id("twin", self.ns)

    def location(self, lid: str) -> ua.NodeId:
        return node_id(f"location:{lid}", self.ns)

    def locations_folder(self) -> ua.NodeId:
        return node_id("folder:Locations", self.ns)

    def reference_type(self, name: str) -> ua.NodeId:
        return node_id(f"reftype:{name}", self.ns)


def node_item(
    nodeid: ua.NodeId,
    parent: ua.NodeId,
    ref: int,
    name: str,
    ns: int,
    node_class: ua.NodeClass,
    attrs: object,
    typedef: ua.NodeId | None,
) -> ua.AddNodesItem:
    """An AddNodesItem: a new node under ``parent`` by a ``ref`` reference."""
    it = ua.AddNodesItem()
    it.RequestedNewNodeId = nodeid
    it.BrowseName = ua.QualifiedName(name, ns)
    it.NodeClass = node_class
    it.ParentNodeId = parent
    it.ReferenceTypeId = standard_id(ref)
    if typedef is not None:
        it.TypeDefinition = typedef
    it.NodeAttributes = attrs
    return it


def type_item(ids: NodeIds, name: str, label: str, base: ua.NodeId, variable: bool) -> ua.AddNodesItem:
    """An ObjectType (or VariableType) of the twin's namespace, a subtype of ``base``."""
    attrs: ua.VariableTypeAttributes | ua.ObjectTypeAttributes
    if variable:
        attrs = ua.VariableTypeAttributes()
        attrs.DataType = node_id(ua.ObjectIds.BaseDataType)
        attrs.ValueRank = ua.ValueRank.Scalar
    else:
        attrs = ua.ObjectTypeAttributes()
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.Description = ua.LocalizedText(label)
    attrs.IsAbstract = False
    return node_item(
        ids.type(name),
        base,
        ua.ObjectIds.HasSubtype,
        name,
        ids.ns,
        ua.NodeClass.VariableType if variable else ua.NodeClass.ObjectType,
        attrs,
        None,
    )


def type_name(iri: str) -> str:
    """The name of the OPC UA type of a class IRI: ``brick:Boiler`` -> ``brick_Boiler``."""
    return classes.compact(iri).replace(":", "_")


def type_items(
    ids: NodeIds, model: TwinModel, assets: Iterable[Asset], points: Iterable[Point], known: set[str]
) -> list[ua.AddNodesItem]:
    """ObjectTypes/VariableTypes for levels, kinds and the Brick classes in use that do not exist yet.

    A Brick class type is a subtype of the level (assets) or kind (points) type of the first node that uses it,
    so a client browsing or filtering by ``Equipment`` or ``Measurement`` finds Brick-typed nodes too (OPC UA
    types have one supertype: a class used at two levels keeps the first).
    """
    items: list[ua.AddNodesItem] = []

    def add(name: str, label: str, base: ua.NodeId, variable: bool) -> None:
        if name not in known:
            known.add(name)
            items.append(type_item(ids, name, label, base, variable))

    for level in LEVEL_TYPES:
        add(level, f"twinbridge {level.lower()} asset", node_id(ua.ObjectIds.BaseObjectType), False)
    for kind in KIND_TYPES:
        add(kind, f"twinbridge {kind.lower()} point", node_id(ua.ObjectIds.BaseDataVariableType), True)
    for a in assets:
        for c in a.classes:
            add(type_name(c), classes.label(c), ids.type(a.level.value.capitalize()), False)
    for p in points:
        for c in p.classes:
            add(type_name(c), classes.label(c), ids.type(p.kind.value.capitalize()), True)
    return items


def asset_items(ids: NodeIds, model: TwinModel, assets: Iterable[Asset]) -> list[ua.AddNodesItem]:
    """Objects for assets, parents before children (the caller passes them in hierarchy order)."""
    items = []
    for a in assets:
        attrs = ua.ObjectAttributes()
        attrs.DisplayName = ua.LocalizedText(a.label)
        attrs.Description = ua.LocalizedText(a.description or a.label)
        attrs.EventNotifier = 0
        parent = ids.asset(a.parent) if a.parent and a.parent in model.assets else ids.root()
        typedef = ids.type(type_name(a.classes[0])) if a.classes else ids.type(a.level.value.capitalize())
        items.append(
            node_item(
                ids.asset(a.id), parent, ua.ObjectIds.Organizes, a.id, ids.ns, ua.NodeClass.Object, attrs, typedef
            )
        )
    return items


def point_items(ids: NodeIds, points: Iterable[Point]) -> list[ua.AddNodesItem]:
    """Variables for points, with EngineeringUnits and EURange properties."""
    items = []
    for p in points:
        vt = variant_type(p.datatype)
        attrs = ua.VariableAttributes()
        attrs.DisplayName = ua.LocalizedText(p.label)
        attrs.Description = ua.LocalizedText(p.description or p.label)
        attrs.DataType = node_id(vt.value)
        attrs.ValueRank = ua.ValueRank.Scalar
        access = ua.AccessLevel.CurrentRead.mask | (ua.AccessLevel.CurrentWrite.mask if p.writable else 0)
        attrs.AccessLevel = access
        attrs.UserAccessLevel = access
        attrs.Historizing = False
        attrs.WriteMask = 0
        attrs.UserWriteMask = 0
        typedef = ids.type(type_name(p.classes[0])) if p.classes else ids.type(p.kind.value.capitalize())
        items.append(
            node_item(
                ids.point(p.id),
                ids.asset(p.asset),
                ua.ObjectIds.HasComponent,
                p.local_id,
                ids.ns,
                ua.NodeClass.Variable,
                attrs,
                typedef,
            )
        )
        props: list[tuple[str, ua.Variant, int]] = []
        eu = eu_information(p.unit) if p.unit else None
        if eu is not None:
            props.append(("EngineeringUnits", ua.Variant(eu), ua.ObjectIds.EUInformation))
        if p.min is not None and p.max is not None:
            rng = ua.Range()
            rng.Low, rng.High = float(p.min), float(p.max)
            props.append(("EURange", ua.Variant(rng), ua.ObjectIds.Range))
        for name, value, dtype in props:
            items.append(property_item(ids.prop(p.id, name), ids.point(p.id), name, 0, value, dtype))
    return items


def property_item(
    nodeid: ua.NodeId,
    parent: ua.NodeId,
    name: str,
    ns: int,
    value: ua.Variant,
    dtype: int,
    *,
    label: str | None = None,
    description: str | None = None,
) -> ua.AddNodesItem:
    """A read-only Property (``HasProperty``, ``PropertyType``) of ``parent``: a scalar, or an array when
    ``value`` is one."""
    pa = ua.VariableAttributes()
    pa.DisplayName = ua.LocalizedText(label or name)
    pa.Description = ua.LocalizedText(description or label or name)
    pa.DataType = standard_id(dtype)
    if value.is_array:
        pa.ValueRank = ua.ValueRank.OneDimension
        pa.ArrayDimensions = [0]  # one dimension of any length
    else:
        pa.ValueRank = ua.ValueRank.Scalar
    pa.Value = value
    pa.AccessLevel = ua.AccessLevel.CurrentRead.mask
    pa.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
    return node_item(
        nodeid,
        parent,
        ua.ObjectIds.HasProperty,
        name,
        ns,
        ua.NodeClass.Variable,
        pa,
        standard_id(ua.ObjectIds.PropertyType),
    )


def hierarchy_order(model: TwinModel, assets: Iterable[Asset]) -> list[Asset]:
    """Assets with every parent before its children."""
    chosen = {a.id: a for a in assets}
    out: list[Asset] = []
    seen: set[str] = set()

    def visit(a: Asset) -> None:
        if a.id in seen:
            return
        seen.add(a.id)
        if a.parent in chosen:
            visit(chosen[a.parent])
        out.append(a)

    for a in chosen.values():
        visit(a)
    return out
