"""A gateway whose twin has a location tree, relations and nameplates, with the HTTP API on a free port.

The plant (locations | assets and where they are):

    plant (site)                      boiler1 @boilerroom  feeds ahu1; hasInputSubstance brick:Natural_Gas
      hq (building, year_built 1998)  ahu1 @hq-f2          feeds hq-f1-hall   points sat, fan, run, oat @outside
        hq-f1 (floor)                 vav1 @hq-f2-lab      isFedBy ahu1; feeds hq-f2-lab; ex:inspectedBy team-a
          hq-f1-hall (room)           ctl1 (nowhere)       controls vav1
          boilerroom (room)           rs1 (nowhere)        points hall_temp @hq-f1-hall (ex:calibratedBy team-a),
        hq-f2 (floor)                                             lab_temp @hq-f2-lab
          hq-f2-lab (room)            team-a (nowhere)
      outside (outside)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for

READER = "reader-token-0123456789"

MAPPING = """\
twin: {base_iri: "http://t.local/", flush_interval: 50ms}
gateway:
  http:
    port: 0
    tokens: [{name: dashboards, role: reader, token: "${READER}"}]
prefixes: {ex: "http://example.com/plant#"}
relation_types:
  - {id: "ex:calibratedBy", inverse: "ex:calibrates", label: "Calibrated by", inverse_label: "Calibrates"}
  - {id: "ex:inspectedBy", label: "Inspected by"}
sources:
  - {id: sim1, kind: sim, interval: 50ms}
locations:
  - {id: plant, type: site, label: Demo plant}
  - {id: hq, type: building, parent: plant, label: HQ, properties: {year_built: 1998}}
  - {id: hq-f1, type: floor, parent: hq, label: Ground floor}
  - {id: hq-f1-hall, type: room, parent: hq-f1, label: Hall}
  - {id: boilerroom, type: [room, brick:Mechanical_Room], parent: hq-f1, label: Boiler room}
  - {id: hq-f2, type: floor, parent: hq, label: First floor}
  - {id: hq-f2-lab, type: room, parent: hq-f2, label: Lab}
  - {id: outside, type: outside, parent: plant, label: Outside}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - {id: team-a, type: brick:Equipment, label: Maintenance team A}
  - id: ahu1
    type: brick:AHU
    parent: hall
    label: AHU 1
    source: sim1
    location: hq-f2
    relations: {feeds: hq-f1-hall}
    points:
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 18}}
      - {id: fan, type: setpoint, class: brick:Fan_Speed_Command, unit: PERCENT, datatype: float,
         address: {signal: constant, initial: 50}}
      - {id: run, type: status, class: brick:Run_Status, datatype: bool, address: {signal: constant, initial: 1}}
      - {id: oat, class: brick:Outside_Air_Temperature_Sensor, unit: DEG_C, datatype: float, location: outside,
         address: {signal: constant, initial: 7}}
  - id: boiler1
    type: brick:Boiler
    parent: site
    label: Boiler 1
    source: sim1
    location: boilerroom
    relations:
      feeds: ahu1
      hasInputSubstance: brick:Natural_Gas
    properties:
      manufacturer: Viessmann
      install_date: 2019-05-14
      documents: ["https://example.com/manual.pdf"]
      rated_power: 40 kW
      "ex:warrantyEnd": 2027-01-01
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {signal: constant, initial: 71.5}}
  - id: vav1
    type: brick:VAV
    parent: hall
    label: VAV 1
    source: sim1
    location: hq-f2-lab
    relations: {isFedBy: ahu1, feeds: hq-f2-lab, "ex:inspectedBy": team-a}
    points:
      - {id: flow, class: brick:Air_Flow_Sensor, unit: M3-PER-HR, datatype: float,
         address: {signal: constant, initial: 300}}
      - {id: damper, type: command, class: brick:Damper_Position_Command, unit: PERCENT, datatype: float,
         address: {signal: constant, initial: 40}}
  - {id: ctl1, type: brick:Controller, parent: hall, label: Controller 1, relations: {controls: vav1}}
  - id: rs1
    type: equipment
    parent: hall
    label: Room sensors
    source: sim1
    points:
      - {id: hall_temp, class: brick:Air_Temperature_Sensor, unit: DEG_C, datatype: float, location: hq-f1-hall,
         relations: {"ex:calibratedBy": team-a}, properties: {manufacturer: Sensirion},
         address: {signal: constant, initial: 21}}
      - {id: lab_temp, class: brick:Air_Temperature_Sensor, unit: DEG_C, datatype: float, location: hq-f2-lab,
         address: {signal: constant, initial: 22}}
"""


@pytest.fixture
async def plant() -> AsyncIterator[Gateway]:
    gw = Gateway(load_mappings(["plant.yaml"], texts={"plant.yaml": MAPPING}, env={"READER": READER}))
    await gw.start()
    await wait_for(lambda: gw.twin.state("boiler1.temp").value == 71.5)
    yield gw
    await gw.stop()


@pytest.fixture
async def api(plant: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    base = f"http://127.0.0.1:{plant.services['http'].port}"  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {READER}"}, timeout=20) as c:
        yield c
