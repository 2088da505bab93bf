"""OPC UA data types and status codes, translated to twinbridge's values and back (no I/O).

A node's ``DataType`` attribute names a type node; servers often use subtypes (``Duration`` is a Double,
``UtcTime`` a DateTime, enumerations are Int32 on the wire), so the adapter walks up to one of the built-in
types below once per connection and then uses this table to decide whether a point's datatype can hold the
node's values, to turn received values into plain Python values, and to build the right Variant for writes.
"""

from __future__ import annotations

import enum
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import ua

from adapters.contract.model import DataType
from adapters.contract.sample import Value
from adapters.contract.status import StatusError, status_name


class Family(enum.Enum):
    """How a built-in OPC UA type relates to twinbridge datatypes."""

    BOOL = "bool"
    INT = "integer"
    FLOAT = "float"
    TEXT = "text"  # values read as strings (String, DateTime, LocalizedText, NodeId...)
    ANY = "any"  # abstract types (BaseDataType, Number): checked per value
    UNSUPPORTED = "unsupported"  # ByteString, structures, DataValue...


@dataclass(frozen=True, slots=True)
class BuiltinType:
    """A built-in OPC UA type: its name, family, integer range and the Variant type used to write it."""

    id: int
    name: str
    family: Family
    variant: ua.VariantType | None
    int_range: tuple[int, int] | None = None


def _int(i: int, name: str, lo: int, hi: int) -> BuiltinType:
    return BuiltinType(i, name, Family.INT, ua.VariantType(i), (lo, hi))


BUILTIN: dict[int, BuiltinType] = {
    t.id: t
    for t in (
        BuiltinType(1, "Boolean", Family.BOOL, ua.VariantType.Boolean),
        _int(2, "SByte", -(2**7), 2**7 - 1),
        _int(3, "Byte", 0, 2**8 - 1),
        _int(4, "Int16", -(2**15), 2**15 - 1),
        _int(5, "UInt16", 0, 2**16 - 1),
        _int(6, "Int32", -(2**31), 2**31 - 1),
        _int(7, "UInt32", 0, 2**32 - 1),
        _int(8, "Int64", -(2**63), 2**63 - 1),
        _int(9, "UInt64", 0, 2**64 - 1),
        BuiltinType(10, "Float", Family.FLOAT, ua.VariantType.Float),
        BuiltinType(11, "Double", Family.FLOAT, ua.VariantType.Double),
        BuiltinType(12, "String", Family.TEXT, ua.VariantType.String),
        BuiltinType(13, "DateTime", Family.TEXT, ua.VariantType.DateTime),
        BuiltinType(14, "Guid", Family.TEXT, ua.VariantType.Guid),
        BuiltinType(15, "ByteString", Family.UNSUPPORTED, None),
        BuiltinType(16, "XmlElement", Family.TEXT, ua.VariantType.XmlElement),
        BuiltinType(17, "NodeId", Family.TEXT, ua.VariantType.NodeId),
        BuiltinType(18, "ExpandedNodeId", Family.TEXT, ua.VariantType.ExpandedNodeId),
        BuiltinType(19, "StatusCode", Family.TEXT, None),
        BuiltinType(20, "QualifiedName", Family.TEXT, ua.VariantType.QualifiedName),
        BuiltinType(21, "LocalizedText", Family.TEXT, ua.VariantType.LocalizedText),
        BuiltinType(22, "Structure", Family.UNSUPPORTED, None),
        BuiltinType(23, "DataValue", Family.UNSUPPORTED, None),
        BuiltinType(24, "BaseDataType", Family.ANY, None),
        BuiltinType(25, "DiagnosticInfo", Family.UNSUPPORTED, None),
        BuiltinType(26, "Number", Family.ANY, None),
        BuiltinType(27, "Integer", Family.INT, None, (-(2**63), 2**63 - 1)),
        BuiltinType(28, "UInteger", Family.INT, None, (0, 2**64 - 1)),
        # enumerations travel as Int32
        BuiltinType(29, "Enumeration", Family.INT, ua.VariantType.Int32, (-(2**31), 2**31 - 1)),
    )
}

# which families each twinbridge datatype can take values from
_ACCEPTS: dict[str, set[Family]] = {
    "bool": {Family.BOOL, Family.INT, Family.ANY},
    "numeric": {Family.BOOL, Family.INT, Family.FLOAT, Family.ANY},
    "string": {Family.BOOL, Family.INT, Family.FLOAT, Family.TEXT, Family.ANY},
}


def _group(dt: DataType) -> str:
    if dt is DataType.BOOL:
        return "bool"
    return "string" if dt is DataType.STRING else "numeric"


def compatibility_problem(builtin: BuiltinType, datatype: DataType) -> str | None:
    """Why a point of ``datatype`` cannot take this node's values, or None when it can."""
    if builtin.family is Family.UNSUPPORTED:
        if builtin.id == 22:
            return (
                "the node holds a structure (ExtensionObject), which twinbridge does not decode; map the "
                "structure's component variables instead"
            )
        return f"values of OPC UA type {builtin.name} are not supported"
    if builtin.family in _ACCEPTS[_group(datatype)]:
        return None
    return f"the node's DataType is {builtin.name}, which a {datatype.value} point cannot hold"


def value_rank_problem(value_rank: int, index: int | None) -> str | None:
    """Why a node with this ValueRank cannot be read as the point asks (array without index...)."""
    if value_rank >= 0 and index is None:
        dims = "an array" if value_rank in (0, 1) else f"a {value_rank}-dimensional array"
        return f"the node holds {dims} (ValueRank {value_rank}); select one element with 'index:' in the address"
    if value_rank > 1:
        return f"the node holds a {value_rank}-dimensional array; only one-dimensional arrays can be indexed"
    if value_rank == -1 and index is not None:
        return f"the node holds a scalar (ValueRank -1) but the address selects element {index}"
    return None


class ValueProblem(StatusError):
    """A received value that cannot become a sample value; ``status`` is the OPC UA status to report."""


def from_ua(value: Any, index: int | None = None) -> Value:
    """A plain Python value (bool, int, float, str or None) from a received Variant value."""
    if isinstance(value, list | tuple):
        if index is None:
            raise ValueProblem("BadTypeMismatch", f"received an array of {len(value)} values; set 'index:'")
        if index >= len(value):
            raise ValueProblem("BadIndexRangeNoData", f"element {index} requested but the array has {len(value)}")
        value = value[index]
    elif index is not None and value is not None:
        raise ValueProblem("BadIndexRangeInvalid", f"element {index} requested but the node holds a scalar")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):  # enumerations decoded by asyncua
        return int(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, ua.LocalizedText):
        return value.Text
    if isinstance(value, ua.QualifiedName):
        return value.to_string()
    if isinstance(value, ua.NodeId):
        return value.to_string()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, ua.StatusCode):
        return status_name(value.value)
    if isinstance(value, ua.XmlElement):
        return value.Value
    raise ValueProblem("BadTypeMismatch", f"values of type {type(value).__name__} are not supported")


def to_variant(value: Value, builtin: BuiltinType) -> ua.Variant:
    """The Variant to write ``value`` into a node of this type; ``ValueProblem`` when it does not fit."""
    fam = builtin.family
    if value is None:
        raise ValueProblem("BadTypeMismatch", "cannot write an empty value")
    if builtin.variant is None:
        raise ValueProblem("BadTypeMismatch", f"writing nodes of OPC UA type {builtin.name} is not supported")
    vt = builtin.variant
    if fam is Family.BOOL:
        if isinstance(value, bool):
            return ua.Variant(value, vt)
        if isinstance(value, int | float) and value in (0, 1):
            return ua.Variant(bool(value), vt)
        raise ValueProblem("BadTypeMismatch", f"{value!r} is not a Boolean")
    if fam is Family.INT:
        if isinstance(value, str):
            raise ValueProblem("BadTypeMismatch", f"{value!r} is not a number")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueProblem("BadOutOfRange", f"{value} is not a finite number")
            value = round(value)
        assert builtin.int_range is not None
        lo, hi = builtin.int_range
        if not lo <= int(value) <= hi:
            raise ValueProblem("BadOutOfRange", f"{value} does not fit an OPC UA {builtin.name} ({lo}..{hi})")
        return ua.Variant(int(value), vt)
    if fam is Family.FLOAT:
        if isinstance(value, str):
            raise ValueProblem("BadTypeMismatch", f"{value!r} is not a number")
        return ua.Variant(float(value), vt)
    # text-like types
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    try:
        if vt is ua.VariantType.DateTime:
            ts = datetime.fromisoformat(text)
            return ua.Variant(ts if ts.tzinfo else ts.replace(tzinfo=UTC), vt)
        if vt is ua.VariantType.LocalizedText:
            return ua.Variant(ua.LocalizedText(text), vt)
        if vt is ua.VariantType.Guid:
            return ua.Variant(uuid.UUID(text), vt)
        if vt in (ua.VariantType.NodeId, ua.VariantType.ExpandedNodeId):
            return ua.Variant(ua.NodeId.from_string(text), vt)
        if vt is ua.VariantType.QualifiedName:
            return ua.Variant(ua.QualifiedName.from_string(text), vt)
        if vt is ua.VariantType.XmlElement:
            return ua.Variant(ua.XmlElement(ua.String(text)), vt)
    except (ValueError, ua.UaStringParsingError) as exc:
        raise ValueProblem("BadTypeMismatch", f"{text!r} is not a valid {builtin.name}: {exc}") from None
    return ua.Variant(text, vt)


def unece_code(unit_id: int) -> str | None:
    """The UNECE common code (``CEL``) packed into an ``EUInformation.UnitId`` (OPC 10000-8 5.6.3)."""
    if unit_id <= 0:
        return None
    chars = []
    while unit_id:
        chars.append(chr(unit_id & 0xFF))
        unit_id >>= 8
    code = "".join(reversed(chars))
    return code if code.isascii() and code.isprintable() else None
