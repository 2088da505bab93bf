"""The model's topology as the REST routes read it: location tree, relations both ways, what feeds what.

The model holds each relation once, on the entity that declares it; the routes also need the other direction
(ahu1 ``isFedBy`` boiler1 when boiler1 ``feeds`` ahu1), what sits in a location and everything under it, and
what a unit feeds through any chain of ``feeds``. Those indexes are built once per model state and kept by a
:class:`TopologyCache`: the routes read ``view.model`` on every request as before, and the cache notices run-time
additions (discovery adds assets and points to the same model object) by a model listener and by the sizes of
the model's tables.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.contract.model import Point, Relation, TargetKind
from gateway.classes import BRICK, compact

if TYPE_CHECKING:
    from gateway.model import TwinModel

FEEDS = BRICK + "feeds"
IS_FED_BY = BRICK + "isFedBy"

# (kind, id): ids are unique per kind only (a point id is "asset.point"), so kind is part of the key
EntityKey = tuple[TargetKind, str]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A relation another entity declares towards this one (seen from this one: the inverse direction)."""

    subject_kind: TargetKind
    subject: str
    relation: Relation


def nearest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known ids closest to ``name`` (spelling), best first; empty when none is close."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    if close:
        return close
    # a prefix or part of an id ("f1" for "hq-f1") is a likelier intent than an unrelated spelling
    return [k for k in known if name.lower() in k.lower()][:n]


class Topology:
    """Indexes over one state of a model: location tree, incoming relations, feeds, placement."""

    def __init__(self, model: TwinModel, key: tuple[int, ...] = ()) -> None:
        self.model = model
        self.key = key
        # curies under the mapping's own prefixes too (ex:maintainedBy), when the loader kept its vocabulary
        vocabulary = model.vocabulary
        self.compact: Callable[[str], str] = vocabulary.compact if vocabulary is not None else compact
        self.children: dict[str | None, list[str]] = {}
        for loc in model.locations.values():
            parent = loc.parent if loc.parent in model.locations else None
            self.children.setdefault(parent, []).append(loc.id)
        self.incoming: dict[EntityKey, list[Incoming]] = {}
        self._feeds: dict[EntityKey, list[EntityKey]] = {}
        for kind, ident, relations in self._declarations():
            for r in relations:
                self._index(kind, ident, r)
        self.assets_at: dict[str, list[str]] = {}  # location id -> assets placed directly there
        for a in model.assets.values():
            if a.location is not None:
                self.assets_at.setdefault(a.location, []).append(a.id)
        self.points_at: dict[str, list[str]] = {}  # location id -> points there (own or inherited location)
        self.points_of: dict[str, list[str]] = {}  # asset id -> its points
        for p in model.points.values():
            self.points_of.setdefault(p.asset, []).append(p.id)
            where = self.point_location(p)
            if where is not None:
                self.points_at.setdefault(where, []).append(p.id)
        self._reached: dict[str, frozenset[EntityKey]] = {}
        self._fed_points: dict[str, frozenset[str]] = {}

    def _declarations(self) -> Iterable[tuple[TargetKind, str, tuple[Relation, ...]]]:
        m = self.model
        yield from ((TargetKind.ASSET, a.id, a.relations) for a in m.assets.values() if a.relations)
        yield from ((TargetKind.POINT, p.id, p.relations) for p in m.points.values() if p.relations)
        yield from ((TargetKind.LOCATION, loc.id, loc.relations) for loc in m.locations.values() if loc.relations)

    def _index(self, kind: TargetKind, ident: str, r: Relation) -> None:
        subject: EntityKey = (kind, ident)
        if r.target_kind is TargetKind.TERM:
            return  # a vocabulary term (brick:Natural_Gas) has no page of its own to list it on
        target: EntityKey = (r.target_kind, r.target)
        self.incoming.setdefault(target, []).append(Incoming(kind, ident, r))
        # feeds is the one relation the filters follow; isFedBy says the same thing from the other end
        if r.predicate == FEEDS:
            self._feeds.setdefault(subject, []).append(target)
        elif r.predicate == IS_FED_BY:
            self._feeds.setdefault(target, []).append(subject)

    # -- locations -----------------------------------------------------------------------------------
    def point_location(self, p: Point) -> str | None:
        """Where a point is: its own location, else its asset's (``TwinModel.location_of``)."""
        return self.model.location_of(p.id)

    def subtree(self, location_id: str) -> list[str]:
        """A location and every location under it, depth first in declaration order."""
        out: list[str] = []
        stack = [location_id]
        while stack:
            lid = stack.pop()
            out.append(lid)
            stack.extend(reversed(self.children.get(lid, [])))
        return out

    def path(self, location_id: str) -> list[str]:
        """The location ids from the root down to this one (inclusive)."""
        out = [location_id]
        locations = self.model.locations
        cur = locations[location_id].parent
        while cur is not None and cur in locations and len(out) <= len(locations):  # bound: a cycle ends here
            out.append(cur)
            cur = locations[cur].parent
        return out[::-1]

    def tree(self) -> list[str]:
        """Every location, each before its children (roots and children in declaration order)."""
        out: list[str] = []
        for root in self.children.get(None, []):
            out.extend(self.subtree(root))
        return out

    def assets_under(self, location_id: str) -> list[str]:
        """Assets placed in this location or any under it, in tree order."""
        return [aid for lid in self.subtree(location_id) for aid in self.assets_at.get(lid, [])]

    def points_under(self, location_id: str) -> list[str]:
        """Points located in this location or any under it (own location or their asset's), in tree order."""
        return [pid for lid in self.subtree(location_id) for pid in self.points_at.get(lid, [])]

    # -- feeds ---------------------------------------------------------------------------------------
    def fed_by(self, asset_id: str) -> frozenset[EntityKey]:
        """Every entity ``asset_id`` feeds, directly or through a chain of feeds (itself only on a loop)."""
        reached = self._reached.get(asset_id)
        if reached is None:
            seen: set[EntityKey] = set()
            queue = deque(self._feeds.get((TargetKind.ASSET, asset_id), []))
            while queue:
                key = queue.popleft()
                if key not in seen:
                    seen.add(key)
                    queue.extend(self._feeds.get(key, []))
            reached = self._reached[asset_id] = frozenset(seen)
        return reached

    def points_fed_by(self, asset_id: str) -> frozenset[str]:
        """Points fed by ``asset_id``: their asset or they themselves are reached through feeds, or they are
        located in a location so reached (or one under it: feeding a zone feeds its rooms). The feeder's own
        points are not fed by it, even when it stands in a room it feeds (unless a loop of feeds comes back)."""
        fed = self._fed_points.get(asset_id)
        if fed is None:
            reached = self.fed_by(asset_id)
            out: set[str] = set()
            for kind, ident in reached:
                if kind is TargetKind.ASSET:
                    out.update(self.points_of.get(ident, ()))
                elif kind is TargetKind.POINT:
                    out.add(ident)
                elif ident in self.model.locations:
                    out.update(self.points_under(ident))
            if (TargetKind.ASSET, asset_id) not in reached:
                out.difference_update(self.points_of.get(asset_id, ()))
            fed = self._fed_points[asset_id] = frozenset(out)
        return fed

    def label(self, kind: TargetKind, ident: str) -> str | None:
        """The label of an entity of the twin; None when it is not (or no longer) there."""
        if kind is TargetKind.ASSET:
            a = self.model.assets.get(ident)
            return a.label if a else None
        if kind is TargetKind.POINT:
            p = self.model.points.get(ident)
            return p.label if p else None
        loc = self.model.locations.get(ident)
        return loc.label if loc else None


class TopologyCache:
    """The :class:`Topology` of the current model state, rebuilt only when the model has changed."""

    def __init__(self) -> None:
        self._generation = 0
        self._current: Topology | None = None

    def invalidate(self, *_: object) -> None:
        """Forget the indexes (a model listener: called after assets and points are added at run time)."""
        self._generation += 1

    def get(self, model: TwinModel) -> Topology:
        """The indexes of ``model`` as it is now."""
        # The sizes catch changes made without the listener (a model edited in place by a tool or a test).
        key = (self._generation, len(model.assets), len(model.points), len(model.locations))
        current = self._current
        if current is None or current.model is not model or current.key != key:
            current = self._current = Topology(model, key)
        return current
