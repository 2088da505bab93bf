"""Discovery reads OPC 10000-100 (DI) nameplates from real asyncua servers: Properties of the device Object in
the DI namespace (or in any namespace on a server without it), an Identification child (Machinery style), and
drafts them as the asset's ``properties:``, which the loader accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import yaml
from asyncua import Node, Server, ua
from opcua_client_helpers import free_port

from adapters.opcua.discover import discover
from adapters.opcua.nameplate import DI_NAMESPACE
from gateway.config.loader import load_mappings
from gateway.config.properties import STANDARD
from gateway.units import CATALOG

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]
VENDOR = "urn:twinbridge:test:devices"
MANUAL = "https://example.com/manuals/p-100.pdf"


async def nameplate(obj: Node, ns: int, name_ns: int, values: dict[str, Any]) -> None:
    """Add DI nameplate Properties (BrowseNames in ``name_ns``) to ``obj``; LocalizedText for Manufacturer/Model."""
    base = (await obj.read_browse_name()).Name
    for name, value in values.items():
        text = name in ("Manufacturer", "Model") and isinstance(value, str)
        vt = ua.VariantType.Int32 if isinstance(value, int) else None
        shown = ua.LocalizedText(value) if text else value
        await obj.add_property(ua.NodeId(f"{base}.{name}", ns), ua.QualifiedName(name, name_ns), shown, vt)


async def _server(*, with_di: bool) -> Server:
    port = free_port()
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/devices/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace(VENDOR)
    di = await server.register_namespace(DI_NAMESPACE) if with_di else ns
    line = await server.nodes.objects.add_object(ua.NodeId("Line", ns), ua.QualifiedName("Line", ns))
    pump = await line.add_object(ua.NodeId("Pump", ns), ua.QualifiedName("Pump", ns))
    await pump.add_variable(ua.NodeId("Pump.Speed", ns), ua.QualifiedName("Speed", ns), 1450.0)
    plate = {
        "Manufacturer": "ACME Pumps",
        "Model": "P-100",
        "SerialNumber": "SN-0042",
        "SoftwareRevision": "2.4.1",
        "HardwareRevision": "C",
        "DeviceManual": MANUAL,
        "ProductCode": "P100-3X",
        "ManufacturerUri": "https://acme.example",
        "DeviceRevision": "7",
        "RevisionCounter": 3,
    }
    await nameplate(pump, ns, di, plate)
    # DI's names in the vendor's namespace: the nameplate only on a server without the DI namespace
    sensor = await line.add_object(ua.NodeId("Sensor", ns), ua.QualifiedName("Sensor", ns))
    await sensor.add_variable(ua.NodeId("Sensor.Value", ns), ua.QualifiedName("Value", ns), 1.0)
    await nameplate(sensor, ns, ns, {"Manufacturer": "Own Names Ltd", "Model": "internal-7"})
    # Machinery style: the nameplate on an Identification child; the device's own SerialNumber wins
    drive = await line.add_object(ua.NodeId("Drive", ns), ua.QualifiedName("Drive", ns))
    await drive.add_variable(ua.NodeId("Drive.Current", ns), ua.QualifiedName("Current", ns), 3.2)
    ident = await drive.add_object(ua.NodeId("Drive.Identification", ns), ua.QualifiedName("Identification", di))
    await nameplate(ident, ns, di, {"Manufacturer": "Drives Inc", "Model": "D7", "SerialNumber": "from-ident"})
    await nameplate(drive, ns, di, {"SerialNumber": "D7-0001", "DeviceManual": "manuals/d7.pdf"})
    # a Model of another type than DI's LocalizedText/String is left out
    valve = await line.add_object(ua.NodeId("Valve", ns), ua.QualifiedName("Valve", ns))
    await valve.add_variable(ua.NodeId("Valve.Position", ns), ua.QualifiedName("Position", ns), 40.0)
    await valve.add_property(ua.NodeId("Valve.Model", ns), ua.QualifiedName("Model", di), 17, ua.VariantType.Int32)
    await server.start()
    return server


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=[True, False], ids=["with-di", "without-di"])
async def devices(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, bool]]:
    """(url, whether the server has the DI namespace) of a server with four devices."""
    server = await _server(with_di=request.param)
    yield server.endpoint.geturl(), request.param
    await server.stop()


def _assets(text: str) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in yaml.safe_load(text)["assets"]}


async def test_nameplate_becomes_the_assets_properties(devices: tuple[str, bool]) -> None:
    text = await discover(devices[0], source_id="line1", units=CATALOG)
    assets = _assets(text)
    assert assets["Pump"]["properties"] == {
        "manufacturer": "ACME Pumps",
        "model": "P-100",
        "serial_number": "SN-0042",
        "firmware": "2.4.1",
        "hardware_version": "C",
        "documents": [MANUAL],
        "product_code": "P100-3X",
    }
    assert [p["id"] for p in assets["Pump"]["points"]] == ["Speed"]  # Properties are not points
    header = text.split("sources:")[0]
    rest = ("Pump: ManufacturerUri = 'https://acme.example'", "Pump: RevisionCounter = 3", "Pump: DeviceRevision = '7'")
    assert all(r in header for r in rest), header
    assert "Valve" in assets and "properties" not in assets["Valve"]


async def test_identification_child_is_read_into_the_device_not_drafted_as_an_asset(devices: tuple[str, bool]) -> None:
    text = await discover(devices[0], source_id="line1", units=CATALOG)
    assets = _assets(text)
    assert assets["Drive"]["properties"] == {"manufacturer": "Drives Inc", "model": "D7", "serial_number": "D7-0001"}
    assert not any(a["id"].startswith("Identification") for a in assets.values())
    assert "Drive: DeviceManual = 'manuals/d7.pdf'" in text.split("sources:")[0]  # not a web address


async def test_drafted_nameplate_loads_as_properties(devices: tuple[str, bool]) -> None:
    text = await discover(devices[0], source_id="line1", units=CATALOG)
    model = load_mappings(["draft.yaml"], texts={"draft.yaml": text}, env={})
    props = {p.key: p for p in model.assets["Pump"].properties}
    assert props["manufacturer"].value == "ACME Pumps" and props["firmware"].value == "2.4.1"
    assert props["documents"].value == (MANUAL,)
    assert props["serial_number"].predicate == STANDARD["serial_number"].predicate  # schema:serialNumber
    assert props["product_code"].value == "P100-3X"
    assert {p.key for p in model.assets["Drive"].properties} == {"manufacturer", "model", "serial_number"}
