"""Relationships between entities of the twin: Brick's (feeds, hasPart, meters, ...) and twinbridge's own.

The table ontology/brick-relations.tsv (derived from Brick 1.4 by scripts/derive_brick_relations.py, which says
where each column comes from) gives, per relation and direction: its inverse, which entity families it goes from
and to, classes its subject or object must (not) have, its OWL characteristics and its OPC UA reference type
names. ontology/brick-substances.tsv lists Brick's substances (the targets of hasInputSubstance). Both are read
once, at first use. The config loader checks relations with it; the twin and the OPC UA server may read it
for names (``relation(BRICK + "hasLocation").opcua_name`` is ``HasLocation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gateway.classes import BRICK, expand

_ONTOLOGY = Path(__file__).resolve().parent.parent / "ontology"
_TABLE = _ONTOLOGY / "brick-relations.tsv"
_SUBSTANCES = _ONTOLOGY / "brick-substances.tsv"
FAMILIES = ("equipment", "location", "collection", "point", "substance", "term")
HAS_LOCATION = BRICK + "hasLocation"


@dataclass(frozen=True, slots=True)
class RelationType:
    """One relation in one direction, e.g. brick:feeds (inverse brick:isFedBy)."""

    iri: str
    curie: str  # brick:feeds, tb:controls, ex:maintainedBy
    inverse: str | None  # full IRI; the relation itself when symmetric
    # subject family -> the families its objects may have; None: any entity or term (the integrator's own)
    endpoints: dict[str, frozenset[str]] | None
    subject_class: str | None = None  # "Meter": the subject must be a brick:Meter; "!Meter": must not
    object_class: str | None = None
    symmetric: bool = False
    asymmetric: bool = False
    irreflexive: bool = False
    acyclic: bool = False
    opcua_name: str = ""
    opcua_inverse_name: str | None = None
    label: str = ""

    @property
    def name(self) -> str:
        """The name written in mappings: the local name (``feeds``) for Brick's, the curie for the others."""
        return self.curie.removeprefix("brick:")


def _endpoints(text: str) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for part in text.split(";"):
        subjects, objects = part.strip().split(">")
        for s in subjects.split("|"):
            out[s] = out.get(s, frozenset()) | frozenset(objects.split("|"))
    return out


@cache
def _table() -> dict[str, RelationType]:
    out: dict[str, RelationType] = {}
    for line in _TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        curie, inverse, ends, subj, obj, flags, name, inv_name, label = line.split("\t")
        marks = set(flags.split(","))
        out[expand(curie)] = RelationType(
            iri=expand(curie),
            curie=curie,
            inverse=expand(inverse) if inverse else None,
            endpoints=_endpoints(ends),
            subject_class=subj or None,
            object_class=obj or None,
            symmetric="symmetric" in marks,
            asymmetric="asymmetric" in marks,
            irreflexive="irreflexive" in marks,
            acyclic="acyclic" in marks,
            opcua_name=name,
            opcua_inverse_name=inv_name or None,
            label=label,
        )
    return out


def relations() -> dict[str, RelationType]:
    """Every known relation by full IRI (both directions of each)."""
    return _table()


def relation(iri: str) -> RelationType | None:
    """A Brick or twinbridge relation by full IRI."""
    return _table().get(iri)


@cache
def _substances() -> dict[str, tuple[tuple[str, ...], str]]:
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for line in _SUBSTANCES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, broader, label = line.split("\t")
            out[BRICK + name] = (tuple(BRICK + b for b in broader.split(",") if b), label)
    return out


def substances() -> dict[str, str]:
    """Brick's substances: IRI -> label (brick:Hot_Water -> "Hot Water")."""
    return {iri: label for iri, (_, label) in _substances().items()}


def is_substance(iri: str) -> bool:
    """Whether ``iri`` is one of Brick 1.4's substances."""
    return iri in _substances()
