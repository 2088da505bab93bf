"""SHACL shapes: each shape catches its violation, reported by point/asset and mapping position."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.config.loader import load_mappings
from gateway.model import Asset, AssetLevel, DataType, Origin, PointKind
from gateway.shacl import check_model, validate_ntriples
from tests.conftest import make_model, make_point

ROOT = Path(__file__).resolve().parents[2]


def messages(model) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(e) for e in check_model(model)]


def test_conforming_model_has_no_violations() -> None:
    model = make_model([make_point("a.t"), make_point("a.sp", kind=PointKind.SETPOINT, writable=True, min=0, max=9)])
    assert messages(model) == []


def test_numeric_measurement_without_unit() -> None:
    p = replace(make_point("a.t", unit=None), origin=Origin("plant.yaml", 12, 9))
    msgs = messages(make_model([p]))
    assert msgs == [
        "plant.yaml:12:9: point 'a.t': a numeric measurement or setpoint needs a unit "
        "(QUDT, e.g. DEG_C; UNITLESS for counts)"
    ]


def test_writable_point_needs_writable_address() -> None:
    p = make_point("a.sp", kind=PointKind.SETPOINT, writable=True, address={"writable": False})
    assert any("writable point needs a writable address" in m for m in messages(make_model([p])))


def test_min_above_max_and_unit_on_bool() -> None:
    bad_range = make_point("a.t", min=10, max=5)
    on_bool = make_point("a.b", datatype=DataType.BOOL, kind=PointKind.STATUS, unit="DEG_C")
    msgs = messages(make_model([bad_range, on_bool]))
    assert any("point 'a.t'" in m and "minimum of a point must not exceed its maximum" in m for m in msgs)
    assert any("point 'a.b'" in m and "unit is only meaningful on a numeric point" in m for m in msgs)


def test_point_and_asset_outside_the_hierarchy() -> None:
    p = make_point("a.t")
    model = make_model([p])
    model.assets["a"] = Asset("a", AssetLevel.EQUIPMENT, (), "A", parent="ghost", origin=Origin("m.yaml", 3, 5))
    msgs = messages(model)
    assert any(m.startswith("m.yaml:3:5: asset 'a'") and "at most one parent, which is an asset" in m for m in msgs)
    orphan = make_point("zz.t")
    model2 = make_model([orphan])
    del model2.assets["zz"]
    assert any("point 'zz.t'" in m and "exactly one asset" in m for m in messages(model2))


def test_live_state_shapes() -> None:
    tb = "https://w3id.org/twinbridge#"
    xsd = "http://www.w3.org/2001/XMLSchema#"
    p = "<http://t/point/a.x>"
    data = (
        f'{p} <{tb}datatype> <{xsd}float> .\n{p} <{tb}value> "abc"^^<{xsd}string> .\n'
        f"{p} <{tb}quality> <{tb}Sort_of_ok> .\n"
    )
    msgs = {v.message for v in validate_ntriples(data)}
    assert "the live value's datatype differs from the point's declared datatype" in msgs
    assert "a live value has exactly one quality: Good, Uncertain or Bad" in msgs
    assert "a live value has exactly one OPC UA status code" in msgs


@pytest.mark.parametrize(
    "path",
    sorted(p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("mappings/*.yaml")]),
)
def test_every_example_and_mapping_conforms(path: str) -> None:
    from gateway.northbound.opcua.users import hash_password

    env = {
        "PRESS_PASSWORD": "example",
        "DEMO_TOKEN": "example-token-0123456789",
        "DEMO_UA_PASSWORD_HASH": hash_password("example", iterations=1000),
    }
    model = load_mappings([ROOT / path], env=env)
    assert messages(model) == []
