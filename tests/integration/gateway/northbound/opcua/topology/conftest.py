"""A gateway whose twin has a location tree, relations and nameplates, with the OPC UA server on a free port.

The plant (locations | assets and where they are):

    plant (site)                      boiler1 @boilerroom  feeds ahu1; hasInputSubstance brick:Natural_Gas
      hq (building, year_built 1998)  ahu1 @hq-f2          feeds hq-f1-hall   points sat, oat @outside
        hq-f1 (floor)                 vav1 @hq-f2-lab      isFedBy ahu1; feeds hq-f2-lab   point damper
          hq-f1-hall (room)                                  (damper controls vav1)
          boilerroom (room)           rs1 (nowhere)        points hall_temp, hall_hum @hq-f1-hall,
        hq-f2 (floor)                                             lab_temp @hq-f2-lab
          hq-f2-lab (room)            pipe1, pipe2 (valves) connectedTo each other (both ends declare it)
      outside (outside)
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from adapters.contract.model import Location, Property, Relation, TargetKind
from gateway.config.loader import load_mappings
from gateway.model import TwinModel
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.conftest import NS_URI, client, endpoint, opcua_section, twin_header

BRICK = "https://brickschema.org/schema/Brick#"
TB = "https://w3id.org/twinbridge#"
SCHEMA = "http://schema.org/"
RDFS_SEE_ALSO = "http://www.w3.org/2000/01/rdf-schema#seeAlso"
MANUAL = "https://example.com/manual.pdf"

ASSETS = """\
sources:
  - {id: sim1, kind: sim, interval: 50ms}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - id: boiler1
    type: brick:Boiler
    parent: site
    label: Boiler 1
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 71.5}}
  - id: ahu1
    type: brick:AHU
    parent: hall
    label: AHU 1
    source: sim1
    points:
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 18}}
      - {id: oat, class: brick:Outside_Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 7}}
  - id: vav1
    type: brick:VAV
    parent: hall
    label: VAV 1
    source: sim1
    points:
      - {id: damper, type: command, class: brick:Damper_Position_Command, unit: PERCENT, datatype: float,
         address: {signal: constant, initial: 40}}
  - id: rs1
    type: equipment
    parent: hall
    label: Room sensors
    source: sim1
    points:
      - {id: hall_temp, class: brick:Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 21}}
      - {id: hall_hum, class: brick:Relative_Humidity_Sensor, unit: PERCENT_RH, datatype: float,
         address: {signal: constant, initial: 45}}
      - {id: lab_temp, class: brick:Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 22}}
  - {id: pipe1, type: brick:Check_Valve, parent: hall, label: Valve 1}
  - {id: pipe2, type: brick:Check_Valve, parent: hall, label: Valve 2}
"""


def mapping(pki: Path) -> str:
    """The plant's mapping text with an OPC UA server (user ``op``)."""
    return twin_header("plant") + opcua_section(pki) + ASSETS


def rel(predicate: str, target: str, kind: TargetKind, inverse: str | None) -> Relation:
    """A relation as the loader makes it (OPC UA names from the IRIs' local names)."""

    def name(iri: str) -> str:
        local = iri.rsplit("#", 1)[-1]
        return local[0].upper() + local[1:]

    return Relation(predicate, target, kind, name(predicate), inverse, name(inverse) if inverse else None)


def feeds(target: str, kind: TargetKind) -> Relation:
    """``brick:feeds`` ``target``."""
    return rel(BRICK + "feeds", target, kind, BRICK + "isFedBy")


def place(model: TwinModel) -> None:
    """The topology the loader does not read yet, set on the loaded model."""
    for lid, classes, label, parent in [
        ("plant", (BRICK + "Site",), "Demo plant", None),
        ("hq", (BRICK + "Building",), "HQ", "plant"),
        ("hq-f1", (BRICK + "Floor",), "Ground floor", "hq"),
        ("hq-f1-hall", (BRICK + "Room",), "Hall", "hq-f1"),
        ("boilerroom", (BRICK + "Room", BRICK + "Mechanical_Room"), "Boiler room", "hq-f1"),
        ("hq-f2", (BRICK + "Floor",), "First floor", "hq"),
        ("hq-f2-lab", (BRICK + "Room",), "Lab", "hq-f2"),
        ("outside", (BRICK + "Outside",), "Outside", "plant"),
    ]:
        model.locations[lid] = Location(lid, classes, label, parent)
    year = Property("year_built", BRICK + "yearBuilt", 1998, "Year built")
    model.locations["hq"] = dataclasses.replace(model.locations["hq"], properties=(year,))
    a, p = model.assets, model.points
    a["boiler1"] = dataclasses.replace(
        a["boiler1"],
        location="boilerroom",
        relations=(
            feeds("ahu1", TargetKind.ASSET),
            rel(BRICK + "hasInputSubstance", BRICK + "Natural_Gas", TargetKind.TERM, None),
        ),
        properties=(
            Property("manufacturer", SCHEMA + "manufacturer", "Viessmann", "Manufacturer"),
            Property("serial_number", SCHEMA + "serialNumber", "7143-22-0012", "Serial number"),
            Property("install_date", TB + "installDate", datetime.date(2019, 5, 14), "Install date"),
            Property("documents", RDFS_SEE_ALSO, (MANUAL,), "Documents"),
            Property("rated_power", BRICK + "ratedPowerOutput", 40.0, "Rated power", unit="KiloW"),
        ),
    )
    a["ahu1"] = dataclasses.replace(a["ahu1"], location="hq-f2", relations=(feeds("hq-f1-hall", TargetKind.LOCATION),))
    a["vav1"] = dataclasses.replace(
        a["vav1"],
        location="hq-f2-lab",
        relations=(rel(BRICK + "isFedBy", "ahu1", TargetKind.ASSET, BRICK + "feeds"),),
    )
    connected = BRICK + "connectedTo"
    a["pipe1"] = dataclasses.replace(a["pipe1"], relations=(rel(connected, "pipe2", TargetKind.ASSET, connected),))
    a["pipe2"] = dataclasses.replace(a["pipe2"], relations=(rel(connected, "pipe1", TargetKind.ASSET, connected),))
    p["ahu1.oat"] = dataclasses.replace(p["ahu1.oat"], location="outside")
    p["vav1.damper"] = dataclasses.replace(
        p["vav1.damper"], relations=(rel(TB + "controls", "vav1", TargetKind.ASSET, TB + "isControlledBy"),)
    )
    for pid, room in [("rs1.hall_temp", "hq-f1-hall"), ("rs1.hall_hum", "hq-f1-hall"), ("rs1.lab_temp", "hq-f2-lab")]:
        p[pid] = dataclasses.replace(p[pid], location=room)
    p["rs1.hall_temp"] = dataclasses.replace(
        p["rs1.hall_temp"],
        properties=(Property("manufacturer", SCHEMA + "manufacturer", "Sensirion", "Manufacturer"),),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """The plant, started; one per test module."""
    model = load_mappings(["plant.yaml"], texts={"plant.yaml": mapping(tmp_path_factory.mktemp("pki"))})
    place(model)
    gw = Gateway(model)
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
