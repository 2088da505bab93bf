"""The whole core on a real event loop: sim adapter -> supervisor -> pipeline -> twin -> SPARQL and events."""

from __future__ import annotations

import asyncio

import pytest

from adapters.contract.sample import Quality
from adapters.sim.adapter import SimAdapter
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for

MAPPING = """\
twin: {name: t, base_iri: "http://t.local/", flush_interval: 50ms}
sources:
  - {id: sim1, kind: sim, interval: 20ms, seed: 1, reconnect: {initial: 50ms, max: 200ms}}
assets:
  - {id: site, type: site, label: Site}
  - id: boiler1
    type: brick:Boiler
    parent: site
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float, min: 0, max: 120,
         address: {signal: sine, offset: 60, amplitude: 5, period: 10s}}
      - {id: sp, type: setpoint, unit: DEG_C, datatype: float, writable: true, min: 40, max: 90,
         address: {signal: constant, initial: 70}}
      - {id: raw, unit: DEG_C, datatype: float, transform: {scale: 0.1, source_unit: DEG_F},
         address: {signal: constant, initial: 2120}}
      - {id: ro, type: setpoint, unit: DEG_C, datatype: float, address: {signal: constant, initial: 1}}
"""


@pytest.fixture
async def gateway():  # type: ignore[no-untyped-def]
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
    await gw.start(services=False)
    yield gw
    await gw.stop()


async def test_samples_reach_twin_and_sparql(gateway: Gateway) -> None:
    twin = gateway.twin
    assert twin.state("boiler1.temp").status in ("BadWaitingForInitialData", "Good")
    await wait_for(lambda: twin.state("boiler1.temp").quality is Quality.GOOD)
    await wait_for(lambda: twin.state("boiler1.raw").quality is Quality.GOOD)
    # scale then unit conversion: 2120 * 0.1 = 212 degF = 100 degC
    assert twin.state("boiler1.raw").value == pytest.approx(100.0)
    rows = list(
        await twin.query("""
        PREFIX tb: <https://w3id.org/twinbridge#>
        PREFIX brick: <https://brickschema.org/schema/Brick#>
        PREFIX qudt: <http://qudt.org/schema/qudt/>
        SELECT ?p ?v ?u ?q ?asset WHERE {
          ?p a brick:Water_Temperature_Sensor ; tb:value ?v ; qudt:hasUnit ?u ; tb:quality ?q ;
             brick:isPointOf ?asset .
        }""")
    )
    assert len(rows) == 1
    assert rows[0]["p"].value == "http://t.local/point/boiler1.temp"
    assert rows[0]["u"].value == "http://qudt.org/vocab/unit/DEG_C"
    assert rows[0]["q"].value == "https://w3id.org/twinbridge#Good"
    assert rows[0]["asset"].value == "http://t.local/asset/boiler1"
    assert 54 <= float(rows[0]["v"].value) <= 66
    # subclass reasoning through the ontology graph
    ask = await twin.query("""PREFIX brick: <https://brickschema.org/schema/Brick#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        ASK { <http://t.local/point/boiler1.temp> a/rdfs:subClassOf* brick:Temperature_Sensor }""")
    assert bool(ask)


async def test_coalescing_many_samples_one_graph_write(gateway: Gateway) -> None:
    twin = gateway.twin
    await wait_for(lambda: twin.state("boiler1.temp").quality is Quality.GOOD)
    twin.flush()
    before_points = twin.live.points_written
    before_samples = twin.samples_applied
    await asyncio.sleep(0.02 * 20)  # ~20 ticks of 4 points, fewer flushes (no reader, 50 ms interval)
    twin.flush()
    samples = twin.samples_applied - before_samples
    written = twin.live.points_written - before_points
    assert samples >= 40
    assert written < samples / 2


async def test_change_events(gateway: Gateway) -> None:
    sub = gateway.twin.subscribe(["boiler1.temp"])
    batch = await sub.get(timeout=2)
    assert batch and all(s.point == "boiler1.temp" for s in batch)
    sub.close()


async def test_outage_marks_bad_then_recovers(gateway: Gateway) -> None:
    twin = gateway.twin
    await wait_for(lambda: twin.state("boiler1.temp").quality is Quality.GOOD)
    adapter = gateway.adapter("sim1")
    assert isinstance(adapter, SimAdapter)
    sup = gateway.supervisors["sim1"]
    adapter.simulate_outage(0.4, "cable pulled")
    await wait_for(lambda: twin.state("boiler1.temp").quality is Quality.BAD)
    st = twin.state("boiler1.temp")
    assert st.status == "BadCommunicationError" and "cable pulled" in (st.reason or "")
    assert st.value is not None  # the last known value is kept, marked Bad
    assert sup.state.value in ("disconnected", "connecting")
    await wait_for(lambda: twin.state("boiler1.temp").quality is Quality.GOOD, timeout=5)
    assert sup.reconnects >= 1 and sup.state.value == "connected"
    info = sup.info()
    assert info["last_error"] and "cable pulled" in info["last_error"]


async def test_writes_governed_and_routed(gateway: Gateway) -> None:
    twin = gateway.twin
    await wait_for(lambda: gateway.supervisors["sim1"].state.value == "connected")
    ok = await gateway.write("boiler1.sp", 55.5)
    assert ok.ok, ok
    await wait_for(lambda: twin.state("boiler1.sp").value == 55.5)
    assert (await gateway.write("boiler1.sp", 95)).status == "BadOutOfRange"
    assert (await gateway.write("boiler1.sp", "hot")).status == "BadTypeMismatch"
    assert (await gateway.write("boiler1.ro", 3)).status == "BadNotWritable"
    assert (await gateway.write("boiler1.nope", 3)).status == "BadNodeIdUnknown"
    assert twin.writes["BadOutOfRange"] == 1
    # while the device is down the write reports that there is no communication
    adapter = gateway.adapter("sim1")
    assert isinstance(adapter, SimAdapter)
    adapter.simulate_outage(0.5)
    await wait_for(lambda: gateway.supervisors["sim1"].state.value != "connected")
    assert (await gateway.write("boiler1.sp", 60)).status == "BadNoCommunication"


async def test_discovery_adds_points_at_run_time(gateway: Gateway) -> None:
    from adapters.contract.model import Asset, AssetLevel, DataType, Point, PointKind
    from adapters.sim.config import SimAddress

    seen: list[tuple[int, int]] = []
    gateway.twin.add_model_listener(lambda a, p: seen.append((len(a), len(p))))
    asset = Asset("pump9", AssetLevel.EQUIPMENT, (), "Pump 9", parent="site")
    point = Point(
        "pump9.speed",
        "pump9",
        PointKind.MEASUREMENT,
        DataType.FLOAT,
        "sim1",
        SimAddress(signal="constant", initial=42),
        "Speed",
        unit="PERCENT",
    )
    added = gateway.discover("sim1", [asset], [point])
    assert [p.id for p in added] == ["pump9.speed"]
    assert gateway.discover("sim1", [asset], [point]) == []  # known ids are skipped
    assert seen == [(1, 1)]
    await wait_for(lambda: gateway.twin.state("pump9.speed").value == 42)
    ask = await gateway.twin.query(
        "ASK { <http://t.local/point/pump9.speed> <https://brickschema.org/schema/Brick#isPointOf> "
        "<http://t.local/asset/pump9> }"
    )
    assert bool(ask)


async def test_on_disk_store_keeps_last_values_across_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = MAPPING.replace("flush_interval: 50ms}", f"flush_interval: 50ms, store: '{tmp_path / 'db'}'}}")
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))
    await gw.start(services=False)
    await wait_for(lambda: gw.twin.state("boiler1.raw").quality is Quality.GOOD)
    await gw.stop()
    gw2 = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))
    st = gw2.twin.state("boiler1.raw")
    assert st.value == pytest.approx(100.0) and st.status == "BadWaitingForInitialData"
    assert "before the restart" in (st.reason or "")
    rows = gw2.twin.query_sync(
        "SELECT (COUNT(*) AS ?n) WHERE { ?p <https://brickschema.org/schema/Brick#isPointOf> ?a }"
    )
    assert int(next(iter(rows))["n"].value) == 4  # the model graph is rebuilt, not duplicated
    gw2.twin.close()


async def test_metrics_exposition(gateway: Gateway) -> None:
    from prometheus_client import generate_latest

    await wait_for(lambda: gateway.twin.samples_applied > 10)
    await gateway.write("boiler1.sp", 500)  # refused, counted by status
    text = generate_latest(gateway.metrics.registry).decode()
    assert 'twinbridge_samples_total{source="sim1"}' in text
    assert 'twinbridge_source_connected{kind="sim",source="sim1"} 1.0' in text
    assert 'twinbridge_writes_total{status="BadOutOfRange"} 1.0' in text
    assert 'twinbridge_points{quality="good"}' in text
    assert 'twinbridge_adapter_counter{name="ticks",source="sim1"}' in text
