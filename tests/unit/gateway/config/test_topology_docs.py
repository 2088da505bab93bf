"""docs/mapping-topology.md: its example builds the model it describes, and its tables list every relation of the
table and every standard property key with its term."""

from __future__ import annotations

import re
from pathlib import Path

from gateway import classes, relations
from gateway.config.loader import load_mappings
from gateway.config.properties import STANDARD

ROOT = Path(__file__).resolve().parents[4]
DOC = (ROOT / "docs" / "mapping-topology.md").read_text(encoding="utf-8")


def test_the_example_builds_what_the_page_says() -> None:
    [block] = re.findall(r"^```yaml\n(.*?)^```", DOC, re.S | re.M)
    m = load_mappings(["doc.yaml"], texts={"doc.yaml": block})
    boiler = m.assets["boiler1"]
    assert boiler.location == "boilerroom"
    assert [(r.name, r.target) for r in boiler.relations] == [
        ("Feeds", "ahu1"),
        ("HasInputSubstance", classes.BRICK + "Natural_Gas"),
        ("Maintained by", "team-a"),
    ]
    assert {p.key: (p.value, p.unit) for p in boiler.properties}["rated_power"] == (40.0, "KiloW")
    assert [(r.name, r.target) for r in m.locations["office"].relations] == [("IsFedBy", "ahu1")]
    assert m.location_of("boiler1.supply_temp") == "boilerroom"  # inherited from its asset
    assert m.location_of("ahu1.room_temp") == "office"  # its own
    assert [loc.id for loc in m.location_ancestors("boilerroom")] == ["hq-f1", "hq", "plant"]


def test_every_relation_and_property_key_is_documented() -> None:
    table = DOC[DOC.index("| relation | inverse |") : DOC.index("## Properties")]
    for rt in relations.relations().values():
        assert f"`{rt.iri.rsplit('#', 1)[-1]}`" in table, rt.curie
        assert rt.opcua_name in table, rt.curie
    props = DOC[DOC.index("| key | term | value |") : DOC.index("## Errors")]
    for key, std in STANDARD.items():
        row = next(line for line in props.splitlines() if f"`{key}`" in line)
        assert f"`{classes.compact(std.predicate)}`" in row, key
