"""Topology nodes and references built fast are exactly what asyncua's add_nodes and add_references make."""

from __future__ import annotations

from typing import Any

import pytest
from asyncua import Server, ua
from asyncua.server.address_space import NodeManagementService

from gateway.config.loader import load_mappings
from gateway.model import TwinModel
from gateway.northbound.opcua import topology as topology_module
from gateway.northbound.opcua.address_space import NodeIds, asset_items, hierarchy_order, point_items, type_items
from gateway.northbound.opcua.fast_nodes import add_nodes_fast, add_references_fast
from gateway.northbound.opcua.topology import Topology
from tests.integration.gateway.northbound.opcua.topology.conftest import PLANT

HEADER = 'twin: {base_iri: "http://t.local/", name: plant}\n'


def _model() -> TwinModel:
    return load_mappings(["m.yaml"], texts={"m.yaml": HEADER + PLANT})


def _root(ids: NodeIds) -> ua.AddNodesItem:
    root = ua.AddNodesItem()
    root.RequestedNewNodeId, root.BrowseName = ids.root(), ua.QualifiedName("plant", ids.ns)
    root.NodeClass, root.ParentNodeId = ua.NodeClass.Object, ua.NodeId(ua.ObjectIds.ObjectsFolder)
    root.ReferenceTypeId = ua.NodeId(ua.ObjectIds.Organizes)
    root.TypeDefinition = ua.NodeId(ua.ObjectIds.FolderType)
    root.NodeAttributes = ua.ObjectAttributes(DisplayName=ua.LocalizedText("plant"))
    return root


async def _build(model: TwinModel, *, fast: bool) -> tuple[Server, int]:
    """A server with the twin's nodes and topology, built like the service does (or with asyncua's calls)."""
    server = Server()
    await server.init()
    ns = await server.register_namespace("http://t.local/opcua")
    ids, known = NodeIds(ns), set[str]()
    assets, points = list(model.assets.values()), list(model.points.values())
    topo = Topology(ids)
    batch = topo.batch(model, assets, points, known)
    items = [*type_items(ids, model, assets, points, known), *batch.types, _root(ids)]
    items += asset_items(ids, model, hierarchy_order(model, assets)) + point_items(ids, points) + batch.nodes
    aspace = server.iserver.aspace
    with pytest.MonkeyPatch.context() as mp:
        if fast:
            results = add_nodes_fast(aspace, items)
        else:
            results = server.iserver.node_mgt_service.add_nodes(items)
            mp.setattr(
                topology_module, "add_references_fast", lambda a, refs: NodeManagementService(a).add_references(refs)
            )
        topo.link(aspace, batch)
    assert all(r.StatusCode.is_good() for r in results)
    return server, ns


def _snapshot(server: Server) -> dict[Any, Any]:
    out = {}
    for nid, node in server.iserver.aspace._nodes.items():
        attrs = {k: (v.value.Value, v.value.StatusCode) for k, v in node.attributes.items() if v.value is not None}
        refs = [
            (r.ReferenceTypeId, r.IsForward, r.NodeId, r.NodeClass, r.BrowseName, r.DisplayName, r.TypeDefinition)
            for r in node.references
        ]
        out[nid] = (attrs, refs)
    return out


async def test_same_topology_and_refusals_as_asyncua() -> None:
    model = _model()
    reference, ns = await _build(model, fast=False)
    fast, _ = await _build(model, fast=True)
    want, have = _snapshot(reference), _snapshot(fast)
    assert have.keys() == want.keys()
    diff = [
        nid
        for nid in want
        if (want[nid] if nid.NamespaceIndex == ns else want[nid][1])
        != (have[nid] if nid.NamespaceIndex == ns else have[nid][1])
    ]
    assert diff == []
    # the topology is really there: a two-way Feeds reference and a reference type under NonHierarchicalReferences
    feeds = ua.NodeId("reftype:Feeds", ns)
    boiler = [(r[0], r[1], r[2]) for r in have[ua.NodeId("boiler1", ns)][1]]
    ahu = [(r[0], r[1], r[2]) for r in have[ua.NodeId("ahu1", ns)][1]]
    assert (feeds, True, ua.NodeId("ahu1", ns)) in boiler and (feeds, False, ua.NodeId("boiler1", ns)) in ahu
    subtypes = have[ua.NodeId(ua.ObjectIds.NonHierarchicalReferences)][1]
    assert any(r[2] == feeds and r[0] == ua.NodeId(ua.ObjectIds.HasSubtype) for r in subtypes)

    # and the same refusals
    def refs() -> list[ua.AddReferencesItem]:
        out = []
        for source, target in [("nowhere", "boiler1"), ("boiler1", "nowhere"), ("valve1", "boiler1")]:
            item = ua.AddReferencesItem()
            item.SourceNodeId, item.TargetNodeId = ua.NodeId(source, ns), ua.NodeId(target, ns)
            item.ReferenceTypeId, item.IsForward = ua.NodeId("reftype:ConnectedTo", ns), True
            out.append(item)
        return out

    want = reference.iserver.node_mgt_service.add_references(refs())
    got = add_references_fast(fast.iserver.aspace, refs())
    assert got == want
    assert [c.name for c in got] == ["BadSourceNodeIdInvalid", "BadTargetNodeIdInvalid", "Good"]


async def test_a_reference_to_a_node_added_later_waits_for_it() -> None:
    model = _model()
    server = Server()
    await server.init()
    ids = NodeIds(await server.register_namespace("http://t.local/opcua"))
    topo = Topology(ids)
    boiler, ahu = model.assets["boiler1"], model.assets["ahu1"]
    known: set[str] = set()
    first = topo.batch(model, [boiler], [], known)  # the boiler feeds an AHU the server does not have yet
    items = [*type_items(ids, model, [boiler, ahu], [], known), *first.types, _root(ids)]
    add_nodes_fast(server.iserver.aspace, items + asset_items(ids, model, [model.assets["site"], boiler]))
    topo.link(server.iserver.aspace, first)
    assert not any(r.NodeId == ids.asset("ahu1") for r in server.iserver.aspace[ids.asset("boiler1")].references)
    later = topo.batch(model, [ahu], [], known)
    add_nodes_fast(server.iserver.aspace, later.types + asset_items(ids, model, [model.assets["hall"], ahu]))
    topo.link(server.iserver.aspace, later)
    refs = server.iserver.aspace[ids.asset("boiler1")].references
    assert [r.IsForward for r in refs if r.NodeId == ids.asset("ahu1")] == [True]
