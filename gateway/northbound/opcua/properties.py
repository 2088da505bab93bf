"""Static properties of assets, points and locations as OPC UA nodes (the nameplate part of the topology).

Properties (``HasProperty``, ``PropertyType``, read-only) of String, Boolean, Int64, Double, DateTime, or
String[] for documents; a quantity (a value with a unit) is a Double DataVariable of ``AnalogUnitType``
(``HasComponent``) with the ``EngineeringUnits`` points have, because a Property may not have Properties of its
own (OPC 10000-3 §5.6.3). A relation to a vocabulary term (``hasInputSubstance: brick:Natural_Gas``) is the String
Property ``InputSubstance = "Natural_Gas"``. NodeIds: ``s=<owner>#<name>``, ``s=<owner>#<name>#EngineeringUnits``.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable, Iterable, Iterator

from asyncua import ua

from adapters.contract.model import Property, PropertyValue, Relation
from gateway.northbound.opcua.address_space import NodeIds, eu_information, node_item, property_item, standard_id

log = logging.getLogger("twinbridge.opcua")

_READ = ua.AccessLevel.CurrentRead.mask
_UNIT_TYPES = (ua.ObjectIds.AnalogUnitType, ua.ObjectIds.BaseAnalogType)  # with EngineeringUnits / without


def local_name(iri: str) -> str:
    """The last segment of an IRI: ``https://brickschema.org/schema/Brick#Natural_Gas`` -> ``Natural_Gas``."""
    return re.split(r"[#/:]", iri.rstrip("#/"))[-1]


def pascal(text: str) -> str:
    """A BrowseName from a label: ``Rated power`` -> ``RatedPower``, ``serial_number`` -> ``SerialNumber``."""
    name = "".join(w[:1].upper() + w[1:] for w in re.split(r"[\W_]+", text) if w)
    return name or text


def _variant(value: PropertyValue) -> tuple[ua.Variant, int]:
    """A property value as a Variant and its DataType."""
    if isinstance(value, bool):
        return ua.Variant(value, ua.VariantType.Boolean), ua.ObjectIds.Boolean
    if isinstance(value, int):
        return ua.Variant(value, ua.VariantType.Int64), ua.ObjectIds.Int64
    if isinstance(value, float):
        return ua.Variant(value, ua.VariantType.Double), ua.ObjectIds.Double
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return ua.Variant(moment, ua.VariantType.DateTime), ua.ObjectIds.DateTime
    if isinstance(value, datetime.date):  # a day: its midnight UTC
        moment = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
        return ua.Variant(moment, ua.VariantType.DateTime), ua.ObjectIds.DateTime
    if isinstance(value, tuple):
        return ua.Variant(list(value), ua.VariantType.String, is_array=True), ua.ObjectIds.String
    return ua.Variant(str(value), ua.VariantType.String), ua.ObjectIds.String


def property_items(
    ids: NodeIds,
    parent: ua.NodeId,
    owner: str,
    properties: Iterable[Property],
    terms: dict[str, list[Relation]],
    curie: Callable[[str], str],
) -> list[ua.AddNodesItem]:
    """Nodes for an owner's static properties and vocabulary-term relations, under ``parent`` whose NodeId is
    ``s=<owner>`` (Description: the term's curie)."""
    items: list[ua.AddNodesItem] = []
    taken = {"EngineeringUnits", "EURange"}  # a point's own properties
    for name, label, predicate, value, unit in _named(properties, terms):
        if name in taken:
            log.warning("%s: OPC UA property %s given twice (or a point's own): %s is not shown", owner, name, label)
            continue
        taken.add(name)
        nodeid = ids.prop(owner, name)
        description = curie(predicate)
        if unit is not None and isinstance(value, int | float) and not isinstance(value, bool):
            items += _quantity_items(ids, parent, nodeid, name, label, description, float(value), unit)
            continue
        variant, dtype = _variant(value)
        items.append(property_item(nodeid, parent, name, ids.ns, variant, dtype, label=label, description=description))
    return items


def _named(
    properties: Iterable[Property], terms: dict[str, list[Relation]]
) -> Iterator[tuple[str, str, str, PropertyValue, str | None]]:
    """(BrowseName, label, predicate, value, unit) of each property and each term relation."""
    for p in properties:
        yield pascal(p.label or p.key), p.label or p.key, p.predicate, p.value, p.unit
    for rel_name, rels in terms.items():
        name = rel_name[3:] if rel_name.startswith("Has") and rel_name[3:4].isupper() else rel_name
        values = tuple(local_name(r.target) for r in rels)
        yield name, name, rels[0].predicate, values[0] if len(values) == 1 else values, None


def _quantity_items(
    ids: NodeIds,
    parent: ua.NodeId,
    nodeid: ua.NodeId,
    name: str,
    label: str,
    description: str,
    value: float,
    unit: str,
) -> list[ua.AddNodesItem]:
    """A Double AnalogUnitType DataVariable with the EngineeringUnits a point of that unit has."""
    eu = eu_information(unit)
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(label)
    attrs.Description = ua.LocalizedText(description)
    attrs.DataType = standard_id(ua.ObjectIds.Double)
    attrs.ValueRank = ua.ValueRank.Scalar
    attrs.Value = ua.Variant(value, ua.VariantType.Double)
    attrs.AccessLevel = attrs.UserAccessLevel = _READ
    attrs.Historizing = False
    typedef = standard_id(_UNIT_TYPES[0] if eu is not None else _UNIT_TYPES[1])
    var = ua.NodeClass.Variable
    items = [node_item(nodeid, parent, ua.ObjectIds.HasComponent, name, ids.ns, var, attrs, typedef)]
    if eu is not None:
        eu_id = ids.prop(str(nodeid.Identifier), "EngineeringUnits")
        items.append(property_item(eu_id, nodeid, "EngineeringUnits", 0, ua.Variant(eu), ua.ObjectIds.EUInformation))
    return items
