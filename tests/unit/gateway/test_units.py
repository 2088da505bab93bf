"""QUDT units: lookup forms, suggestions for typos, exact conversions, RDF, and the derived table itself."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from gateway import units
from gateway.units import Unit, UnitError, converter, get_unit, suggest_units, units_ntriples

ROOT = Path(__file__).resolve().parents[3]
QUDT_SOURCE = ROOT.parent / "shared" / "vocab" / "qudt" / "VOCAB_QUDT-UNITS-ALL.ttl"


# -- lookup -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["DEG_C", "unit:DEG_C", "http://qudt.org/vocab/unit/DEG_C", " DEG_C ", "°C"])
def test_get_unit_accepts_name_curie_iri_and_symbol(text: str) -> None:
    u = get_unit(text)
    assert u is not None
    assert u.name == "DEG_C"


def test_unit_fields() -> None:
    u = get_unit("DEG_C")
    assert u == Unit(
        name="DEG_C",
        symbol="°C",
        label="Degree Celsius",
        quantity_kinds=u.quantity_kinds,
        multiplier=1.0,
        offset=273.15,
        unece="CEL",
        dimension="A0E0L0I0M0H1T0D0",
    )
    assert u.quantity_kinds[0] == "Temperature"  # the common kind first, not BoilingPoint/FlashPoint
    assert u.iri == "http://qudt.org/vocab/unit/DEG_C"
    assert get_unit("KiloW").quantity_kinds[0] == "Power"
    assert get_unit("PERCENT").unece == "P1"


@pytest.mark.parametrize(
    ("symbol", "name"), [("kW", "KiloW"), ("%", "PERCENT"), ("°F", "DEG_F"), ("bar", "BAR"), ("m³/h", "M3-PER-HR")]
)
def test_unambiguous_symbols_are_aliases(symbol: str, name: str) -> None:
    assert get_unit(symbol).name == name


@pytest.mark.parametrize("text", ["t", "a", "d", "kw", "kWh", "rpm", "DEGC", "deg_c", "", "unit:", "http://x/DEG_C"])
def test_ambiguous_or_informal_spellings_are_not_resolved(text: str) -> None:
    # "t" is TONNE and TON_Metric, "a" are and year, "d" day and darcy: a mapping names its unit exactly
    assert get_unit(text) is None


def test_symbols_are_case_sensitive_like_si() -> None:
    assert (get_unit("s").name, get_unit("S").name) == ("SEC", "S")  # second, siemens
    assert (get_unit("h").name, get_unit("H").name) == ("HR", "H")  # hour, henry
    assert get_unit("L").name == "L"  # the QUDT name wins over the ambiguous symbol (litre, lambert, lei...)


def test_all_units_is_the_shipped_table() -> None:
    table = units.all_units()
    assert len(table) > 2500
    assert table["W"] is get_unit("W")
    assert all(u.name == name for name, u in table.items())


# -- suggestions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "first"),
    [
        ("DEGC", "DEG_C"),
        ("deg_c", "DEG_C"),
        ("kw", "KiloW"),
        ("KW", "KiloW"),
        ("kWh", "KiloW-HR"),
        ("kilowatt", "KiloW"),
        ("degree celsius", "DEG_C"),
        ("percent", "PERCENT"),
        ("m3/h", "M3-PER-HR"),
        ("rpm", "REV-PER-MIN"),
        ("l_per_min", "L-PER-MIN"),
        ("unit:Deg_F", "DEG_F"),
    ],
)
def test_suggestions_for_typos(typo: str, first: str) -> None:
    hints = suggest_units(typo)
    assert hints[0] == first, hints
    assert len(hints) <= 3
    assert all(get_unit(h) is not None for h in hints)


def test_suggestions_are_deterministic_and_bounded() -> None:
    assert suggest_units("pa") == suggest_units("pa") == ["PA", "PetaA", "PicoA"]
    assert suggest_units("DEGC", n=1) == ["DEG_C"]
    assert suggest_units("xyzzy") == []


# -- conversion ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "value", "expected"),
    [
        ("DEG_F", "DEG_C", 212, 100.0),
        ("DEG_F", "DEG_C", 32, 0.0),
        ("DEG_F", "DEG_C", -40, -40.0),
        ("DEG_F", "DEG_C", 98.6, 37.0),
        ("DEG_C", "DEG_F", 100, 212.0),
        ("DEG_C", "DEG_F", 37, 98.6),
        ("DEG_C", "K", 0, 273.15),
        ("K", "DEG_C", 0, -273.15),
        ("KiloW", "W", 1.5, 1500.0),
        ("W", "KiloW", 1, 0.001),
        ("BAR", "KiloPA", 1, 100.0),
        ("KiloPA", "BAR", 250, 2.5),
        ("PSI", "BAR", 1, 0.0689475729316836),  # QUDT: 1 psi = 6894.757293168362 Pa
        ("BAR", "PSI", 1, 14.5037737730209),
        ("MilliBAR", "PA", 1013.25, 101325.0),
        ("HR", "SEC", 1, 3600.0),
        ("PERCENT", "UNITLESS", 50, 0.5),
        ("KiloW-HR", "J", 1, 3.6e6),
        ("L-PER-MIN", "M3-PER-HR", 1, 0.06),
    ],
)
def test_exact_conversions(a: str, b: str, value: float, expected: float) -> None:
    assert converter(a, b)(value) == expected


def test_no_negative_zero() -> None:
    assert str(converter("DEG_F", "DEG_C")(32.0)) == "0.0"
    assert str(converter("W", "KiloW")(-0.0)) == "0.0"


def test_identity_for_the_same_unit() -> None:
    f = converter("DEG_C", "unit:DEG_C")
    assert f(21.5) == 21.5
    assert f(1e300) == 1e300


@pytest.mark.parametrize(("a", "b"), [("DEG_F", "DEG_C"), ("PSI", "KiloPA"), ("KiloW-HR", "BTU_IT"), ("DEG_C", "K")])
def test_inverse_round_trips(a: str, b: str) -> None:
    there, back = converter(a, b), converter(b, a)
    rng = random.Random(7)
    for _ in range(1000):
        v = rng.uniform(-1e4, 1e4)
        assert back(there(v)) == pytest.approx(v, rel=1e-12, abs=1e-9)


def test_different_dimensions_are_refused_with_quantity_kinds() -> None:
    with pytest.raises(UnitError) as exc:
        converter("DEG_C", "KiloW")
    assert str(exc.value) == "cannot convert DEG_C (Temperature) to KiloW (Power): different dimensions"
    with pytest.raises(UnitError, match="cannot convert BAR"):
        converter("BAR", "M")


def test_unknown_units_are_refused() -> None:
    with pytest.raises(UnitError, match="unknown unit 'DEGC'"):
        converter("DEGC", "DEG_C")
    with pytest.raises(UnitError, match="unknown unit 'smoot'"):
        converter("M", "smoot")
    assert issubclass(UnitError, ValueError)


# -- RDF ----------------------------------------------------------------------------------------------------


def test_units_ntriples_describe_each_unit_once() -> None:
    text = units_ntriples(["DEG_C", "unit:DEG_C", "KiloW", "NO_SUCH_UNIT"])
    store = ox.Store()
    store.bulk_load(text.encode(), ox.RdfFormat.N_TRIPLES)
    q = """PREFIX qudt: <http://qudt.org/schema/qudt/>
    PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
    SELECT ?u ?label ?sym ?mul ?off ?code ?dim WHERE { ?u a qudt:Unit ; rdfs:label ?label ; qudt:symbol ?sym ;
      qudt:conversionMultiplier ?mul ; qudt:conversionOffset ?off ; qudt:uneceCommonCode ?code ;
      qudt:hasDimensionVector ?dim } ORDER BY ?u"""
    rows = [{k: s[k].value for k in ("u", "label", "sym", "mul", "off", "code")} for s in store.query(q)]
    assert rows == [
        {
            "u": "http://qudt.org/vocab/unit/DEG_C",
            "label": "Degree Celsius",
            "sym": "°C",
            "mul": "1",
            "off": "273.15",
            "code": "CEL",
        },
        {
            "u": "http://qudt.org/vocab/unit/KiloW",
            "label": "Kilowatt",
            "sym": "kW",
            "mul": "1000",
            "off": "0",
            "code": "KWT",
        },
    ]
    kinds = {
        s["k"].value for s in store.query("SELECT ?k WHERE { ?u <http://qudt.org/schema/qudt/hasQuantityKind> ?k }")
    }
    assert "http://qudt.org/vocab/quantitykind/Temperature" in kinds
    assert "http://qudt.org/vocab/quantitykind/Power" in kinds
    assert units_ntriples([]) == ""


# -- the derived table --------------------------------------------------------------------------------------


@pytest.mark.skipif(not QUDT_SOURCE.exists(), reason="QUDT vocabulary not present (only in the dev workspace)")
def test_shipped_table_is_what_the_script_derives(tmp_path: Path) -> None:
    out = tmp_path / "units.tsv"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "derive_units.py"), str(QUDT_SOURCE), str(out)], check=True)
    assert out.read_text(encoding="utf-8") == (ROOT / "ontology" / "units.tsv").read_text(encoding="utf-8")


def test_table_rows_are_well_formed() -> None:
    lines = [ln for ln in (ROOT / "ontology" / "units.tsv").read_text(encoding="utf-8").splitlines() if ln]
    assert lines[0].startswith("# Derived from the QUDT units vocabulary") and "CC BY 4.0" in lines[0]
    rows = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    assert all(len(r) == 8 for r in rows)
    names = [r[0] for r in rows]
    assert names == sorted(names) and len(set(names)) == len(names)
