"""prefixes: and relation_types: (the integrator's own vocabulary), and the relation table derived from Brick 1.4."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway import relations
from gateway.config.vocabulary import Vocabulary
from tests.unit.gateway.config.conftest import Errors, Load

ROOT = Path(__file__).resolve().parents[4]
BRICK = "https://brickschema.org/schema/Brick#"
EX = "http://example.com/plant#"


def test_prefixes_and_relation_types_across_files(load: Load) -> None:
    m = load(
        'prefixes: {ex: "http://example.com/plant#", tb: "https://w3id.org/twinbridge#"}\n',
        types='relation_types:\n  - {id: "ex:maintainedBy", inverse: "ex:maintains", label: Maintained by,'
        " inverse_label: Maintains}\n",
        more='prefixes: {ex: "http://example.com/plant#"}\n',
    )
    vocab = m.vocabulary
    assert vocab.prefixes == {"ex": EX}  # a built-in prefix written with its own IRI is accepted, not stored
    by, of = vocab.relation_types[EX + "maintainedBy"], vocab.relation_types[EX + "maintains"]
    assert (by.curie, by.inverse, by.opcua_name, by.opcua_inverse_name) == (
        "ex:maintainedBy",
        EX + "maintains",
        "Maintained by",
        "Maintains",
    )
    assert (of.curie, of.inverse, of.opcua_name, of.opcua_inverse_name) == (
        "ex:maintains",
        EX + "maintainedBy",
        "Maintains",
        "Maintained by",
    )
    assert by.endpoints is None  # the integrator's own: any entity or term


def test_bad_prefixes(errors: Errors) -> None:
    errs = errors(
        'prefixes: {ex: "http://example.com/x#", "9x": "http://a/", ey: "ftp://x/", ez: "http://a/b",'
        ' brick: "http://other/"}\n',
        more='prefixes: {ex: "http://example.com/y#"}\n',
    )
    assert errs == [
        "m.yaml:1:41: prefixes.9x: '9x' is no prefix name (a letter, then letters, digits, _ or -)",
        "m.yaml:1:60: prefixes.ey: a namespace is an http(s) or urn IRI ending in '/', '#' or ':' (got 'ftp://x/')",
        "m.yaml:1:76: prefixes.ez: a namespace is an http(s) or urn IRI ending in '/', '#' or ':' (got 'http://a/b')",
        "m.yaml:1:94: prefixes.brick: 'brick' is a built-in prefix (https://brickschema.org/schema/Brick#); choose"
        " another name",
        "more.yaml:1:12: prefixes.ex: prefix 'ex' is already declared as http://example.com/x# (at m.yaml:1:12)",
    ]


def test_bad_relation_types(errors: Errors) -> None:
    errs = errors("""\
prefixes: {ex: "http://example.com/x#"}
relation_types:
  - {id: "ex:a", inverse: "ex:b"}
  - {id: "ex:b"}
  - {id: "brick:aliasOf"}
  - {id: "zz:foo"}
  - {id: "ex:c", inverse: "zz:d"}
  - {id: "ex:e", domain: equipment}
""")
    assert errs == [
        "m.yaml:4:6: relation_types[1].id: relation ex:b is already declared at m.yaml:3:5",
        "m.yaml:5:6: relation_types[2].id: brick:aliasOf is in Brick's or twinbridge's namespace; relation_types:"
        " declares your own relations (under a prefix of yours)",
        "m.yaml:6:6: relation_types[3].id: unknown prefix 'zz' in 'zz:foo' (declare it under prefixes:, or write a"
        " full IRI)",
        "m.yaml:7:18: relation_types[4].inverse: unknown prefix 'zz' in 'zz:d' (declare it under prefixes:, or write"
        " a full IRI)",
        "m.yaml:8:18: relation_types[5].domain: unknown key 'domain' (allowed: description, id, inverse,"
        " inverse_label, label)",
    ]


def test_the_relation_table() -> None:
    feeds = relations.relation(BRICK + "feeds")
    assert feeds is not None and feeds.inverse == BRICK + "isFedBy" and feeds.asymmetric and not feeds.acyclic
    assert feeds.endpoints is not None and feeds.endpoints["equipment"] == {"equipment", "location", "collection"}
    assert "point" not in feeds.endpoints
    part = relations.relation(BRICK + "hasPart")
    assert part is not None and part.acyclic and part.endpoints is not None
    assert part.endpoints["location"] == {"location"}
    connected = relations.relation(BRICK + "connectedTo")
    assert connected is not None and connected.symmetric and connected.inverse == connected.iri
    controls = relations.relation("https://w3id.org/twinbridge#controls")
    assert controls is not None and controls.opcua_inverse_name == "IsControlledBy"
    where = relations.relation(relations.HAS_LOCATION)
    assert where is not None and (where.opcua_name, where.opcua_inverse_name) == ("HasLocation", "IsLocationOf")
    assert relations.is_substance(BRICK + "Hot_Water") and relations.is_substance(BRICK + "Natural_Gas")
    assert not relations.is_substance(BRICK + "Boiler")
    assert relations.substances()[BRICK + "Chilled_Water"] == "Chilled Water"


def _brick_source() -> Path | None:
    try:
        import brickschema
    except ImportError:
        return None
    path = Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"
    return path if path.exists() else None


@pytest.mark.skipif(_brick_source() is None, reason="needs brickschema 0.8.0 (Brick 1.4): pip install -e '.[test]'")
def test_shipped_relation_tables_are_what_the_script_derives(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "derive_brick_relations.py"
    subprocess.run([sys.executable, str(script), str(_brick_source()), str(tmp_path)], check=True)
    for name in ("brick-relations.tsv", "brick-substances.tsv"):
        shipped = (ROOT / "ontology" / name).read_text(encoding="utf-8")
        assert (tmp_path / name).read_text(encoding="utf-8") == shipped, name


def test_compact_uses_the_longest_namespace_not_the_longest_prefix_name() -> None:
    vocab = Vocabulary(prefixes={"example": "http://x.test/", "ex": "http://x.test/plant#"})
    assert vocab.compact("http://x.test/plant#maintainedBy") == "ex:maintainedBy"
    assert vocab.compact("http://x.test/other") == "example:other"
    assert vocab.compact("http://elsewhere.test/a") == "http://elsewhere.test/a"
