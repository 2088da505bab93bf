"""The fast node builder produces exactly the nodes asyncua's own add_nodes produces (and the same refusals)."""

from __future__ import annotations

from typing import Any

from asyncua import Server, ua

from gateway.config.loader import load_mappings
from gateway.model import TwinModel
from gateway.northbound.opcua.address_space import NodeIds, asset_items, hierarchy_order, point_items, type_items
from gateway.northbound.opcua.fast_nodes import add_nodes_fast

MAPPING = """\
twin: {base_iri: "http://t.local/", name: plant}
sources:
  - {id: sim1, kind: sim, interval: 1s}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - id: boiler1
    type: brick:Boiler
    parent: hall
    label: Boiler 1
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float, min: 0, max: 120,
         label: Water temperature, address: {signal: sine}}
      - {id: sp, type: setpoint, unit: DEG_C, datatype: float, writable: true, min: 40, max: 90,
         address: {signal: constant, initial: 70}}
      - {id: count, type: status, unit: UNITLESS, datatype: uint32, address: {signal: counter}}
      - {id: run, type: status, datatype: bool, address: {signal: square}}
      - {id: name, type: status, datatype: string, address: {signal: constant, initial: x}}
"""


def _model() -> TwinModel:
    return load_mappings(["m.yaml"], texts={"m.yaml": MAPPING})


def _items(model: TwinModel, ns: int) -> list[ua.AddNodesItem]:
    ids = NodeIds(ns)
    root = ua.AddNodesItem()
    root.RequestedNewNodeId = ids.root()
    root.BrowseName = ua.QualifiedName("plant", ns)
    root.NodeClass = ua.NodeClass.Object
    root.ParentNodeId = ua.NodeId(ua.ObjectIds.ObjectsFolder)
    root.ReferenceTypeId = ua.NodeId(ua.ObjectIds.Organizes)
    root.TypeDefinition = ua.NodeId(ua.ObjectIds.FolderType)
    attrs = ua.ObjectAttributes()
    attrs.DisplayName = ua.LocalizedText("plant")
    root.NodeAttributes = attrs
    items = type_items(ids, model, model.assets.values(), model.points.values(), set())
    items.append(root)
    items += asset_items(ids, model, hierarchy_order(model, model.assets.values()))
    return items + point_items(ids, model.points.values())


async def _server() -> tuple[Server, int]:
    server = Server()
    await server.init()
    return server, await server.register_namespace("http://t.local/opcua")


def _snapshot(server: Server) -> dict[Any, Any]:
    """Every node: attributes (value + status, not the creation timestamps) and references in order."""
    out = {}
    for nid, node in server.iserver.aspace._nodes.items():
        attrs = {k: (v.value.Value, v.value.StatusCode) for k, v in node.attributes.items() if v.value is not None}
        refs = [
            (r.ReferenceTypeId, r.IsForward, r.NodeId, r.NodeClass, r.BrowseName, r.DisplayName, r.TypeDefinition)
            for r in node.references
        ]
        out[nid] = (attrs, refs)
    return out


async def test_same_nodes_as_asyncua_add_nodes() -> None:
    model = _model()
    reference, ns = await _server()
    fast, ns2 = await _server()
    assert ns == ns2
    expected = reference.iserver.node_mgt_service.add_nodes(_items(model, ns))
    got = add_nodes_fast(fast.iserver.aspace, _items(model, ns))
    assert [r.StatusCode for r in got] == [r.StatusCode for r in expected]
    assert all(r.StatusCode.is_good() for r in got)
    want, have = _snapshot(reference), _snapshot(fast)
    assert have.keys() == want.keys()
    # nodes of the twin's namespace entirely; the standard ones by references (their live values tick)
    diff = [
        nid
        for nid in want
        if (want[nid] if nid.NamespaceIndex == ns else want[nid][1])
        != (have[nid] if nid.NamespaceIndex == ns else have[nid][1])
    ]
    assert diff == []
    # the twin's nodes are really there: a point with its unit property under its asset
    node = have[ua.NodeId("boiler1.temp", ns)]
    assert node[0][ua.AttributeIds.DataType][0].Value == ua.NodeId(ua.ObjectIds.Float)
    assert (ua.NodeId("boiler1.temp#EngineeringUnits", ns)) in have


async def test_same_refusals_as_asyncua() -> None:
    model = _model()
    reference, ns = await _server()
    fast, _ = await _server()
    reference.iserver.node_mgt_service.add_nodes(_items(model, ns))
    add_nodes_fast(fast.iserver.aspace, _items(model, ns))

    def bad_items() -> list[ua.AddNodesItem]:
        good = _items(model, ns)
        dup = good[-1]  # node id exists
        orphan = _items(model, ns)[-1]
        orphan.RequestedNewNodeId = ua.NodeId("orphan", ns)
        orphan.ParentNodeId = ua.NodeId("nowhere", ns)
        untyped = _items(model, ns)[-1]
        untyped.RequestedNewNodeId = ua.NodeId("untyped", ns)
        untyped.ParentNodeId = ua.NodeId("boiler1", ns)
        untyped.TypeDefinition = ua.NodeId("type:nope", ns)
        twin_prop = next(i for i in _items(model, ns) if i.RequestedNewNodeId.Identifier == "boiler1.sp#EURange")
        twin_prop.RequestedNewNodeId = ua.NodeId("boiler1.sp#EURange2", ns)
        return [dup, orphan, untyped, twin_prop]

    want = [r.StatusCode for r in reference.iserver.node_mgt_service.add_nodes(bad_items())]
    got = [r.StatusCode for r in add_nodes_fast(fast.iserver.aspace, bad_items())]
    assert got == want
    assert [ua.StatusCode(c).name for c in (s.value for s in got)] == [
        "BadNodeIdExists",
        "BadParentNodeIdInvalid",
        "BadTypeDefinitionInvalid",
        "BadBrowseNameDuplicated",
    ]


async def test_shared_values_are_not_aliased_by_writes() -> None:
    """Two nodes share their constant AccessLevel DataValue; writing one leaves the other alone."""
    model = _model()
    server, ns = await _server()
    add_nodes_fast(server.iserver.aspace, _items(model, ns))
    a, b = ua.NodeId("boiler1.temp", ns), ua.NodeId("boiler1.count", ns)
    aspace = server.iserver.aspace
    assert (
        aspace[a].attributes[ua.AttributeIds.ValueRank].value is aspace[b].attributes[ua.AttributeIds.ValueRank].value
    )
    await server.write_attribute_value(a, ua.DataValue(ua.Variant(2, ua.VariantType.Int32)), ua.AttributeIds.ValueRank)
    assert aspace[a].attributes[ua.AttributeIds.ValueRank].value.Value.Value == 2
    assert aspace[b].attributes[ua.AttributeIds.ValueRank].value.Value.Value == ua.ValueRank.Scalar
