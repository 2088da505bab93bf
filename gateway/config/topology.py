"""Relations between entities (``relations:`` on assets, points and locations) and where entities are
(``location:``), resolved once every entity of the load is built, since targets may be in any file.

Each relation name resolves through the vocabulary (Brick's and twinbridge's table, or a declared relation of the
integrator's own); each target is an asset, point (``asset.point``) or location id of this load or of the running
twin, or a term (``brick:Hot_Water``). Checked here: the Brick families each relation goes from and to
(gateway/relations.py), the classes it needs (meters goes from a meter), one statement per edge (``a feeds b``
and ``b isFedBy a`` are one edge), asymmetric relations one way only, no entity related to itself, and no cycle
in a hierarchy (hasPart with the ``parent:`` trees, the sub-meter tree).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from adapters.contract.model import Asset, AssetLevel, Location, Origin, Point, Relation, TargetKind
from gateway import classes, relations
from gateway.config.context import Ctx, RelationSource, nearest, origin
from gateway.config.errors import ConfigError
from gateway.config.vocabulary import VocabularyError
from gateway.config.yamlmarks import Marked, Path_
from gateway.relations import HAS_LOCATION, RelationType

E = TypeVar("E", Asset, Point, Location)
_METER = classes.BRICK + "Meter"
_WORDS = {"equipment": "equipment", "substance": "a Brick substance (brick:Hot_Water, brick:Natural_Gas, ...)"}
_REFUSED = {
    "hasPoint": "is not written under relations: a point belongs to the asset whose points: lists it (use points:)",
    "isPointOf": "is not written under relations: a point belongs to the asset whose points: lists it (use points:)",
    "isLocationOf": "is written the other way round: put location: <this location> on each asset or point here",
}


@dataclass(frozen=True, slots=True)
class _Entity:
    kind: TargetKind
    family: str
    classes: tuple[str, ...]
    what: str  # "a room", "equipment", "a point"


@dataclass(frozen=True, slots=True)
class _Edge:
    rt: RelationType
    kind: TargetKind  # of the subject
    subject: str
    rel: Relation
    doc: Marked
    path: Path_
    suffix: str

    def error(self, message: str) -> ConfigError:
        return self.doc.error(self.path, message + self.suffix)


def _a(word: str) -> str:
    return word if word in ("equipment",) or word.startswith("a ") else ("an " if word[:1] in "aeiou" else "a ") + word


def resolve_relations(
    ctx: Ctx, assets: dict[str, Asset], points: dict[str, Point], locations: dict[str, Location]
) -> None:
    """Resolve every queued ``relations:`` and put the relations on the entities (the dicts are updated)."""
    if not ctx.relation_sources:
        return
    index = _index(ctx, assets, points, locations)
    edges: list[_Edge] = []
    for src in ctx.relation_sources:
        subject = index.get(src.subject)
        if subject is None:
            continue  # the entity itself failed; its own error says why
        for name, targets in src.relations.items():
            edges.extend(_relations(ctx, index, src, subject, name, targets))
    edges = _once(ctx, edges)
    edges = _acyclic(ctx, edges, assets, locations)
    store: dict[TargetKind, dict[str, Any]] = {
        TargetKind.ASSET: assets,
        TargetKind.POINT: points,
        TargetKind.LOCATION: locations,
    }
    found: dict[tuple[TargetKind, str], list[Relation]] = {}
    for e in edges:
        found.setdefault((e.kind, e.subject), []).append(e.rel)
    for (kind, sid), rels in found.items():
        entity = store[kind][sid]
        store[kind][sid] = dataclasses.replace(entity, relations=(*entity.relations, *rels))


def _index(
    ctx: Ctx, assets: dict[str, Asset], points: dict[str, Point], locations: dict[str, Location]
) -> dict[str, _Entity]:
    run = ctx.running
    groups = [(run.assets, run.points, run.locations)] if run is not None else []
    out: dict[str, _Entity] = {}
    for a, p, lo in [*groups, (assets, points, locations)]:  # this load's entities win over the twin's
        out.update((i, _asset(x)) for i, x in a.items())
        out.update((i, _Entity(TargetKind.POINT, "point", x.classes, "point")) for i, x in p.items())
        out.update((i, _location(x)) for i, x in lo.items())
    return out


def _asset(a: Asset) -> _Entity:
    for c in a.classes:
        fam = classes.brick_family(c)
        if fam in ("equipment", "location", "collection"):
            return _Entity(TargetKind.ASSET, fam, a.classes, fam if fam == "equipment" else _noun(classes.label(c)))
    fam = "equipment" if a.level is AssetLevel.EQUIPMENT else "location"
    return _Entity(TargetKind.ASSET, fam, a.classes, fam if fam == "equipment" else a.level.value)


def _location(loc: Location) -> _Entity:
    brick = [c for c in loc.classes if classes.brick_family(c) == "location"]
    return _Entity(
        TargetKind.LOCATION, "location", loc.classes, _noun(classes.label(brick[-1])) if brick else "location"
    )


def _noun(label: str) -> str:
    """``Mechanical Room`` -> ``mechanical room``, ``HVAC Zone`` -> ``HVAC zone`` (acronyms kept)."""
    return " ".join(w if w.isupper() else w.lower() for w in label.split())


def _relations(
    ctx: Ctx, index: dict[str, _Entity], src: RelationSource, subject: _Entity, name: str, targets: Any
) -> Iterable[_Edge]:
    rpath = (*src.path, name)

    def err(sub: Path_, msg: str) -> None:
        ctx.errors.append(src.doc.error((*rpath, *sub), msg + src.suffix))

    try:
        rt = ctx.vocabulary.relation(name)
    except VocabularyError as exc:
        err((), str(exc))
        return
    local = rt.iri.rsplit("#", 1)[-1]
    if local in _REFUSED and rt.iri.startswith(classes.BRICK):
        err((), f"{name} {_REFUSED[local]}")
        return
    if rt.iri == HAS_LOCATION:
        err((), "a location is placed in the location tree with parent:, not hasLocation")
        return
    # a target written alone (feeds: ahu1) has no index in the file; one of a list has
    listed = isinstance(_written(src.doc, rpath), list)
    items = [(t, (i,) if listed else ()) for i, t in enumerate(targets)]
    if not items:
        err((), f"{name} names no target (write an id or a list of ids)")
    for target, sub in items:
        resolved = _target(ctx, index, rt, name, target, lambda m, s=sub: err(s, m))
        if resolved is None:
            continue
        tid, kind, fam, what, tclasses = resolved
        shown = ctx.vocabulary.compact(tid) if kind is TargetKind.TERM else tid
        problem = _fit(rt, name, src.subject, subject, shown, fam, what, tclasses)
        if problem:
            err(sub, problem)
            continue
        at = origin(src.doc, (*rpath, *sub))
        rel = Relation(rt.iri, tid, kind, rt.opcua_name, rt.inverse, rt.opcua_inverse_name, at)
        yield _Edge(rt, src.kind, src.subject, rel, src.doc, (*rpath, *sub), src.suffix)


def _written(doc: Marked, path: Path_) -> Any:
    data = doc.data
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _target(
    ctx: Ctx, index: dict[str, _Entity], rt: RelationType, name: str, target: Any, err: Any
) -> tuple[str, TargetKind, str, str, tuple[str, ...]] | None:
    """(id or IRI, kind, family, description, classes) of a target, or None after reporting why not."""
    wants_substance = rt.endpoints is not None and any("substance" in r for r in rt.endpoints.values())
    if not isinstance(target, str) or not target:
        err(f"a target is an id or a prefixed term (got {target!r})")
        return None
    if ":" in target:
        try:
            iri = ctx.vocabulary.expand(target)
        except VocabularyError as exc:
            err(str(exc))
            return None
        if relations.is_substance(iri):
            return iri, TargetKind.TERM, "substance", "substance", ()
        if wants_substance:
            subs = [classes.compact(s) for s in relations.substances()]
            close = [c for c in _close(classes.compact(iri), subs)]
            hint = f" (did you mean {', '.join(close)}?)" if close else " (e.g. brick:Hot_Water, brick:Natural_Gas)"
            err(f"{target} is no Brick substance{hint}")
            return None
        return iri, TargetKind.TERM, "term", "term", ()
    if wants_substance:
        err(f"{name} targets a Brick substance such as brick:Hot_Water or brick:Natural_Gas, not an id ('{target}')")
        return None
    entity = index.get(target)
    if entity is None:
        if not ctx.follow.follows("asset", target.split(".")[0], "relation"):
            err(
                f"unknown target '{target}' of {name}: no asset, point or location has this id" + nearest(target, index)
            )
        return None
    return target, entity.kind, entity.family, entity.what, entity.classes


def _close(text: str, known: list[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(text, known, n=2, cutoff=0.7)


def _fit(
    rt: RelationType, name: str, sid: str, subject: _Entity, tid: str, fam: str, what: str, tclasses: tuple[str, ...]
) -> str | None:
    """Why the relation cannot go from ``subject`` to the target, or None when it fits."""
    if rt.irreflexive and sid == tid:
        return f"{name} cannot go from '{sid}' to itself"
    if rt.endpoints is None:
        return None  # the integrator's own relation: any entity or term
    allowed = rt.endpoints.get(subject.family)
    if allowed is None or fam not in allowed:
        return (
            f"{name} cannot go from {_a(subject.what)} to {_a(what)} ('{sid}' -> '{tid}'): "
            f"{name} goes {_goes(rt.endpoints)}"
        )
    for cls, iris, who in ((rt.subject_class, subject.classes, sid), (rt.object_class, tclasses, tid)):
        if cls is None:
            continue
        is_meter = any(classes.is_a(c, _METER) for c in iris)
        if cls == "Meter" and not is_meter:
            end = "from" if who == sid else "to"
            return f"{name} goes {end} a meter (brick:Meter or a subclass); '{who}' is not one"
        if cls == "!Meter" and is_meter:
            return f"between meters use hasSubMeter/isSubMeterOf, not meters/isMeteredBy ('{who}' is a meter)"
    return None


def _goes(endpoints: dict[str, frozenset[str]]) -> str:
    """``from equipment or a collection to equipment, a location or a collection``."""
    groups: dict[frozenset[str], list[str]] = {}
    for subj, objs in endpoints.items():
        groups.setdefault(objs, []).append(subj)
    order = ("equipment", "point", "location", "collection", "substance")
    parts = []
    for objs, subjects in groups.items():
        tos = [_WORDS.get(f, _a(f)) for f in order if f in objs]
        froms = [_WORDS.get(f, _a(f)) for f in order if f in subjects]
        parts.append(f"from {_or(froms)} to {_or(tos)}")
    return "; ".join(parts)


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _key(rt: RelationType, s: str, t: str) -> tuple[str, str, str]:
    """One key per edge whichever side states it: ``a feeds b`` and ``b isFedBy a`` are (feeds, a, b)."""
    if rt.symmetric:
        lo, hi = sorted((s, t))
        return rt.iri, lo, hi
    if rt.inverse is not None and rt.inverse < rt.iri:
        return rt.inverse, t, s
    return rt.iri, s, t


def _once(ctx: Ctx, edges: list[_Edge]) -> list[_Edge]:
    """The edges stated once; a second statement (either side) and the reverse of an asymmetric one are errors."""
    seen: dict[tuple[str, str, str], Origin | None] = {}
    kept: list[_Edge] = []
    for e in edges:
        key = _key(e.rt, e.subject, e.rel.target)
        reverse = (key[0], key[2], key[1])
        if key in seen:
            ctx.errors.append(e.error(f"'{e.subject}' {e.rt.name} '{e.rel.target}' is already stated at {seen[key]}; "
                                      "state it once"))  # fmt: skip
        elif e.rt.asymmetric and reverse in seen:
            ctx.errors.append(
                e.error(f"{e.rt.name} cannot go both ways between '{e.subject}' and '{e.rel.target}' "
                        f"(the other way is stated at {seen[reverse]})")
            )  # fmt: skip
        else:
            seen[key] = e.rel.origin
            kept.append(e)
    return kept


def _acyclic(ctx: Ctx, edges: list[_Edge], assets: dict[str, Asset], locations: dict[str, Location]) -> list[_Edge]:
    """The edges without those closing a cycle in a hierarchy (hasPart with parent: edges, sub-meters)."""
    if not any(e.rt.acyclic for e in edges):
        return edges
    has_part = relations.relation(classes.BRICK + "hasPart")
    assert has_part is not None
    graph: dict[str, dict[str, set[str]]] = {}  # canonical relation -> node -> nodes it points to
    trees: list[Iterable[Asset | Location]] = [assets.values(), locations.values()]
    if ctx.running is not None:
        trees += [ctx.running.assets.values(), ctx.running.locations.values()]
    for tree in trees:
        for x in tree:
            if x.parent is not None:
                rel, u, v = _key(has_part, x.parent, x.id)
                graph.setdefault(rel, {}).setdefault(u, set()).add(v)
    for e in edges:
        if e.rt.acyclic:
            rel, u, v = _key(e.rt, e.subject, e.rel.target)
            graph.setdefault(rel, {}).setdefault(u, set()).add(v)
    kept: list[_Edge] = []
    for e in edges:
        rel, u, v = _key(e.rt, e.subject, e.rel.target)
        back = _route(graph[rel], v, u) if e.rt.acyclic else None
        if back is None:
            kept.append(e)
            continue
        canon = rel.rsplit("#", 1)[-1]
        chain = " -> ".join([u, *back])
        parents = ", parent: counted as hasPart" if rel == has_part.iri else ""
        ctx.errors.append(
            e.error(f"{e.rt.name} closes a cycle ({chain}, each -> a {canon} edge{parents}): "
                    "a hierarchy has no cycles; remove one of these")
        )  # fmt: skip
        graph[rel][u].discard(v)
    return kept


def _route(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The nodes from ``start`` to ``goal`` following ``graph`` (breadth first), or None."""
    before: dict[str, str | None] = {start: None}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        if node == goal:
            out: list[str] = []
            cur: str | None = node
            while cur is not None:
                out.append(cur)
                cur = before[cur]
            return out[::-1]
        for nxt in graph.get(node, ()):
            if nxt not in before:
                before[nxt] = node
                todo.append(nxt)
    return None
