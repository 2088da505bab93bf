"""The integrator's own vocabulary: ``prefixes:`` and ``relation_types:``, shared by every file of a mapping.

Prefixes name namespaces for property keys, relation names and relation targets (``ex:warrantyEnd``); the
built-in ones (brick, tb, schema, qudt, ...) cannot be redefined. A relation outside Brick's and twinbridge's
table must be declared under ``relation_types:`` (with its inverse and labels) before it is used, so a typo in
a relation name is an error, not a new relation.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from gateway import classes, relations
from gateway.config.envvars import checked
from gateway.config.errors import ConfigError
from gateway.config.models import MappingFile, RelationTypeSpec
from gateway.config.yamlmarks import Marked, Path_
from gateway.relations import RelationType

_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_BUILTIN_NS = (classes.BRICK, classes.TB)


class VocabularyError(ValueError):
    """A name that resolves to no prefix, relation or term."""


def _local(iri: str) -> str:
    return re.split(r"[#/:]", iri)[-1]


def opcua_name(local: str) -> str:
    """``maintainedBy`` -> ``MaintainedBy``: the OPC UA reference type name of a relation without a label."""
    return local[:1].upper() + local[1:]


@dataclass
class Vocabulary:
    """Declared prefixes and relation types (both directions), with the places they were declared."""

    prefixes: dict[str, str] = field(default_factory=dict)
    relation_types: dict[str, RelationType] = field(default_factory=dict)
    declared_at: dict[str, str] = field(default_factory=dict)  # prefix or relation IRI -> "file:line:col"

    def all_prefixes(self) -> dict[str, str]:
        """Built-in and declared prefixes."""
        return {**classes.PREFIXES, **self.prefixes}

    def expand(self, curie: str) -> str:
        """Full IRI of a curie (declared or built-in prefix) or of a full IRI; ``VocabularyError`` otherwise."""
        if curie.startswith(("http://", "https://", "urn:")):
            return curie
        prefix, sep, local = curie.partition(":")
        known = self.all_prefixes()
        if not sep or prefix not in known:
            close = difflib.get_close_matches(prefix, list(known), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise VocabularyError(
                f"unknown prefix '{prefix}' in '{curie}' ({hint}declare it under prefixes:, or write a full IRI)"
            )
        return known[prefix] + local

    def compact(self, iri: str) -> str:
        """The curie of an IRI under the longest matching prefix, else the IRI."""
        prefixes = self.all_prefixes()
        # the longest namespace wins (ex: http://x/ and exa: http://x/a/ -> exa:b), not the longest prefix name
        best = max(
            (p for p, ns in prefixes.items() if iri.startswith(ns)), key=lambda p: len(prefixes[p]), default=None
        )
        return f"{best}:{iri[len(prefixes[best]) :]}" if best else iri

    def relation(self, name: str) -> RelationType:
        """The relation a mapping names: ``feeds``, ``controls``, ``brick:feeds``, a declared ``ex:...``."""
        if ":" not in name:
            by_name = _bare_names()
            if name in by_name:
                return by_name[name]
            close = difflib.get_close_matches(name, list(by_name), n=2)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise VocabularyError(
                f"unknown relation '{name}' ({hint}Brick relations are feeds, isFedBy, hasPart, isPartOf, meters, "
                "isMeteredBy, ...; your own are prefixed and declared under relation_types:)"
            )
        iri = self.expand(name)
        found = relations.relation(iri) or self.relation_types.get(iri)
        if found is not None:
            return found
        if iri.startswith(_BUILTIN_NS):
            ns = "Brick" if iri.startswith(classes.BRICK) else "twinbridge"
            known = [rt.curie for r, rt in relations.relations().items() if r.startswith(iri[: -len(_local(iri))])]
            close = difflib.get_close_matches(classes.compact(iri), known, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise VocabularyError(f"unknown {ns} relation {classes.compact(iri)} ({hint}known: {', '.join(known)})")
        raise VocabularyError(
            f"undeclared relation {name}: declare it under relation_types: "
            f'(- {{id: "{name}", inverse: ..., label: ...}})'
        )


def _bare_names() -> dict[str, RelationType]:
    return {_local(iri): rt for iri, rt in relations.relations().items()}


def collect_vocabulary(docs: list[tuple[Marked, MappingFile]], errors: list[ConfigError]) -> Vocabulary:
    """Every file's ``prefixes:`` then ``relation_types:`` (declared relations may use any file's prefixes)."""
    vocab = Vocabulary()
    for doc, skel in docs:
        for prefix, ns in skel.prefixes.items():
            _prefix(errors, vocab, doc, prefix, ns)
    for doc, skel in docs:
        for i, raw in enumerate(skel.relation_types):
            _relation_type(errors, vocab, doc, i, raw)
    return vocab


def _at(doc: Marked, path: Path_) -> str:
    line, col = doc.mark(path)
    return f"{doc.file}:{line}:{col}"


def _prefix(errors: list[ConfigError], vocab: Vocabulary, doc: Marked, prefix: str, ns: str) -> None:
    path = ("prefixes", prefix)
    if not _PREFIX.match(prefix):
        errors.append(doc.error(path, f"'{prefix}' is no prefix name (a letter, then letters, digits, _ or -)"))
    elif not ns.startswith(("http://", "https://", "urn:")) or not ns.endswith(("/", "#", ":")):
        errors.append(doc.error(path, f"a namespace is an http(s) or urn IRI ending in '/', '#' or ':' (got '{ns}')"))
    elif prefix in classes.PREFIXES and classes.PREFIXES[prefix] != ns:
        errors.append(
            doc.error(path, f"'{prefix}' is a built-in prefix ({classes.PREFIXES[prefix]}); choose another name")
        )
    elif prefix in vocab.prefixes and vocab.prefixes[prefix] != ns:
        first = vocab.declared_at[prefix]
        errors.append(
            doc.error(path, f"prefix '{prefix}' is already declared as {vocab.prefixes[prefix]} (at {first})")
        )
    elif prefix not in classes.PREFIXES:
        vocab.prefixes.setdefault(prefix, ns)
        vocab.declared_at.setdefault(prefix, _at(doc, path))


def _relation_type(errors: list[ConfigError], vocab: Vocabulary, doc: Marked, i: int, raw: Any) -> None:
    path = ("relation_types", i)
    spec = checked(RelationTypeSpec, raw, doc, path, errors)
    if spec is None:
        return
    expanded: dict[str, str | None] = {}
    for key in ("id", "inverse"):
        text = getattr(spec, key)
        try:
            expanded[key] = vocab.expand(text) if text is not None else None
        except VocabularyError as exc:
            errors.append(doc.error((*path, key), str(exc)))
            return
    iri, inverse = str(expanded["id"]), expanded["inverse"]
    # (iri, inverse iri, label, inverse label) of each direction
    names: list[tuple[str, str | None, str | None, str | None]] = [(iri, inverse, spec.label, spec.inverse_label)]
    if inverse is not None and inverse != iri:
        names.append((inverse, iri, spec.inverse_label, spec.label))
    for own, *_ in names:
        key = "id" if own == iri else "inverse"
        if own.startswith(_BUILTIN_NS):
            errors.append(
                doc.error((*path, key), f"{classes.compact(own)} is in Brick's or twinbridge's namespace; "
                          "relation_types: declares your own relations (under a prefix of yours)")
            )  # fmt: skip
            return
        if own in vocab.relation_types:
            errors.append(
                doc.error(
                    (*path, key), f"relation {vocab.compact(own)} is already declared at {vocab.declared_at[own]}"
                )
            )
            return
    for own, other, label, given in names:
        local = _local(own)
        other_label = given or (label if other == own else None)  # symmetric: its inverse is itself, named alike
        vocab.relation_types[own] = RelationType(
            iri=own,
            curie=vocab.compact(own),
            inverse=other,
            endpoints=None,
            symmetric=other == own,
            opcua_name=label or opcua_name(local),
            opcua_inverse_name=(other_label or opcua_name(_local(other))) if other is not None else None,
            label=label or local,
        )
        vocab.declared_at[own] = _at(doc, path)
