"""A gateway whose twin has a location tree, relations and nameplates, with the OPC UA server on a free port.

The plant (locations | assets and where they are; points are where their asset is unless they say otherwise):

    plant (site)                      boiler1 @boilerroom  feeds ahu1; hasInputSubstance brick:Natural_Gas;
      hq (building, 1998, 1200 m2)                         ex:maintainedBy crew1 (declared, inverse ex:maintains)
        hq-f1 (floor)                 ahu1 @hq-f2          controls vav1; point oat @outside
          hq-f1-hall (room)           vav1 @hq-f2-lab      isFedBy ahu1
            isFedBy ahu1              rs1 (nowhere)        points hall_temp, hall_hum @hq-f1-hall, lab_temp @hq-f2-lab
          boilerroom (room)           valve1, valve2       connectedTo (symmetric), declared on valve1
        hq-f2 (floor)
          hq-f2-lab (room)
      outside (outside)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.conftest import NS_URI, client, endpoint, opcua_section, twin_header

BRICK = "https://brickschema.org/schema/Brick#"
MANUAL = "https://example.com/manual.pdf"

PLANT = """\
prefixes: {ex: "http://example.com/plant#"}
relation_types:
  - {id: "ex:maintainedBy", inverse: "ex:maintains", label: "Maintained by"}
sources:
  - {id: sim1, kind: sim, interval: 50ms}
locations:
  - {id: plant, type: site, label: Demo plant}
  - {id: hq, type: building, parent: plant, label: HQ, properties: {year_built: 1998, gross_area: 1200 M2}}
  - {id: hq-f1, type: floor, parent: hq, label: Ground floor}
  - {id: hq-f1-hall, type: room, parent: hq-f1, label: Hall, relations: {isFedBy: ahu1}}
  - {id: boilerroom, type: [room, brick:Mechanical_Room], parent: hq-f1, label: Boiler room}
  - {id: hq-f2, type: floor, parent: hq, label: First floor}
  - {id: hq-f2-lab, type: room, parent: hq-f2, label: Lab}
  - {id: outside, type: outside, parent: plant, label: Outside}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - {id: crew1, type: equipment, parent: site, label: Maintenance crew}
  - id: boiler1
    type: brick:Boiler
    parent: site
    label: Boiler 1
    source: sim1
    location: boilerroom
    relations:
      feeds: ahu1
      hasInputSubstance: brick:Natural_Gas
      "ex:maintainedBy": crew1
    properties:
      manufacturer: Viessmann
      serial_number: "7143-22-0012"
      install_date: 2019-05-14
      documents: ["https://example.com/manual.pdf"]
      rated_power: 40 kW
      "ex:warrantyEnd": 2027-01-01
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 71.5}}
  - id: ahu1
    type: brick:AHU
    parent: hall
    label: AHU 1
    source: sim1
    location: hq-f2
    relations: {controls: vav1}
    points:
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 18}}
      - {id: oat, class: brick:Outside_Air_Temperature_Sensor, unit: DEG_C, datatype: float, location: outside,
         address: {signal: constant, initial: 7}}
  - id: vav1
    type: brick:VAV
    parent: hall
    label: VAV 1
    source: sim1
    location: hq-f2-lab
    relations: {isFedBy: ahu1}
    points:
      - {id: damper, type: command, class: brick:Damper_Position_Command, unit: PERCENT, datatype: float,
         address: {signal: constant, initial: 40}}
  - id: rs1
    type: equipment
    parent: hall
    label: Room sensors
    source: sim1
    points:
      - {id: hall_temp, class: brick:Air_Temperature_Sensor, unit: DEG_C, datatype: float, location: hq-f1-hall,
         properties: {manufacturer: Sensirion}, address: {signal: constant, initial: 21}}
      - {id: hall_hum, class: brick:Relative_Humidity_Sensor, unit: PERCENT_RH, datatype: float, location: hq-f1-hall,
         address: {signal: constant, initial: 45}}
      - {id: lab_temp, class: brick:Air_Temperature_Sensor, unit: DEG_C, datatype: float, location: hq-f2-lab,
         address: {signal: constant, initial: 22}}
  - {id: valve1, type: brick:Check_Valve, parent: hall, label: Valve 1, relations: {connectedTo: valve2}}
  - {id: valve2, type: brick:Check_Valve, parent: hall, label: Valve 2}
"""


def mapping(pki: Path) -> str:
    """The plant's mapping text with an OPC UA server (user ``op``)."""
    return twin_header("plant") + opcua_section(pki) + PLANT


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """The plant, started; one per test module."""
    gw = Gateway(load_mappings(["plant.yaml"], texts={"plant.yaml": mapping(tmp_path_factory.mktemp("pki"))}))
    await gw.start()
    try:
        await wait_for(lambda: gw.twin.state("boiler1.temp").value == 71.5)
        yield gw
    finally:
        await gw.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def ua_client(plant: Gateway) -> AsyncIterator[Client]:
    """A connected asyncua client (operator ``op``)."""
    async with client(endpoint(plant)) as c:
        yield c


async def ns_of(c: Client) -> int:
    """The twin's namespace index, looked up by URI."""
    return await c.get_namespace_index(NS_URI)


async def browse(
    c: Client, node: ua.NodeId, ref: ua.NodeId, direction: ua.BrowseDirection, *, subtypes: bool = False
) -> list[ua.ReferenceDescription]:
    """The references of ``node`` of type ``ref`` in ``direction`` (one Browse request, as a SCADA client sends)."""
    desc = ua.BrowseDescription()
    desc.NodeId, desc.ReferenceTypeId, desc.BrowseDirection = node, ref, direction
    desc.IncludeSubtypes = subtypes
    desc.ResultMask = ua.BrowseResultMask.All
    params = ua.BrowseParameters()
    params.NodesToBrowse = [desc]
    (result,) = await c.uaclient.browse(params)
    assert result.StatusCode.is_good(), result.StatusCode
    return list(result.References)


def ids(refs: list[ua.ReferenceDescription]) -> set[str]:
    """The string identifiers of the nodes references point to."""
    return {str(r.NodeId.Identifier) for r in refs}
