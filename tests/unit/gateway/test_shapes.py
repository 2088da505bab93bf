"""SHACL shapes: each shape catches its violation, reported by point/asset/source at its mapping position.

Violations the model objects can carry are built as models (make_point/make_model, or a real mapping loaded
and then altered); violations no model can produce (two assets, a missing datatype...) are made by editing the
materialized N-Triples, so every shape in ontology/shapes.ttl is exercised by at least one test.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.contract.model import DataType, Origin, PointKind, Transform
from gateway.config.loader import load_mappings
from gateway.model import TwinModel
from gateway.shacl import check_graph, check_model
from gateway.twin.materialize import model_ntriples
from gateway.twin.vocab import TwinIRIs
from tests.conftest import make_model, make_point

ROOT = Path(__file__).resolve().parents[3]
TB = "https://w3id.org/twinbridge#"
XSD = "http://www.w3.org/2001/XMLSchema#"
BASE = "http://test.local/"
P = f"<{BASE}point/a.t>"  # the point of `good_model()`
REF = f"<{BASE}point/a.t/ref>"
ASSET = f"<{BASE}asset/a>"
WHERE = "plant.yaml:12:9"


def messages(model: TwinModel) -> list[str]:
    return [str(e) for e in check_model(model)]


def good_model() -> TwinModel:
    """One conforming measurement a.t, declared at plant.yaml:12:9, on asset a (plant.yaml:3:5)."""
    model = make_model([replace(make_point("a.t", min=0, max=100), origin=Origin("plant.yaml", 12, 9))])
    model.assets["a"] = replace(model.assets["a"], origin=Origin("plant.yaml", 3, 5))
    return model


def edited(model: TwinModel, *, drop: str = "", add: str = "") -> list[str]:
    """Errors of the model's graph with the lines matching regex ``drop`` removed and ``add`` appended."""
    text = model_ntriples(model, TwinIRIs(model.settings.base_iri))
    lines = [ln for ln in text.splitlines(keepends=True) if not (drop and re.search(drop, ln))]
    assert len(lines) < len(text.splitlines()) or not drop, f"nothing matched {drop!r}"
    return [str(e) for e in check_graph(model, "".join(lines) + add)]


# -- models -----------------------------------------------------------------------------------------------


def test_conforming_model_has_no_violations() -> None:
    model = make_model(
        [
            make_point("a.t"),
            make_point("a.sp", kind=PointKind.SETPOINT, writable=True, min=0, max=9),
            make_point("a.run", kind=PointKind.STATUS, datatype=DataType.BOOL, unit=None),
            make_point("a.mode", kind=PointKind.COMMAND, datatype=DataType.INT16, unit=None, writable=True),
            make_point("a.name", datatype=DataType.STRING, unit=None),
            make_point("a.f", transform=Transform(scale=0.1, source_unit="DEG_F")),
        ]
    )
    model.assets["a"] = replace(model.assets["a"], classes=("https://brickschema.org/schema/Brick#Boiler",))
    assert messages(model) == []


@pytest.mark.parametrize("kind", [PointKind.MEASUREMENT, PointKind.SETPOINT])
def test_numeric_measurement_or_setpoint_without_unit(kind: PointKind) -> None:
    p = replace(make_point("a.t", kind=kind, datatype=DataType.INT16, unit=None), origin=Origin("plant.yaml", 12, 9))
    assert messages(make_model([p])) == [
        "plant.yaml:12:9: point 'a.t': a numeric measurement or setpoint needs a unit "
        "(QUDT, e.g. DEG_C; UNITLESS for counts)"
    ]


def test_integer_status_and_command_need_no_unit() -> None:
    model = make_model(
        [
            make_point("a.mode", kind=PointKind.STATUS, datatype=DataType.UINT16, unit=None),
            make_point("a.cmd", kind=PointKind.COMMAND, datatype=DataType.INT32, unit=None),
        ]
    )
    assert messages(model) == []


def test_writable_point_needs_writable_address() -> None:
    p = replace(
        make_point("a.sp", kind=PointKind.SETPOINT, writable=True, address={"writable": False}),
        origin=Origin("plant.yaml", 20, 11),
    )
    assert messages(make_model([p])) == [
        "plant.yaml:20:11: point 'a.sp': a writable point needs a writable address "
        "(a coil or holding register, a writable node, a command topic...)"
    ]
    # a read-only point on a read-only address is fine
    ro = make_point("a.sp", kind=PointKind.SETPOINT, writable=False, address={"writable": False})
    assert messages(make_model([ro])) == []


def test_min_above_max() -> None:
    p = replace(make_point("a.t", min=10, max=5), origin=Origin("plant.yaml", 12, 9))
    assert messages(make_model([p])) == [
        "plant.yaml:12:9: point 'a.t': the minimum of a point must not exceed its maximum (got 10.0)"
    ]


def test_unit_on_bool_and_string() -> None:
    on_bool = make_point("a.b", datatype=DataType.BOOL, kind=PointKind.STATUS, unit="DEG_C")
    on_str = make_point("a.s", datatype=DataType.STRING, unit="DEG_C")
    assert messages(make_model([on_bool, on_str])) == [
        "<twin>: point 'a.b': a unit is only meaningful on a numeric point",
        "<twin>: point 'a.s': a unit is only meaningful on a numeric point",
    ]


def test_unknown_unit_and_source_unit() -> None:
    p = replace(make_point("a.t", unit="DEGC"), origin=Origin("plant.yaml", 12, 9))
    q = replace(make_point("a.u", transform=Transform(source_unit="FAHR")), origin=Origin("plant.yaml", 14, 9))
    assert messages(make_model([p, q])) == [
        "plant.yaml:12:9: point 'a.t': the point's unit is not a known QUDT unit (got unit:DEGC)",
        "plant.yaml:14:9: point 'a.u': the point's source_unit is not a known QUDT unit (got unit:FAHR)",
    ]


def test_asset_parent_outside_the_twin() -> None:
    model = good_model()
    model.assets["a"] = replace(model.assets["a"], parent="ghost")
    assert messages(model) == [
        "plant.yaml:3:5: asset 'a': the asset's parent is not an asset of the twin (got asset 'ghost')"
    ]


def test_point_of_an_asset_outside_the_twin() -> None:
    model = good_model()
    del model.assets["a"]
    assert messages(model) == [f"{WHERE}: point 'a.t': the point's asset is not an asset of the twin (got asset 'a')"]


def test_violation_reported_at_the_line_the_loader_recorded() -> None:
    mapping = """\
twin: {base_iri: "http://plant.local/"}
sources:
  - {id: sim1, kind: sim}
assets:
  - {id: site, type: site, label: Plant}
  - id: boiler1
    parent: site
    type: brick:Boiler
    source: sim1
    points:
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float, min: 0, max: 120}
      - {id: sp, type: setpoint, unit: DEG_C, datatype: float, writable: true, min: 40, max: 90}
"""
    model = load_mappings(["plant.yaml"], texts={"plant.yaml": mapping})
    assert messages(model) == []
    # the loader refuses min > max itself; a model built otherwise (discovery, code) is caught by the shapes
    model.points["boiler1.sp"] = replace(model.points["boiler1.sp"], min=95.0)
    [err] = messages(model)
    assert re.fullmatch(
        r"plant\.yaml:12:\d+: point 'boiler1\.sp': the minimum of a point must not exceed its maximum \(got 95\.0\)",
        err,
    ), err


# -- graphs no model can produce ---------------------------------------------------------------------------


def test_good_graph_passes_check_graph() -> None:
    assert edited(good_model()) == []


@pytest.mark.parametrize(
    ("drop", "add", "expected"),
    [
        ("isPointOf", "", "a point belongs to exactly one asset"),
        (
            "",
            f"{P} <https://brickschema.org/schema/Brick#isPointOf> <{BASE}asset/b> .\n",
            "a point belongs to exactly one asset",
        ),
        ("#datatype", "", "a point has exactly one datatype"),
        (
            "#datatype",
            f"{P} <{TB}datatype> <{XSD}decimal> .\n",
            "unsupported datatype (bool, int16, uint16, int32, uint32, int64, uint64, float, double, string) "
            "(got xsd:decimal)",
        ),
        ("", f'{P} <http://www.w3.org/2000/01/rdf-schema#label> "second" .\n', "a point has exactly one label"),
        (
            r"point/a\.t> <http://www.w3.org/2000/01/rdf-schema#label>",
            f'{P} <http://www.w3.org/2000/01/rdf-schema#label> "Temp"@en .\n',
            "a point's label is a plain string (got Temp)",
        ),
        (
            r"point/a\.t> <https://w3id.org/twinbridge#writable>",
            "",
            "a point says once, as true or false, whether it is writable",
        ),
        (
            "",
            f"{P} <http://qudt.org/schema/qudt/hasUnit> <http://qudt.org/vocab/unit/DEG_C> .\n"
            f"{P} <http://qudt.org/schema/qudt/hasUnit> <http://qudt.org/vocab/unit/K> .\n",
            "a point has at most one unit",
        ),
        ("maxValue", f'{P} <{TB}maxValue> "high" .\n', "a point has at most one maximum, a number (got high)"),
        (
            "minValue",
            f'{P} <{TB}minValue> "1"^^<{XSD}integer> .\n',
            "a point has at most one minimum, a number (got 1)",
        ),
        ("hasExternalReference", "", "a point has exactly one protocol address"),
        (
            "",
            f"{P} <https://brickschema.org/schema/Brick/ref#hasExternalReference> <{BASE}point/a.t/ref2> .\n",
            "a point has exactly one protocol address",
        ),
    ],
)
def test_point_shape(drop: str, add: str, expected: str) -> None:
    errors = edited(good_model(), drop=drop, add=add)
    assert f"{WHERE}: point 'a.t': {expected}" in errors, errors


@pytest.mark.parametrize(
    ("drop", "add", "expected"),
    [
        ("viaSource", "", "a protocol address names exactly one source"),
        (
            "viaSource",
            f"{REF} <{TB}viaSource> <{BASE}source/plc9> .\n",
            "the point's source is not a source of the twin (got source 'plc9')",
        ),
        (
            r"/ref> <https://w3id.org/twinbridge#writable>",
            "",
            "a protocol address says once, as true or false, whether it can be written",
        ),
        (
            r"/ref> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>",
            "",
            "a point's protocol address must be a ref:ExternalReference",
        ),
    ],
)
def test_reference_shape_reported_on_its_point(drop: str, add: str, expected: str) -> None:
    errors = edited(good_model(), drop=drop, add=add)
    assert f"{WHERE}: point 'a.t': {expected}" in errors, errors


@pytest.mark.parametrize(
    ("drop", "add", "expected"),
    [
        (r"asset/a> <http://www.w3.org/2000/01/rdf-schema#label>", "", "an asset has exactly one label"),
        (
            r"asset/a> <http://www.w3.org/2000/01/rdf-schema#label>",
            f'{ASSET} <http://www.w3.org/2000/01/rdf-schema#label> "A"@de .\n',
            "an asset's label is a plain string",
        ),
        (r"asset/a> <https://w3id.org/twinbridge#id>", "", "an asset has exactly one id, a string"),
    ],
)
def test_asset_shape(drop: str, add: str, expected: str) -> None:
    errors = edited(good_model(), drop=drop, add=add)
    assert any(e.startswith(f"plant.yaml:3:5: asset 'a': {expected}") for e in errors), errors


def test_source_shape() -> None:
    model = good_model()
    model.source_origins["sim1"] = Origin("plant.yaml", 2, 5)
    assert edited(model, drop="#kind") == ["plant.yaml:2:5: source 'sim1': a source has exactly one kind"]


# -- speed and the shipped files ---------------------------------------------------------------------------


def test_a_thousand_points_conform() -> None:
    """How long the check takes is measured by ``python -m bench shacl``, not here."""
    points = [
        make_point(f"eq{i // 10}.p{i}", kind=PointKind.SETPOINT, writable=True, min=0, max=100)
        if i % 2
        else make_point(f"eq{i // 10}.p{i}")
        for i in range(1000)
    ]
    model = make_model(points)
    assert messages(model) == []


REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(ROOT).as_posix()
        for p in [*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("mappings/**/*.yaml")]
        if "profiles" not in p.parts
    ),
)
def test_every_example_and_mapping_conforms(path: str) -> None:
    from gateway.northbound.credentials import hash_password

    env = {name: "example-value-of-32-characters-xx" for name in REQUIRED_VAR.findall((ROOT / path).read_text())}
    if "DEMO_UA_PASSWORD_HASH" in env:  # the OPC UA server checks the hash format
        env["DEMO_UA_PASSWORD_HASH"] = hash_password("example", iterations=1000)
    model = load_mappings([ROOT / path], env=env)
    if model.settings.remote is not None:  # a central view: its points come from the shared store at run time
        assert not model.points and not check_model(model)
        return
    assert model.points, "an example without points checks nothing"
    assert messages(model) == []


def test_every_shape_speaks_to_integrators() -> None:
    """Each reported constraint carries an sh:message (what a violation prints), never raw SHACL output."""
    import rdflib
    from rdflib.namespace import SH

    g = rdflib.Graph().parse(ROOT / "ontology" / "shapes.ttl")
    property_shapes = set(g.objects(None, SH.property))
    node_constraints = (SH["or"], SH["class"], SH["and"], SH["in"], SH.datatype)
    node_shapes = {s for s in g.subjects(rdflib.RDF.type, SH.NodeShape) if any(g.value(s, c) for c in node_constraints)}
    assert len(property_shapes) > 25 and len(node_shapes) >= 5
    for shape in property_shapes | node_shapes:
        message = g.value(shape, SH.message)
        assert message is not None and "sh:" not in str(message), shape
