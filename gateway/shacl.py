"""SHACL check of a materialized twin, reported in the integrator's terms (which point, which file).

The model graph plus the ontology graph (so ``sh:class`` follows Brick/twinbridge class hierarchies) are
validated with pyshacl against ontology/shapes.ttl. Each violation is turned into a ``ConfigError`` at the
mapping position of the point, asset or source it is about, with the shape's message — never raw SHACL output.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import rdflib
from rdflib.namespace import SH

from gateway.config.errors import ConfigError
from gateway.ontology import SHAPES_TTL, ontology_ntriples
from gateway.twin.materialize import model_ntriples, used_units
from gateway.twin.vocab import TwinIRIs

if TYPE_CHECKING:
    from gateway.model import Origin, TwinModel


@dataclass(frozen=True, slots=True)
class Violation:
    """One shape violation, in SHACL terms."""

    focus: str
    path: str | None
    message: str
    value: str | None


@cache
def _shapes() -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(SHAPES_TTL, format="turtle")
    return g


def validate_ntriples(data: str, *, ontology: str = "") -> list[Violation]:
    """Violations of the shapes by an N-Triples graph (the ontology text, if given, resolves classes)."""
    import pyshacl

    g = rdflib.Graph()
    g.parse(data=data + ontology, format="nt")
    conforms, results, _ = pyshacl.validate(
        g, shacl_graph=_shapes(), advanced=True, inference="none", allow_warnings=True
    )
    if conforms:
        return []
    out = []
    for r in results.subjects(rdflib.RDF.type, SH.ValidationResult):
        focus = results.value(r, SH.focusNode)
        path = results.value(r, SH.resultPath)
        msg = results.value(r, SH.resultMessage)
        value = results.value(r, SH.value)
        out.append(
            Violation(
                str(focus),
                str(path) if path else None,
                str(msg) if msg else "shape violated",
                str(value) if value is not None else None,
            )
        )
    return sorted(set(out), key=lambda v: (v.focus, v.message))


def _describe(model: TwinModel, ids: TwinIRIs, focus: str) -> tuple[str, Origin | None]:
    """("point 'x'", origin) for a focus node IRI."""
    pid = ids.point_id(focus.removesuffix("/ref"))
    if pid and pid in model.points:
        return f"point '{pid}'", model.points[pid].origin
    aid = ids.asset_id(focus)
    if aid and aid in model.assets:
        return f"asset '{aid}'", model.assets[aid].origin
    prefix = ids.base + "source/"
    if focus.startswith(prefix) and focus[len(prefix) :] in model.sources:
        sid = focus[len(prefix) :]
        return f"source '{sid}'", model.source_origins.get(sid)
    return focus, None


def check_model(model: TwinModel) -> list[ConfigError]:
    """Shape violations of the model's materialized graph, as errors at their mapping positions."""
    ids = TwinIRIs(model.settings.base_iri)
    violations = validate_ntriples(
        model_ntriples(model, ids), ontology=ontology_ntriples(sorted(used_units(model.points.values())))
    )
    errors = []
    for v in violations:
        what, origin = _describe(model, ids, v.focus)
        detail = f" (got {v.value})" if v.value and v.path is None and not v.value.startswith("http") else ""
        file, line, col = (origin.file, origin.line, origin.col) if origin else ("<twin>", 0, 0)
        errors.append(ConfigError(file, line, col, what, f"{v.message}{detail}"))
    return errors
