"""Relations as OPC UA references: a SCADA client follows ``Feeds`` from the boiler, and back by IsFedBy."""

from __future__ import annotations

import pytest
from asyncua import Client, ua

from gateway.runtime import Gateway
from tests.integration.gateway.northbound.opcua.topology.conftest import browse, ids, ns_of

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

FORWARD, INVERSE = ua.BrowseDirection.Forward, ua.BrowseDirection.Inverse
NON_HIERARCHICAL = ua.NodeId(ua.ObjectIds.NonHierarchicalReferences)


async def _reference_types(c: Client) -> dict[str, ua.NodeId]:
    """The twin's reference types, found as a client finds them: subtypes of NonHierarchicalReferences."""
    ns = await ns_of(c)
    subtypes = await browse(c, NON_HIERARCHICAL, ua.NodeId(ua.ObjectIds.HasSubtype), FORWARD)
    return {r.BrowseName.Name: r.NodeId for r in subtypes if r.NodeId.NamespaceIndex == ns}


async def test_every_relation_in_use_is_a_reference_type_named_after_it(ua_client: Client) -> None:
    types = await _reference_types(ua_client)
    # isFedBy is Feeds seen from the other end; ex:maintainedBy is Maintains seen from the other end
    assert set(types) == {"Feeds", "HasLocation", "Controls", "ConnectedTo", "Maintains"}
    expected = {
        "Feeds": ("IsFedBy", False),
        "HasLocation": ("IsLocationOf", False),
        "Controls": ("IsControlledBy", False),
        "ConnectedTo": (None, True),
        "Maintains": ("Maintained by", False),  # the mapping's label
    }
    for name, (inverse, symmetric) in expected.items():
        node = ua_client.get_node(types[name])
        assert await node.read_node_class() == ua.NodeClass.ReferenceType
        inv = await node.read_attribute(ua.AttributeIds.InverseName, raise_on_bad_status=False)
        if symmetric:  # a symmetric type has no InverseName attribute
            assert inv.StatusCode.value == ua.StatusCodes.BadAttributeIdInvalid
        else:
            assert inv.Value.Value.Text == inverse
        assert (await node.read_attribute(ua.AttributeIds.Symmetric)).Value.Value is symmetric
        assert (await node.read_attribute(ua.AttributeIds.IsAbstract)).Value.Value is False
    assert (await ua_client.get_node(types["Feeds"]).read_description()).Text == "brick:feeds"


async def test_a_client_follows_feeds_from_the_boiler_to_the_ahu_and_on(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    feeds = (await _reference_types(ua_client))["Feeds"]
    boiler = ua.NodeId("boiler1", ns)
    (to_ahu,) = await browse(ua_client, boiler, feeds, FORWARD)
    assert to_ahu.NodeId == ua.NodeId("ahu1", ns) and to_ahu.IsForward
    assert to_ahu.ReferenceTypeId == feeds and to_ahu.BrowseName.Name == "ahu1"
    assert to_ahu.TypeDefinition == ua.NodeId("type:brick_AHU", ns)
    # the AHU feeds a VAV and a room, both of which declared it from their own end (isFedBy ahu1)
    onward = await browse(ua_client, to_ahu.NodeId, feeds, FORWARD)
    assert ids(onward) == {"location:hq-f1-hall", "vav1"}
    # nothing but the boiler's own references without the type filter's subtypes
    assert await browse(ua_client, boiler, feeds, INVERSE) == []


async def test_the_inverse_browse_is_fed_by(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    feeds = (await _reference_types(ua_client))["Feeds"]
    (from_boiler,) = await browse(ua_client, ua.NodeId("ahu1", ns), feeds, INVERSE)
    assert from_boiler.NodeId == ua.NodeId("boiler1", ns) and not from_boiler.IsForward
    inverse_name = await ua_client.get_node(feeds).read_attribute(ua.AttributeIds.InverseName)
    assert inverse_name.Value.Value.Text == "IsFedBy"
    (fed_by,) = await browse(ua_client, ua.NodeId("vav1", ns), feeds, INVERSE)
    assert fed_by.NodeId == ua.NodeId("ahu1", ns)
    room = await browse(ua_client, ua.NodeId("location:hq-f1-hall", ns), feeds, INVERSE)
    assert ids(room) == {"ahu1"}


async def test_relations_are_found_under_non_hierarchical_references_with_subtypes(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    types = await _reference_types(ua_client)
    refs = await browse(ua_client, ua.NodeId("vav1", ns), NON_HIERARCHICAL, ua.BrowseDirection.Both, subtypes=True)
    named = {(r.ReferenceTypeId, r.NodeId.Identifier, r.IsForward) for r in refs}
    # IsFedBy ahu1, IsControlledBy ahu1, HasLocation the lab, IsLocationOf nothing (a VAV is not a place)
    assert {
        (types["Feeds"], "ahu1", False),
        (types["Controls"], "ahu1", False),
        (types["HasLocation"], "location:hq-f2-lab", True),
    } <= named


async def test_a_declared_relation_is_named_by_its_labels(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    maintains = (await _reference_types(ua_client))["Maintains"]
    (crew,) = await browse(ua_client, ua.NodeId("boiler1", ns), maintains, INVERSE)
    assert crew.NodeId == ua.NodeId("crew1", ns)
    (boiler,) = await browse(ua_client, ua.NodeId("crew1", ns), maintains, FORWARD)
    assert boiler.NodeId == ua.NodeId("boiler1", ns)
    description = await ua_client.get_node(maintains).read_description()
    assert description.Text == "ex:maintains"  # under the mapping's own prefix


async def test_a_symmetric_relation_is_a_forward_reference_at_both_ends(
    ua_client: Client,
) -> None:
    ns = await ns_of(ua_client)
    connected = (await _reference_types(ua_client))["ConnectedTo"]
    one = await browse(ua_client, ua.NodeId("valve1", ns), connected, ua.BrowseDirection.Both)
    two = await browse(ua_client, ua.NodeId("valve2", ns), connected, ua.BrowseDirection.Both)
    assert [(r.NodeId.Identifier, r.IsForward) for r in one] == [("valve2", True)]
    assert [(r.NodeId.Identifier, r.IsForward) for r in two] == [("valve1", True)]


async def test_a_vocabulary_term_target_is_a_string_property(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    node = ua_client.get_node(ua.NodeId("boiler1#InputSubstance", ns))
    assert await node.read_value() == "Natural_Gas"
    assert (await node.read_description()).Text == "brick:hasInputSubstance"
    assert await node.read_type_definition() == ua.NodeId(ua.ObjectIds.PropertyType)


async def test_reference_types_precede_the_nodes_that_use_them(plant: Gateway) -> None:
    aspace = plant.services["opcua"].server.iserver.aspace  # type: ignore[attr-defined]
    order = [str(n.Identifier) for n in aspace._nodes if isinstance(n.Identifier, str)]
    assert order.index("reftype:Feeds") < order.index("twin") < order.index("boiler1")
