"""Class names in mappings: prefixes, Brick lookups with suggestions, families, hierarchy, curies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from gateway import classes
from gateway.classes import (
    PREFIXES,
    ClassError,
    brick_family,
    compact,
    expand,
    is_a,
    label,
    resolve_class,
    superclasses,
)
from gateway.twin import vocab

ROOT = Path(__file__).resolve().parents[3]
BRICK = "https://brickschema.org/schema/Brick#"
TB = "https://w3id.org/twinbridge#"
SOSA = "http://www.w3.org/ns/sosa/"


def test_prefixes_agree_with_the_twin_vocabulary() -> None:
    for prefix, ns in vocab.PREFIXES.items():
        assert PREFIXES[prefix] == ns
    assert {"ssn", "owl", "sh"} <= set(PREFIXES)


@pytest.mark.parametrize(
    ("text", "iri"),
    [
        ("brick:Boiler", BRICK + "Boiler"),
        ("  brick:AHU ", BRICK + "AHU"),
        ("Boiler", BRICK + "Boiler"),  # a bare name is a Brick class when Brick has it
        ("Measurement", TB + "Measurement"),  # ... else a twinbridge class
        ("tb:Site", TB + "Site"),
        ("sosa:Sensor", SOSA + "Sensor"),
        ("http://example.org/plant#Kiln", "http://example.org/plant#Kiln"),  # custom ontologies as they are
        ("urn:acme:Kiln", "urn:acme:Kiln"),
        (BRICK + "Chiller", BRICK + "Chiller"),
    ],
)
def test_resolve_class(text: str, iri: str) -> None:
    assert resolve_class(text) == iri


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "brik:Boiler",
            "unknown prefix 'brik' in 'brik:Boiler' (did you mean 'brick'? known: tb, brick, ref, sosa, ssn, qudt, "
            "unit, quantitykind, schema, hctl, modv, mqv, xsd, rdf, rdfs, owl, sh)",
        ),
        ("brick:Boilr", "unknown Brick class brick:Boilr (did you mean brick:Boiler, brick:Coil?)"),
        ("brick:boiler", "unknown Brick class brick:boiler (did you mean brick:Boiler?)"),
        (
            "boiler",
            "unknown class 'boiler' (did you mean brick:Boiler? write a curie such as brick:Boiler, or a full IRI)",
        ),
        ("Qwertz", "unknown class 'Qwertz' (write a curie such as brick:Boiler, or a full IRI)"),
        (
            "tb:Sitee",
            "unknown twinbridge class tb:Sitee (known: tb:Asset, tb:Site, tb:Area, tb:Line, tb:Equipment, tb:Point, "
            "tb:Measurement, tb:Setpoint, tb:Command, tb:Status)",
        ),
    ],
)
def test_resolve_class_errors(text: str, message: str) -> None:
    with pytest.raises(ClassError) as exc:
        resolve_class(text)
    assert str(exc.value) == message
    assert isinstance(exc.value, ValueError)


def test_unknown_prefix_without_a_close_one() -> None:
    with pytest.raises(ClassError, match=r"^unknown prefix 'ex' in 'ex:Kiln' \(known: tb, brick"):
        resolve_class("ex:Kiln")


@pytest.mark.parametrize(
    ("curie", "family"),
    [
        ("brick:Supply_Air_Temperature_Sensor", "point"),
        ("brick:Alarm", "point"),
        ("brick:Boiler", "equipment"),
        ("brick:Site", "location"),
        ("brick:Room", "location"),
        ("brick:System", "collection"),
        ("tb:Measurement", "point"),
        ("tb:Setpoint", "point"),
        ("tb:Command", "point"),
        ("tb:Status", "point"),
        ("tb:Site", "location"),
        ("tb:Area", "location"),
        ("tb:Line", "location"),
        ("tb:Equipment", "equipment"),
        ("sosa:Sensor", "point"),
        ("brick:No_Such_Class", None),
        ("http://example.org/plant#Kiln", None),
    ],
)
def test_brick_family(curie: str, family: str | None) -> None:
    assert brick_family(expand(curie)) == family


def test_superclasses_nearest_first() -> None:
    sups = [compact(s) for s in superclasses(BRICK + "Supply_Air_Temperature_Sensor")]
    assert sups == [
        "brick:Air_Temperature_Sensor",
        "brick:Temperature_Sensor",
        "brick:Sensor",
        "brick:Point",
        "brick:Class",
        "brick:Entity",
    ]
    assert BRICK + "Supply_Air_Temperature_Sensor" not in superclasses(BRICK + "Supply_Air_Temperature_Sensor")
    assert superclasses("http://example.org/plant#Kiln") == []


def test_twinbridge_classes_reach_their_aligned_classes() -> None:
    sups = [compact(s) for s in superclasses(TB + "Measurement")]
    assert sups[0] == "tb:Point"
    assert {"brick:Sensor", "sosa:Sensor", "brick:Point"} <= set(sups)
    assert is_a(TB + "Setpoint", BRICK + "Point")
    assert is_a(TB + "Setpoint", SOSA + "Actuator")
    assert is_a(TB + "Equipment", BRICK + "Equipment")
    assert is_a(TB + "Site", TB + "Asset")
    assert is_a(BRICK + "Boiler", BRICK + "Boiler")
    assert not is_a(BRICK + "Boiler", BRICK + "Point")


def test_labels() -> None:
    assert label(BRICK + "Supply_Air_Temperature_Sensor") == "Supply Air Temperature Sensor"
    assert label(TB + "ProtocolReference") == "Protocol reference"  # from twinbridge.ttl
    assert label("http://example.org/plant#Rotary_Kiln") == "Rotary Kiln"


@pytest.mark.parametrize(
    ("iri", "curie"),
    [
        (BRICK + "Boiler", "brick:Boiler"),
        ("https://brickschema.org/schema/Brick/ref#hasExternalReference", "ref:hasExternalReference"),  # longest
        ("http://qudt.org/vocab/unit/DEG_C", "unit:DEG_C"),
        ("http://example.org/x", "http://example.org/x"),
    ],
)
def test_compact_and_expand_round_trip(iri: str, curie: str) -> None:
    assert compact(iri) == curie
    assert expand(curie) == iri


def test_expand_needs_a_prefix() -> None:
    with pytest.raises(ClassError, match="'Boiler' has no prefix"):
        expand("Boiler")


# -- the tables against their sources -----------------------------------------------------------------------


def _tb_classes_in_ttl() -> set[str]:
    store = ox.Store()
    store.bulk_load(path=str(ROOT / "ontology" / "twinbridge.ttl"), format=ox.RdfFormat.TURTLE)
    q = "SELECT ?c WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> }"
    return {s["c"].value for s in store.query(q) if s["c"].value.startswith(TB)}


def test_usable_twinbridge_classes_are_declared_with_a_consistent_family() -> None:
    declared = _tb_classes_in_ttl()
    for name, family in classes.TB_CLASSES.items():
        assert TB + name in declared, f"tb:{name} is not declared in twinbridge.ttl"
        aligned = {brick_family(s) for s in superclasses(TB + name) if s.startswith(BRICK)} - {None}
        # (tb:Asset, the root of locations and equipment alike, has no Brick superclass of its own)
        assert aligned <= {family}, (name, aligned)


def test_brick_table_matches_brick_ttl() -> None:
    store = ox.Store()
    store.bulk_load(path=str(ROOT / "ontology" / "brick.ttl"), format=ox.RdfFormat.TURTLE)
    q = """SELECT ?c ?p WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> .
           OPTIONAL { ?c <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?p } }"""
    edges: dict[str, set[str]] = {}
    for s in store.query(q):
        edges.setdefault(s["c"].value, set())
        if s["p"] is not None:
            edges[s["c"].value].add(s["p"].value)
    assert len(edges) > 1000
    for iri, parents in edges.items():
        assert set(classes.parents(iri)) == parents, iri


def _brick_source() -> Path | None:
    try:
        import brickschema
    except ImportError:
        return None
    path = Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"
    return path if path.exists() else None


@pytest.mark.skipif(_brick_source() is None, reason="needs brickschema 0.8.0 (Brick 1.4): pip install -e '.[test]'")
def test_shipped_brick_files_are_what_the_script_derives(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "derive_brick.py"), str(_brick_source()), str(tmp_path)], check=True
    )
    for name in ("brick-classes.tsv", "brick.ttl"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (ROOT / "ontology" / name).read_text(
            encoding="utf-8"
        ), name


# -- quantities of point classes --------------------------------------------------------------------------------

QUDT_KINDS = ROOT.parent / "shared" / "vocab" / "qudt" / "VOCAB_QUDT-QUANTITY-KINDS-ALL.ttl"
H1 = "A0E0L0I0M0H1T0D0"  # temperature
PRESSURE = "A0E0L-1I0M1H0T-2D0"


def test_quantities_of_point_classes_as_brick_declares_them() -> None:
    t = classes.quantity(BRICK + "Supply_Water_Temperature_Sensor")
    assert t is not None and (t.name, t.dimensions, t.source) == ("Temperature", (H1,), "declared")
    p = classes.quantity(BRICK + "Pressure_Sensor")
    assert p is not None and p.name == "Pressure" and p.dimensions == (PRESSURE,)
    # Brick's own Speed: m/s and, through its applicable units and Rotational_Speed, rad/s and rev/min
    s = classes.quantity(BRICK + "Motor_Speed_Sensor")
    assert s is not None and s.name == "brick:Speed" and "A0E0L0I0M0H0T-1D0" in s.dimensions
    # no declaration anywhere above: no quantity (and no check)
    assert classes.quantity(BRICK + "Sensor") is None and classes.quantity(BRICK + "Pump_Status") is None
    assert classes.quantity(TB + "Measurement") is None


def test_a_class_without_its_own_declaration_takes_its_nearest_declaring_superclass() -> None:
    inherited = [
        (line.split("\t")[0], line.split("\t")[3])
        for line in (ROOT / "ontology" / "brick-quantities.tsv").read_text(encoding="utf-8").splitlines()
        if not line.startswith("#") and "\tfrom " in line
    ]
    assert inherited
    for name, source in inherited:
        for parent in source.removeprefix("from ").split(","):
            assert BRICK + parent in superclasses(BRICK + name), (name, parent)
            q = classes.quantity(BRICK + parent)
            assert q is not None and q.source == "declared"
            assert q.dimensions[0] in classes.quantity(BRICK + name).dimensions  # type: ignore[union-attr]


@pytest.mark.skipif(
    _brick_source() is None or not QUDT_KINDS.exists(),
    reason="needs brickschema 0.8.0 (pip install -e '.[test]') and ../shared/vocab/qudt (dev workspace only)",
)
def test_shipped_quantity_table_is_what_the_script_derives(tmp_path: Path) -> None:
    out = tmp_path / "q.tsv"
    script = ROOT / "scripts" / "derive_brick_quantities.py"
    subprocess.run([sys.executable, str(script), str(_brick_source()), str(QUDT_KINDS), str(out)], check=True)
    shipped = (ROOT / "ontology" / "brick-quantities.tsv").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == shipped
