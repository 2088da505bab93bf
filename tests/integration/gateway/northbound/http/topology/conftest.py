"""A gateway whose twin has a location tree, relations and nameplates, with the HTTP API on a free port.

The plant (locations | assets and where they are):

    plant (site)                      boiler1 @boilerroom  feeds ahu1; hasInputSubstance brick:Natural_Gas
      hq (building, year_built 1998)  ahu1 @hq-f2          feeds hq-f1-hall   points sat, fan, run, oat @outside
        hq-f1 (floor)                 vav1 @hq-f2-lab      isFedBy ahu1; feeds hq-f2-lab   points flow, damper
          hq-f1-hall (room)                                  (damper controls vav1)
          boilerroom (room)           rs1 (nowhere)        points hall_temp @hq-f1-hall, lab_temp @hq-f2-lab
        hq-f2 (floor)
          hq-f2-lab (room)
      outside (outside)
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.contract.model import Location, Property, Relation, TargetKind
from gateway.config.loader import load_mappings
from gateway.model import TwinModel
from gateway.runtime import Gateway
from tests.conftest import wait_for

READER = "reader-token-0123456789"
BRICK = "https://brickschema.org/schema/Brick#"
TB = "https://w3id.org/twinbridge#"
SCHEMA = "http://schema.org/"
RDFS_SEE_ALSO = "http://www.w3.org/2000/01/rdf-schema#seeAlso"

MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms}
gateway:
  http:
    port: 0
    tokens: [{name: dashboards, role: reader, token: "${READER}"}]
sources:
  - {id: sim1, kind: sim, interval: 50ms}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - id: ahu1
    type: brick:AHU
    parent: hall
    label: AHU 1
    source: sim1
    points:
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 18}}
      - {id: fan, type: setpoint, class: brick:Fan_Speed_Command, unit: PERCENT, datatype: float,
         address: {signal: constant, initial: 50}}
      - {id: run, type: status, class: brick:Run_Status, datatype: bool, address: {signal: constant, initial: 1}}
      - {id: oat, class: brick:Outside_Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 7}}
  - id: boiler1
    type: brick:Boiler
    parent: site
    label: Boiler 1
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 71.5}}
  - id: vav1
    type: brick:VAV
    parent: hall
    label: VAV 1
    source: sim1
    points:
      - {id: flow, class: brick:Air_Flow_Sensor, unit: M3-PER-HR, datatype: float,
         address: {signal: constant, initial: 300}}
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
      - {id: lab_temp, class: brick:Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 22}}
"""


def _rel(predicate: str, target: str, kind: TargetKind, inverse: str | None) -> Relation:
    local = predicate.rsplit("#", 1)[-1]
    inv_local = inverse.rsplit("#", 1)[-1] if inverse else None
    return Relation(
        predicate=predicate,
        target=target,
        target_kind=kind,
        name=local[0].upper() + local[1:],
        inverse=inverse,
        inverse_name=inv_local[0].upper() + inv_local[1:] if inv_local else None,
    )


def _feeds(target: str, kind: TargetKind) -> Relation:
    return _rel(BRICK + "feeds", target, kind, BRICK + "isFedBy")


def _place(model: TwinModel) -> None:
    """The topology the loader does not read yet, set on the loaded model."""
    loc = [
        ("plant", (BRICK + "Site",), "Demo plant", None),
        ("hq", (BRICK + "Building",), "HQ", "plant"),
        ("hq-f1", (BRICK + "Floor",), "Ground floor", "hq"),
        ("hq-f1-hall", (BRICK + "Room",), "Hall", "hq-f1"),
        ("boilerroom", (BRICK + "Room", BRICK + "Mechanical_Room"), "Boiler room", "hq-f1"),
        ("hq-f2", (BRICK + "Floor",), "First floor", "hq"),
        ("hq-f2-lab", (BRICK + "Room",), "Lab", "hq-f2"),
        ("outside", (BRICK + "Outside",), "Outside", "plant"),
    ]
    for lid, classes, label, parent in loc:
        model.locations[lid] = Location(lid, classes, label, parent)
    year = Property("year_built", BRICK + "yearBuilt", 1998, "Year built")
    model.locations["hq"] = dataclasses.replace(model.locations["hq"], properties=(year,))
    a = model.assets
    a["boiler1"] = dataclasses.replace(
        a["boiler1"],
        location="boilerroom",
        relations=(
            _feeds("ahu1", TargetKind.ASSET),
            _rel(BRICK + "hasInputSubstance", BRICK + "Natural_Gas", TargetKind.TERM, None),
        ),
        properties=(
            Property("manufacturer", SCHEMA + "manufacturer", "Viessmann", "Manufacturer"),
            Property("install_date", TB + "installDate", datetime.date(2019, 5, 14), "Install date"),
            Property("documents", RDFS_SEE_ALSO, ("https://example.com/manual.pdf",), "Documents"),
            Property("rated_power", BRICK + "ratedPowerOutput", 40.0, "Rated power", unit="KiloW"),
        ),
    )
    a["ahu1"] = dataclasses.replace(a["ahu1"], location="hq-f2", relations=(_feeds("hq-f1-hall", TargetKind.LOCATION),))
    a["vav1"] = dataclasses.replace(
        a["vav1"],
        location="hq-f2-lab",
        relations=(
            _rel(BRICK + "isFedBy", "ahu1", TargetKind.ASSET, BRICK + "feeds"),
            _feeds("hq-f2-lab", TargetKind.LOCATION),
        ),
    )
    p = model.points
    p["ahu1.oat"] = dataclasses.replace(p["ahu1.oat"], location="outside")
    p["vav1.damper"] = dataclasses.replace(
        p["vav1.damper"], relations=(_rel(TB + "controls", "vav1", TargetKind.ASSET, TB + "isControlledBy"),)
    )
    p["rs1.hall_temp"] = dataclasses.replace(
        p["rs1.hall_temp"],
        location="hq-f1-hall",
        properties=(Property("manufacturer", SCHEMA + "manufacturer", "Sensirion", "Manufacturer"),),
    )
    p["rs1.lab_temp"] = dataclasses.replace(p["rs1.lab_temp"], location="hq-f2-lab")


@pytest.fixture
async def plant() -> AsyncIterator[Gateway]:
    model = load_mappings(["plant.yaml"], texts={"plant.yaml": MAPPING}, env={"READER": READER})
    _place(model)
    gw = Gateway(model)
    await gw.start()
    await wait_for(lambda: gw.twin.state("boiler1.temp").value == 71.5)
    yield gw
    await gw.stop()


@pytest.fixture
async def api(plant: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    base = f"http://127.0.0.1:{plant.services['http'].port}"  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {READER}"}, timeout=20) as c:
        yield c
