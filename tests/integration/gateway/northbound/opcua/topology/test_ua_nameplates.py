"""Static properties as an OPC UA client reads them: nameplate Properties and rated quantities with their unit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asyncua import Client, ua

from tests.integration.gateway.northbound.opcua.topology.conftest import MANUAL, browse, ns_of

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

KWT = ord("K") << 16 | ord("W") << 8 | ord("T")  # UNECE common code of kW packed as OPC UA Part 8 says
MTK = ord("M") << 16 | ord("T") << 8 | ord("K")  # m²


async def _children(c: Client, node: ua.NodeId, ref: int) -> dict[str, ua.ReferenceDescription]:
    refs = await browse(c, node, ua.NodeId(ref), ua.BrowseDirection.Forward)
    return {r.BrowseName.Name: r for r in refs}


async def test_the_boilers_nameplate_is_a_set_of_properties(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    props = await _children(ua_client, ua.NodeId("boiler1", ns), ua.ObjectIds.HasProperty)
    assert set(props) == {"Manufacturer", "SerialNumber", "InstallDate", "Documents", "WarrantyEnd", "InputSubstance"}
    maker = ua_client.get_node(props["Manufacturer"].NodeId)
    assert maker.nodeid == ua.NodeId("boiler1#Manufacturer", ns)
    assert props["Manufacturer"].TypeDefinition == ua.NodeId(ua.ObjectIds.PropertyType)
    assert await maker.read_value() == "Viessmann"
    assert await maker.read_data_type() == ua.NodeId(ua.ObjectIds.String)
    assert (await maker.read_display_name()).Text == "Manufacturer"
    assert (await maker.read_description()).Text == "schema:manufacturer"  # the standard term behind it
    serial = ua_client.get_node(props["SerialNumber"].NodeId)
    assert (await serial.read_display_name()).Text == "Serial number" and await serial.read_value() == "7143-22-0012"


async def test_dates_are_datetimes_and_documents_a_string_array(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    installed = ua_client.get_node(ua.NodeId("boiler1#InstallDate", ns))
    assert await installed.read_data_type() == ua.NodeId(ua.ObjectIds.DateTime)
    assert (await installed.read_value()).replace(tzinfo=UTC) == datetime(2019, 5, 14, tzinfo=UTC)
    warranty = ua_client.get_node(ua.NodeId("boiler1#WarrantyEnd", ns))  # the integrator's own key, ex:warrantyEnd
    assert (await warranty.read_value()).replace(tzinfo=UTC) == datetime(2027, 1, 1, tzinfo=UTC)
    assert (await warranty.read_display_name()).Text == "Warranty end"
    assert (await warranty.read_description()).Text == "ex:warrantyEnd"  # under the mapping's own prefix
    docs = ua_client.get_node(ua.NodeId("boiler1#Documents", ns))
    assert await docs.read_value() == [MANUAL]
    assert await docs.read_data_type() == ua.NodeId(ua.ObjectIds.String)
    assert await docs.read_value_rank() == ua.ValueRank.OneDimension


async def test_rated_power_is_a_double_in_kilowatt_with_its_engineering_units(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    components = await _children(ua_client, ua.NodeId("boiler1", ns), ua.ObjectIds.HasComponent)
    rated = components["RatedPower"]
    assert rated.NodeId == ua.NodeId("boiler1#RatedPower", ns)
    assert rated.TypeDefinition == ua.NodeId(ua.ObjectIds.AnalogUnitType)
    node = ua_client.get_node(rated.NodeId)
    assert await node.read_value() == 40.0
    assert await node.read_data_type() == ua.NodeId(ua.ObjectIds.Double)
    assert (await node.read_display_name()).Text == "Rated power"
    assert (await node.read_description()).Text == "brick:ratedPowerOutput"
    (eu_node,) = await node.get_properties()
    assert (await eu_node.read_browse_name()) == ua.QualifiedName("EngineeringUnits", 0)
    eu = await eu_node.read_value()
    assert isinstance(eu, ua.EUInformation)
    assert eu.UnitId == KWT and eu.DisplayName.Text == "kW"
    assert eu.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
    assert eu.Description.Text == "Kilowatt"


async def test_points_and_locations_carry_properties_too(ua_client: Client) -> None:
    ns = await ns_of(ua_client)
    sensor = ua_client.get_node(ua.NodeId("rs1.hall_temp", ns))
    names = {(await p.read_browse_name()).Name: p for p in await sensor.get_properties()}
    assert set(names) == {"EngineeringUnits", "Manufacturer"}  # the point's own unit, then its nameplate
    assert await names["Manufacturer"].read_value() == "Sensirion"
    year = ua_client.get_node(ua.NodeId("location:hq#YearBuilt", ns))
    assert await year.read_value() == 1998
    assert await year.read_data_type() == ua.NodeId(ua.ObjectIds.Int64)
    assert (await year.read_description()).Text == "brick:yearBuilt"
    area = ua_client.get_node(ua.NodeId("location:hq#GrossArea", ns))
    assert await area.read_value() == 1200.0
    eu = await ua_client.get_node(ua.NodeId("location:hq#GrossArea#EngineeringUnits", ns)).read_value()
    assert eu.UnitId == MTK and eu.DisplayName.Text == "m²"
