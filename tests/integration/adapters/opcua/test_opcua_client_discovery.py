"""Discovery: the draft mapping of a real server validates unchanged and, run by the gateway, shows its values."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml
from asyncua import ua
from opcua_client_helpers import PlantServer

from adapters.contract.model import DataType, PointKind
from adapters.contract.sample import Quality
from adapters.opcua.discover import discover, main
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from gateway.units import CATALOG

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


async def test_draft_mapping_validates_and_yields_the_server_values(plant: PlantServer) -> None:
    await plant.set("Temp", 21.25, ua.VariantType.Double)
    text = await discover(plant.url, source_id="plant1", depth=6, units=CATALOG)
    assert text.startswith("# Draft mapping discovered from")
    assert "Profile" in text.split("sources:")[0]  # the array is listed as not mapped, in the header

    model = load_mappings(["draft.yaml"], texts={"draft.yaml": text}, env={})
    assert set(model.assets) == {"plant1", "Plant", "Boiler"}
    assert model.assets["Boiler"].parent == "Plant"
    temp = model.points["Boiler.Temp"]
    assert (temp.datatype, temp.unit, temp.min, temp.max) == (DataType.DOUBLE, "DEG_C", 0.0, 150.0)
    assert temp.address.node == "nsu=urn:twinbridge:test:plant;s=Boiler.Temp"  # type: ignore[attr-defined]
    sp = model.points["Boiler.Setpoint"]
    assert sp.writable and sp.kind is PointKind.SETPOINT
    assert model.points["Boiler.Level"].datatype is DataType.UINT16
    assert model.points["Boiler.Running"].kind is PointKind.STATUS
    assert model.points["Boiler.Name"].datatype is DataType.STRING
    assert model.points["Boiler.Pressure"].datatype is DataType.FLOAT
    assert "Boiler.Profile" not in model.points
    assert not model.points["Boiler.Locked"].writable

    gw = Gateway(model)
    await gw.start(services=False)
    try:
        deadline = time.monotonic() + 10
        expected = {"Boiler.Temp": 21.25, "Boiler.Name": "boiler one", "Boiler.Running": True}
        while any(gw.twin.state(p).value != v for p, v in expected.items()):
            assert time.monotonic() < deadline, {p: gw.twin.state(p) for p in expected}
            await asyncio.sleep(0.05)
        for pid in model.points:
            assert gw.twin.state(pid).quality is Quality.GOOD, gw.twin.state(pid)
        assert gw.twin.state("Boiler.Count").value == await plant.get("Count")
        assert (await gw.write("Boiler.Setpoint", 64.0)).ok
        assert await plant.get("Setpoint") == 64.0
    finally:
        await gw.stop()


async def test_command_line_writes_the_draft_and_reports_failures(
    plant: PlantServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "draft.yaml"
    code = await asyncio.to_thread(
        main,
        [plant.url, "--root", f"ns={plant.ns};s=Boiler", "--depth", "1", "--out", str(out), "--source-id", "b1"],
        CATALOG,
    )
    assert code == 0
    doc = yaml.safe_load(out.read_text())
    assert doc["sources"][0] == {
        "id": "b1",
        "kind": "opcua",
        "url": plant.url,
        "security": {"policy": "None", "pki_dir": "pki/opcua-client", "trust_all": False},
    }
    points = {p["id"] for p in doc["assets"][0]["points"]}
    assert {"Temp", "Setpoint", "Name"} <= points
    load_mappings([str(out)], env={})

    code = await asyncio.to_thread(main, ["opc.tcp://127.0.0.1:1/none", "--out", str(tmp_path / "x.yaml")], CATALOG)
    assert code == 1 and "discovery failed" in capsys.readouterr().err
