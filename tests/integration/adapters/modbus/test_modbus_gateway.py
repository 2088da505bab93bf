"""The Modbus adapter inside the real gateway: values and graph terms in the twin, write-back through the twin,
and a device process killed mid-run and restarted on the same port (points Bad, then Good, no gateway restart).
"""

from __future__ import annotations

import pytest
from modbus_helpers import ServerProcess, free_port, wait_for
from pymodbus.client import AsyncModbusTcpClient

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway

pytestmark = pytest.mark.integration

MAPPING = """\
twin: {{base_iri: "http://plant.local/", flush_interval: 50ms}}
sources:
  - {{id: plc1, kind: modbus, url: "tcp://127.0.0.1:{port}", poll_interval: 100ms, timeout: 300ms, retries: 0,
     reconnect: {{initial: 100ms, max: 300ms, jitter: 0.1}}}}
assets:
  - {{id: site, type: site, label: Plant}}
  - id: boiler1
    parent: site
    type: brick:Boiler
    source: plc1
    points:
      - {{id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float, transform: {{scale: 0.1}},
         address: {{table: holding, address: 0, encoding: int16}}}}
      - {{id: sp, type: setpoint, class: brick:Water_Temperature_Setpoint, unit: DEG_C, datatype: float,
         writable: true, min: 20, max: 90, transform: {{scale: 0.1}},
         address: {{table: holding, address: 1, encoding: int16}}}}
      - {{id: pump, type: command, class: brick:Start_Stop_Command, datatype: bool, writable: true,
         address: {{table: coil, address: 0}}}}
      - {{id: flow, class: brick:Water_Flow_Sensor, unit: M3-PER-HR, datatype: float,
         address: {{address: 30001, addressing: modicon, encoding: float32}}}}
"""
PRESET = "1:holding:0=215,1:holding:1=600,1:input:0=16712,1:input:1=0"  # 21.5 degC, 60.0 degC, 12.5 m3/h


@pytest.fixture
def device() -> ServerProcess:
    proc = ServerProcess(free_port(), units="1", preset=PRESET)
    proc.start()
    yield proc  # type: ignore[misc]
    proc.kill()


async def registers(port: int, address: int, count: int) -> list[int]:
    """Read holding registers with a separate plain pymodbus client (what the device really holds)."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port, reconnect_delay=0)
    await client.connect()
    try:
        return list((await client.read_holding_registers(address, count=count, device_id=1)).registers)
    finally:
        client.close()


@pytest.fixture
async def gateway(device: ServerProcess) -> Gateway:
    gw = Gateway(load_mappings(["plant.yaml"], texts={"plant.yaml": MAPPING.format(port=device.port)}))
    await gw.start(services=False)
    yield gw  # type: ignore[misc]
    await gw.stop()


async def test_values_graph_and_write_back(gateway: Gateway, device: ServerProcess) -> None:
    twin = gateway.twin
    await wait_for(lambda: all(twin.state(f"boiler1.{p}").status == "Good" for p in ("temp", "sp", "pump", "flow")))
    assert twin.state("boiler1.temp").value == pytest.approx(21.5)
    assert twin.state("boiler1.sp").value == pytest.approx(60.0)
    assert twin.state("boiler1.flow").value == 12.5 and twin.state("boiler1.pump").value is False
    rows = await twin.query("""
        PREFIX modv: <https://www.w3.org/2019/wot/modbus#>
        PREFIX hctl: <https://www.w3.org/2019/wot/hypermedia#>
        PREFIX ref: <https://brickschema.org/schema/Brick/ref#>
        SELECT ?entity ?addr ?target WHERE {
          <http://plant.local/point/boiler1.flow> ref:hasExternalReference ?r .
          ?r modv:hasEntity ?entity ; modv:hasAddress ?addr ; hctl:hasTarget ?target .
        }""")
    assert len(rows) == 1
    assert rows[0]["entity"].value == "https://www.w3.org/2019/wot/modbus#InputRegister"
    assert int(rows[0]["addr"].value) == 0
    assert rows[0]["target"].value == f"modbus+tcp://127.0.0.1:{device.port}/1/0?quantity=2"
    # write-back: the twin inverts the scale (55.5 -> 555), the adapter writes FC6, the read-back shows it
    result = await gateway.write("boiler1.sp", 55.5)
    assert result.ok, result
    assert await registers(device.port, 1, 1) == [555]
    await wait_for(lambda: twin.state("boiler1.sp").value == pytest.approx(55.5), what="read-back in the twin")
    assert (await gateway.write("boiler1.pump", True)).ok
    await wait_for(lambda: twin.state("boiler1.pump").value is True)
    assert (await gateway.write("boiler1.sp", 95)).status == "BadOutOfRange"  # the twin's min/max
    assert (await gateway.write("boiler1.flow", 1.0)).status == "BadNotWritable"
    counters = gateway.supervisors["plc1"].info()["counters"]
    assert counters["writes"] == 2 and counters["planned_requests"] == 3


async def test_device_killed_and_restarted_mid_run(gateway: Gateway, device: ServerProcess) -> None:
    twin = gateway.twin
    sup = gateway.supervisors["plc1"]
    await wait_for(lambda: twin.state("boiler1.temp").status == "Good")
    device.kill()  # SIGKILL: no goodbye
    await wait_for(lambda: twin.state("boiler1.temp").status == "BadCommunicationError", what="Bad after the kill")
    st = twin.state("boiler1.temp")
    assert "connection lost" in (st.reason or "") and st.value == pytest.approx(21.5)  # last value kept, Bad
    assert all(twin.state(f"boiler1.{p}").status.startswith("Bad") for p in ("sp", "pump", "flow"))
    await wait_for(lambda: sup.state.value != "connected")
    device.start()  # same port
    await wait_for(lambda: twin.state("boiler1.temp").status == "Good", timeout=10, what="Good after the restart")
    assert sup.reconnects >= 1 and sup.state.value == "connected"
    assert all(twin.state(f"boiler1.{p}").status == "Good" for p in ("sp", "pump", "flow"))
