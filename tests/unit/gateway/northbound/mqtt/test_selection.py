"""select: of the MQTT service: the analytics Selector it becomes, what it picks on a running twin and on the model
at load (the same answers), and points added at run time that start matching."""

from __future__ import annotations

import pytest

from adapters.contract.model import Asset, AssetLevel
from gateway.classes import ClassError
from gateway.config.loader import load_mappings
from gateway.model import TwinModel
from gateway.northbound.mqtt.config import Selection
from gateway.northbound.mqtt.selection import (
    check_selection,
    picked_at_load,
    resolve_selection,
    to_selector,
    watch_selection,
)
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView
from tests.conftest import make_point, wait_for

B = "https://brickschema.org/schema/Brick#"
MAPPING = """\
twin: {base_iri: "http://t.local/"}
sources:
  - {id: sim1, kind: sim}
locations:
  - {id: plantroom, type: brick:Room}
assets:
  - {id: site, type: site, label: Site}
  - id: ahu1
    type: brick:AHU
    parent: site
    source: sim1
    points:
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float}
      - {id: rat, class: brick:Return_Air_Temperature_Sensor, unit: DEG_C, datatype: float}
  - id: boiler1
    type: brick:Boiler
    parent: site
    location: plantroom
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float}
      - {id: sp, type: setpoint, unit: DEG_C, datatype: float, writable: true}
"""
SAT_ONLY = "SELECT ?point WHERE { ?point a <" + B + "Supply_Air_Temperature_Sensor> }"
CASES = [
    (None, {"ahu1.sat", "ahu1.rat", "boiler1.temp", "boiler1.sp"}),
    ({"class": "brick:Air_Temperature_Sensor"}, {"ahu1.sat", "ahu1.rat"}),  # with subclasses
    (
        {"class": ["brick:Supply_Air_Temperature_Sensor", "brick:Water_Temperature_Sensor"]},
        {"ahu1.sat", "boiler1.temp"},
    ),
    ({"under": "boiler1"}, {"boiler1.temp", "boiler1.sp"}),
    ({"under": "plantroom"}, {"boiler1.temp", "boiler1.sp"}),  # a location subtree
    ({"class": "tb:Setpoint"}, {"boiler1.sp"}),
    ({"sparql": SAT_ONLY}, {"ahu1.sat"}),
    ({"points": ["ahu1.rat", "boiler1.sp"]}, {"ahu1.rat", "boiler1.sp"}),
    ({"class": "brick:Temperature_Sensor", "under": "site", "points": ["ahu1.rat", "boiler1.sp"]}, {"ahu1.rat"}),
]


@pytest.fixture(scope="module")
def model() -> TwinModel:
    return load_mappings(["m.yaml"], texts={"m.yaml": MAPPING})


def _selection(raw: dict | None) -> Selection | None:
    return None if raw is None else Selection.model_validate(raw)


@pytest.mark.parametrize(("raw", "picked"), CASES)
async def test_the_running_twin_and_the_load_check_pick_the_same_points(
    model: TwinModel, raw: dict | None, picked: set[str]
) -> None:
    selection = _selection(raw)
    assert await resolve_selection(TwinView(Twin(model)), selection) == picked
    assert picked_at_load(selection, model) == picked


def test_the_selector_has_full_class_iris() -> None:
    sel = to_selector(Selection.model_validate({"class": "Supply_Air_Temperature_Sensor", "under": "x"}))
    assert sel.classes == (B + "Supply_Air_Temperature_Sensor",) and sel.under == "x"
    assert to_selector(None).describe() == "every point"
    with pytest.raises(ClassError):
        to_selector(Selection.model_validate({"class": "brick:Boiler"}))  # equipment: check_selection says so


def test_check_selection_paths_use_the_mapping_keys(model: TwinModel) -> None:
    assert check_selection(None, model) == []
    problems = check_selection(
        Selection.model_validate({"class": ["brick:Nope"], "sparql": "ASK {}", "points": ["x.y"]}), model
    )
    assert [path for path, _ in problems] == [("class", 0), ("sparql",), ("points", 0)]
    assert "must be a SELECT" in problems[1][1]


async def test_a_watch_reports_points_added_at_run_time_that_match(model: TwinModel) -> None:
    twin = Twin(model)
    heard: list[set[str]] = []
    picked, watch = await watch_selection(
        TwinView(twin), Selection.model_validate({"class": "brick:Air_Temperature_Sensor"}), heard.append
    )
    assert picked == {"ahu1.sat", "ahu1.rat"}
    twin.add(
        [Asset("ahu2", AssetLevel.EQUIPMENT, (), "AHU 2", parent="site")],
        [make_point("ahu2.sat", classes=(B + "Supply_Air_Temperature_Sensor",)), make_point("ahu2.other")],
    )
    await wait_for(lambda: heard == [{"ahu2.sat"}], what="the new matching point")
    watch.close()
