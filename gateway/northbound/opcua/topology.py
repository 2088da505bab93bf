"""The twin's topology in OPC UA: relations as references, the location tree, nameplate properties.

- **Reference types.** Each relation the model uses is a ReferenceType of the twin's namespace, a subtype of
  NonHierarchicalReferences named after it (``Feeds`` with InverseName ``IsFedBy``; ``HasLocation`` /
  ``IsLocationOf`` for the ``location`` of assets and points). A relation and its inverse are one type, named
  after the active side, so ``vav1 isFedBy ahu1`` and ``ahu1 feeds vav2`` are both found by a client following
  ``Feeds`` from ahu1. The types are created before the nodes that use them.
- **References.** One per relation between the nodes of its two ends, stored on both (forward on the source,
  inverse on the target; asyncua's ``add_references`` stores only the side it is given), so a browse in either
  direction finds it.
- **Locations.** A ``Locations`` folder under the twin's root holds the location tree (``Organizes``), each
  location an Object typed by its first Brick class (``brick_Room``, a subtype of ``Location``).
- **Properties.** Static properties of assets, points and locations, and relations to vocabulary terms
  (``InputSubstance = "Natural_Gas"``): gateway/northbound/opcua/properties.py.

NodeIds (twin namespace): ``s=reftype:<name>``, ``s=folder:Locations``, ``s=location:<id>``,
``s=<owner>#<property>`` (owner: an asset or point id, or ``location:<id>``) and
``s=<owner>#<property>#EngineeringUnits``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from asyncua import ua
from asyncua.server.address_space import AddressSpace

from adapters.contract.model import Asset, Location, Point, Property, Relation, TargetKind
from gateway import classes
from gateway.model import TwinModel
from gateway.northbound.opcua.address_space import (
    NodeIds,
    node_item,
    standard_id,
    type_item,
    type_name,
)
from gateway.northbound.opcua.fast_nodes import add_references_fast
from gateway.northbound.opcua.properties import local_name, pascal, property_items

log = logging.getLogger("twinbridge.opcua")

HAS_LOCATION = classes.BRICK + "hasLocation"
IS_LOCATION_OF = classes.BRICK + "isLocationOf"
LOCATION_TYPE = "Location"


@dataclass(frozen=True, slots=True)
class ReferenceType:
    """A relation as an OPC UA ReferenceType: ``active`` is the predicate IRI read from source to target."""

    nodeid: ua.NodeId
    name: str
    inverse_name: str | None  # None: symmetric (both ends see the same name)
    active: str


@dataclass(slots=True)
class TopologyBatch:
    """What one build adds: ``types`` go before every instance, ``nodes`` after the assets and points they hang
    under, ``references`` once all nodes exist (``Topology.link``)."""

    types: list[ua.AddNodesItem] = field(default_factory=list)
    nodes: list[ua.AddNodesItem] = field(default_factory=list)
    references: list[tuple[ua.NodeId, ReferenceType, ua.NodeId]] = field(default_factory=list)


# An asset, point or location: (its NodeId from its id, id, relations, properties, location id)
_Owner = tuple[Callable[[str], ua.NodeId], str, tuple[Relation, ...], tuple[Property, ...], str | None]


class Topology:
    """Topology nodes and references of one server; keeps what it built so a model change adds only what is
    new (assets discovered at run time with a location, relations or properties)."""

    def __init__(self, ids: NodeIds) -> None:
        self.ids = ids
        self._types: dict[tuple[str, str], ReferenceType] = {}
        self._type_names: set[str] = set()
        self._locations: set[str] = set()
        self._location_ids: dict[str, ua.NodeId] = {}  # one NodeId per room for its thousands of references
        self._folder = False
        self._linked: set[tuple[str, str, str]] = set()
        self._pending: list[tuple[ua.NodeId, ReferenceType, ua.NodeId]] = []
        self._vocabulary: object = None
        self._curies: dict[str, str] = {}

    # -- one build ----------------------------------------------------------------------------------------
    def batch(
        self, model: TwinModel, assets: Iterable[Asset], points: Iterable[Point], known: set[str]
    ) -> TopologyBatch:
        """The topology of new assets and points (and of locations not built yet); ``known`` are type names."""
        ids = self.ids
        self._vocabulary = model.vocabulary  # the mapping's own prefixes, for curies
        locations = self._new_locations(model)
        owners: list[_Owner] = [(ids.asset, a.id, a.relations, a.properties, a.location) for a in assets]
        # a point without a location of its own is where its asset is, as in the twin's graph
        owners += [(ids.point, p.id, p.relations, p.properties, model.location_of(p.id)) for p in points]
        owners += [(ids.location, loc.id, loc.relations, loc.properties, None) for loc in locations]
        out = TopologyBatch()
        out.types += self._location_types(locations, known)
        out.nodes += self._location_items(model, locations)
        for make_id, eid, relations, properties, location in owners:
            if not (relations or properties or location):
                continue  # most points of a big twin: no NodeId made for them here
            nodeid = make_id(eid)
            if location is not None:
                rtype = self._reference_type(HAS_LOCATION, IS_LOCATION_OF, "HasLocation", "IsLocationOf", out)
                self._plan(out, nodeid, rtype, self._location_id(location), True)
            terms: dict[str, list[Relation]] = {}
            for rel in relations:
                if rel.target_kind is TargetKind.TERM:
                    terms.setdefault(rel.name, []).append(rel)
                    continue
                rtype = self._reference_type(rel.predicate, rel.inverse, rel.name, rel.inverse_name, out)
                self._plan(out, nodeid, rtype, self._target(rel), rel.predicate == rtype.active)
            if properties or terms:
                out.nodes += property_items(ids, nodeid, str(nodeid.Identifier), properties, terms, self._curie)
        return out

    def link(self, aspace: AddressSpace, batch: TopologyBatch) -> None:
        """Add the batch's references (and earlier ones whose end did not exist yet) on both of their nodes."""
        todo, self._pending = self._pending + batch.references, []
        items: list[ua.AddReferencesItem] = []
        for source, rtype, target in todo:
            if source not in aspace or target not in aspace:
                self._pending.append((source, rtype, target))  # an end added later (a run-time discovery)
                continue
            symmetric = rtype.inverse_name is None
            items.append(_reference(source, rtype.nodeid, target, forward=True))
            items.append(_reference(target, rtype.nodeid, source, forward=symmetric))
        bad = [it for it, r in zip(items, add_references_fast(aspace, items), strict=True) if not r.is_good()]
        if bad:
            log.warning("%d OPC UA reference(s) could not be added, first: %s", len(bad), bad[0])
        if self._pending:
            log.debug("%d OPC UA reference(s) wait for a node, first: %s", len(self._pending), self._pending[0])

    # -- reference types ----------------------------------------------------------------------------------
    def _reference_type(
        self, predicate: str, inverse: str | None, name: str, inverse_name: str | None, out: TopologyBatch
    ) -> ReferenceType:
        key = (min(predicate, inverse), max(predicate, inverse)) if inverse else (predicate, "")
        known = self._types.get(key)
        if known is not None:
            return known
        if inverse is None:  # a non-symmetric type needs an InverseName (OPC 10000-3 §5.3.2): make one up
            active, fwd, back = predicate, name, inverse_name or _inverse_of(name)
        elif inverse == predicate:
            active, fwd, back = predicate, name, None
        else:
            back_name = inverse_name or pascal(local_name(inverse))
            active = _active_side(predicate, name, inverse, back_name)
            fwd, back = (name, back_name) if active == predicate else (back_name, name)
        fwd = self._unique_name(fwd, active)
        rtype = ReferenceType(self.ids.reference_type(fwd), fwd, back, active)
        self._types[key] = rtype
        out.types.append(_reference_type_item(self.ids, rtype, self._curie(rtype.active)))
        return rtype

    def _unique_name(self, name: str, active: str) -> str:
        """ReferenceType BrowseNames are unique in a server: a second relation named alike gets its curie."""
        if name in self._type_names:
            base = other = self._curie(active).replace(":", "_")
            n = 2
            while other in self._type_names:
                other, n = f"{base}_{n}", n + 1
            log.warning("two relations are named %s in OPC UA: %s is %s there", name, self._curie(active), other)
            name = other
        self._type_names.add(name)
        return name

    def _curie(self, iri: str) -> str:
        """An IRI under the mapping's or the built-in prefixes, once per term (a nameplate per equipment names
        the same few terms)."""
        curie = self._curies.get(iri)
        if curie is None:
            compact = getattr(self._vocabulary, "compact", None) or classes.compact
            curie = self._curies[iri] = compact(iri)
        return curie

    def _plan(self, out: TopologyBatch, owner: ua.NodeId, rtype: ReferenceType, other: ua.NodeId, fwd: bool) -> None:
        source, target = (owner, other) if fwd else (other, owner)
        if rtype.inverse_name is None and str(source.Identifier) > str(target.Identifier):
            source, target = target, source  # symmetric: a-b and b-a are one reference
        key = (str(source.Identifier), rtype.name, str(target.Identifier))
        if key not in self._linked:  # declared from both ends (feeds here, isFedBy there) counts once
            self._linked.add(key)
            out.references.append((source, rtype, target))

    def _location_id(self, lid: str) -> ua.NodeId:
        nodeid = self._location_ids.get(lid)
        if nodeid is None:
            nodeid = self._location_ids[lid] = self.ids.location(lid)
        return nodeid

    def _target(self, rel: Relation) -> ua.NodeId:
        if rel.target_kind is TargetKind.LOCATION:
            return self._location_id(rel.target)
        return self.ids.point(rel.target) if rel.target_kind is TargetKind.POINT else self.ids.asset(rel.target)

    # -- locations ----------------------------------------------------------------------------------------
    def _new_locations(self, model: TwinModel) -> list[Location]:
        """Locations not built yet, every parent before its children."""
        new = {lid: loc for lid, loc in model.locations.items() if lid not in self._locations}
        out: list[Location] = []

        def visit(loc: Location) -> None:
            if loc.id in self._locations:
                return
            self._locations.add(loc.id)
            if loc.parent in new:
                visit(new[loc.parent])
            out.append(loc)

        for loc in new.values():
            visit(loc)
        return out

    def _location_types(self, locations: list[Location], known: set[str]) -> list[ua.AddNodesItem]:
        items: list[ua.AddNodesItem] = []
        if locations and LOCATION_TYPE not in known:
            known.add(LOCATION_TYPE)
            base = standard_id(ua.ObjectIds.BaseObjectType)
            items.append(type_item(self.ids, LOCATION_TYPE, "twinbridge location", base, False))
        for loc in locations:
            for c in loc.classes:
                if type_name(c) not in known:
                    known.add(type_name(c))
                    items.append(
                        type_item(self.ids, type_name(c), classes.label(c), self.ids.type(LOCATION_TYPE), False)
                    )
        return items

    def _location_items(self, model: TwinModel, locations: list[Location]) -> list[ua.AddNodesItem]:
        ids = self.ids
        items: list[ua.AddNodesItem] = []
        if locations and not self._folder:
            self._folder = True
            attrs = _object_attributes("Locations", "where the twin's assets and points are (brick:hasLocation)")
            folder_type = standard_id(ua.ObjectIds.FolderType)
            org = ua.ObjectIds.Organizes
            items.append(
                node_item(ids.locations_folder(), ids.root(), org, "Locations", ids.ns, _OBJECT, attrs, folder_type)
            )
        for loc in locations:
            parent = ids.location(loc.parent) if loc.parent in model.locations else ids.locations_folder()
            typedef = ids.type(type_name(loc.classes[0]) if loc.classes else LOCATION_TYPE)
            attrs = _object_attributes(loc.label, loc.description or loc.label)
            items.append(
                node_item(ids.location(loc.id), parent, ua.ObjectIds.Organizes, loc.id, ids.ns, _OBJECT, attrs, typedef)
            )
        return items


_OBJECT = ua.NodeClass.Object


def _object_attributes(label: str, description: str) -> ua.ObjectAttributes:
    attrs = ua.ObjectAttributes()
    attrs.DisplayName = ua.LocalizedText(label)
    attrs.Description = ua.LocalizedText(description)
    attrs.EventNotifier = 0
    return attrs


def _reference_type_item(ids: NodeIds, rtype: ReferenceType, description: str) -> ua.AddNodesItem:
    attrs = ua.ReferenceTypeAttributes()
    attrs.DisplayName = ua.LocalizedText(rtype.name)
    attrs.Description = ua.LocalizedText(description)
    attrs.IsAbstract = False
    attrs.Symmetric = rtype.inverse_name is None
    if rtype.inverse_name is None:  # a symmetric type has no InverseName (OPC 10000-3 §5.3.2)
        attrs.SpecifiedAttributes &= ~ua.NodeAttributesMask.InverseName
    else:
        attrs.InverseName = ua.LocalizedText(rtype.inverse_name)
    parent = standard_id(ua.ObjectIds.NonHierarchicalReferences)
    kind = ua.NodeClass.ReferenceType
    return node_item(rtype.nodeid, parent, ua.ObjectIds.HasSubtype, rtype.name, ids.ns, kind, attrs, None)


def _reference(source: ua.NodeId, rtype: ua.NodeId, target: ua.NodeId, *, forward: bool) -> ua.AddReferencesItem:
    # every field set here, without the dataclass's default factories (~5 µs an item, two items a relation)
    item = object.__new__(ua.AddReferencesItem)
    item.SourceNodeId, item.ReferenceTypeId, item.TargetNodeId = source, rtype, target
    item.IsForward, item.TargetServerUri, item.TargetNodeClass = forward, None, ua.NodeClass.Unspecified
    return item


# -- names ----------------------------------------------------------------------------------------------
def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]


def _passive(name: str) -> bool:
    """``IsFedBy``, ``IsPartOf``, ``Maintained by``: the side seen from the target."""
    words = _words(name)
    return bool(words) and (words[0] == "is" or words[-1] in ("by", "of"))


def _active_side(predicate: str, name: str, inverse: str, inverse_name: str) -> str:
    """Which of a relation and its inverse names the reference type: the active one (``feeds``, not
    ``isFedBy``); when the names do not tell, the smaller IRI, so the choice never depends on the order."""
    if _passive(name) != _passive(inverse_name):
        return inverse if _passive(name) else predicate
    return min(predicate, inverse)


def _inverse_of(name: str) -> str:
    """An InverseName for a relation without an inverse: ``HasX`` -> ``IsXOf`` (Brick's habit), else
    ``InverseOf<name>``."""
    if name.startswith("Has") and name[3:4].isupper():
        return f"Is{name[3:]}Of"
    return f"InverseOf{name}"
