"""The location tree in OPC UA: a Locations folder to browse down to a room, and what is located there."""

from __future__ import annotations

import pytest
from asyncua import Client, ua

from adapters.contract.model import (
    Asset,
    AssetLevel,
    DataType,
    Location,
    Point,
    PointKind,
    Property,
    Relation,
    TargetKind,
)
from adapters.sim.config import SimAddress
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.topology.conftest import BRICK, browse, ids, ns_of

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

HAS_SUBTYPE = ua.NodeId(ua.ObjectIds.HasSubtype)
ORGANIZES = ua.NodeId(ua.ObjectIds.Organizes)


async def _child(c: Client, node: ua.NodeId, name: str) -> ua.NodeId:
    """The child organized under ``node`` whose browse name is ``name``."""
    refs = await browse(c, node, ORGANIZES, ua.BrowseDirection.Forward)
    (found,) = [r.NodeId for r in refs if r.BrowseName.Name == name]
    return found


async def test_the_locations_folder_browses_down_to_a_room(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    root = ua.NodeId("twin", ns)
    folder = await _child(ua_client, root, "Locations")
    assert folder == ua.NodeId("folder:Locations", ns)
    assert await ua_client.get_node(folder).read_type_definition() == ua.NodeId(ua.ObjectIds.FolderType)
    tops = await browse(ua_client, folder, ORGANIZES, ua.BrowseDirection.Forward)
    assert {r.BrowseName.Name for r in tops} == {"plant"}
    node = folder
    for name in ("plant", "hq", "hq-f1", "hq-f1-hall"):
        node = await _child(ua_client, node, name)
    assert node == ua.NodeId("location:hq-f1-hall", ns)
    room = ua_client.get_node(node)
    assert (await room.read_display_name()).Text == "Hall"
    floor = await browse(ua_client, ua.NodeId("location:hq-f1", ns), ORGANIZES, ua.BrowseDirection.Forward)
    assert ids(floor) == {"location:hq-f1-hall", "location:boilerroom"}
    # the asset tree is untouched: the site is still the root's first child
    assert (await ua_client.get_node(root).get_children())[0].nodeid == ua.NodeId("site", ns)


async def test_locations_are_typed_by_their_brick_class_under_location(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    room_type = await ua_client.get_node(ua.NodeId("location:boilerroom", ns)).read_type_definition()
    assert room_type == ua.NodeId("type:brick_Room", ns)  # the first class
    (base,) = await browse(ua_client, room_type, HAS_SUBTYPE, ua.BrowseDirection.Inverse)
    assert base.NodeId == ua.NodeId("type:Location", ns)
    outside = await ua_client.get_node(ua.NodeId("location:outside", ns)).read_type_definition()
    assert outside == ua.NodeId("type:brick_Outside", ns)


async def test_a_rooms_has_location_inverse_lists_its_sensors(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    has_location = ua.NodeId("reftype:HasLocation", ns)
    hall = ua.NodeId("location:hq-f1-hall", ns)
    located = await browse(ua_client, hall, has_location, ua.BrowseDirection.Inverse)
    assert ids(located) == {"rs1.hall_temp", "rs1.hall_hum"}
    assert all(r.NodeClass == ua.NodeClass.Variable and not r.IsForward for r in located)
    # a point without a location of its own is where its asset is (as in the twin's graph)
    lab = await browse(ua_client, ua.NodeId("location:hq-f2-lab", ns), has_location, ua.BrowseDirection.Inverse)
    assert ids(lab) == {"vav1", "vav1.damper", "rs1.lab_temp"}
    boilerroom = ua.NodeId("location:boilerroom", ns)
    assert ids(await browse(ua_client, boilerroom, has_location, ua.BrowseDirection.Inverse)) == {
        "boiler1",
        "boiler1.temp",
    }
    (where,) = await browse(ua_client, ua.NodeId("ahu1.oat", ns), has_location, ua.BrowseDirection.Forward)
    assert where.NodeId == ua.NodeId("location:outside", ns) and where.BrowseName.Name == "outside"


async def test_what_is_added_at_run_time_is_placed_and_related(ua_client: Client, plant: Gateway) -> None:
    ns = await ns_of(ua_client)
    store = Location("hq-f2-store", (BRICK + "Storage_Room",), "Store", parent="hq-f2")
    hood = Asset(
        "hood1",
        AssetLevel.EQUIPMENT,
        (BRICK + "Exhaust_Fan",),
        "Fume hood",
        parent="hall",
        location="hq-f2-store",
        relations=(Relation(BRICK + "feeds", "outside", TargetKind.LOCATION, "Feeds", BRICK + "isFedBy", "IsFedBy"),),
        properties=(Property("manufacturer", "http://schema.org/manufacturer", "Waldner", "Manufacturer"),),
    )
    fan = Point(
        "hood1.speed",
        "hood1",
        PointKind.MEASUREMENT,
        DataType.DOUBLE,
        "sim1",
        SimAddress(signal="constant", initial=1.0),
        "Fan speed",
    )
    plant.twin.add([hood], [fan], [store])
    hood_node = ua.NodeId("hood1", ns)
    await wait_for(lambda: hood_node in plant.services["opcua"].server.iserver.aspace)  # type: ignore[attr-defined]
    floor = await browse(ua_client, ua.NodeId("location:hq-f2", ns), ORGANIZES, ua.BrowseDirection.Forward)
    assert ids(floor) == {"location:hq-f2-lab", "location:hq-f2-store"}
    room_type = await ua_client.get_node(ua.NodeId("location:hq-f2-store", ns)).read_type_definition()
    assert room_type == ua.NodeId("type:brick_Storage_Room", ns)
    store_node, has_location = ua.NodeId("location:hq-f2-store", ns), ua.NodeId("reftype:HasLocation", ns)
    here = await browse(ua_client, store_node, has_location, ua.BrowseDirection.Inverse)
    assert ids(here) == {"hood1", "hood1.speed"}
    fed = await browse(ua_client, hood_node, ua.NodeId("reftype:Feeds", ns), ua.BrowseDirection.Forward)
    assert ids(fed) == {"location:outside"}
    assert await ua_client.get_node(ua.NodeId("hood1#Manufacturer", ns)).read_value() == "Waldner"
