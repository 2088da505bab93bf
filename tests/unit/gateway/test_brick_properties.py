"""ontology/brick-properties.ttl: Brick's relationship declarations, as the script derives them from Brick 1.4."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from gateway.ontology import BRICK_PROPERTIES_TTL, ontology_ntriples

ROOT = Path(__file__).resolve().parents[3]
BRICK = "https://brickschema.org/schema/Brick#"
OWL_INVERSE = "http://www.w3.org/2002/07/owl#inverseOf"


def _brick_source() -> Path | None:
    try:
        import brickschema  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"
    return path if path.exists() else None


def test_the_ontology_graph_declares_brick_inverses_and_the_live_value_terms() -> None:
    store = ox.Store()
    store.bulk_load(ontology_ntriples().encode(), ox.RdfFormat.N_TRIPLES)
    inverses = {
        (q.subject.value[len(BRICK) :], q.object.value[len(BRICK) :])
        for q in store.quads_for_pattern(None, ox.NamedNode(OWL_INVERSE), None)
        if q.subject.value.startswith(BRICK)
    }
    for pair in [("feeds", "isFedBy"), ("hasLocation", "isLocationOf"), ("hasPart", "isPartOf"),
                 ("meters", "isMeteredBy"), ("hasPoint", "isPointOf")]:  # fmt: skip
        assert pair in inverses and pair[::-1] in inverses
    for term in ("lastKnownValue", "value", "timestamp", "hasUnit", "ratedPowerOutput", "hasInputSubstance"):
        assert list(store.quads_for_pattern(ox.NamedNode(BRICK + term), None, None)), term


@pytest.mark.skipif(_brick_source() is None, reason="needs brickschema 0.8.0 (Brick 1.4): pip install -e '.[test]'")
def test_shipped_brick_properties_are_what_the_script_derives(tmp_path: Path) -> None:
    out = tmp_path / "brick-properties.ttl"
    script = ROOT / "scripts" / "derive_brick_properties.py"
    subprocess.run([sys.executable, str(script), str(_brick_source()), str(out)], check=True, capture_output=True)
    assert out.read_text(encoding="utf-8") == BRICK_PROPERTIES_TTL.read_text(encoding="utf-8")
