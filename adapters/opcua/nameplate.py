"""DI nameplates for discovery: what a server says about the device behind each browsed Object.

OPC 10000-100 (Devices, "DI") puts a device's nameplate in the Properties of ``IVendorNameplateType``, which
``ComponentType`` and ``DeviceType`` implement: ``Manufacturer`` and ``Model`` (LocalizedText), ``SerialNumber``,
``SoftwareRevision``, ``HardwareRevision``, ``DeviceRevision``, ``ProductCode``, ``ManufacturerUri``,
``DeviceManual`` (String) and ``RevisionCounter`` (Int32), each a HasProperty child of the device Object with
its BrowseName in the DI namespace. Companion specifications built on DI (Machinery, OPC 40001-1) and DI's own
``Identification`` functional group put the same Properties on an ``Identification`` child Object: both places
are read, the device's own Properties winning.

Which BrowseNames count: when the server's namespace array holds the DI namespace, only names in it (a
vendor's own ``Model`` next to a DI nameplate means something else); when it does not (a server imitating the
nameplate without the DI nodeset loaded, as small devices and simulators do), the same names in any
namespace. A value of another type than DI gives it (a structure called ``Model``) is left out, not guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from asyncua import Client, ua

from adapters.opcua.browse import Found, browse_forward
from adapters.opcua.nodeids import good_value
from adapters.opcua.resolve import plain_node_id, read_attributes

DI_NAMESPACE = "http://opcfoundation.org/UA/DI/"
IDENTIFICATION = "Identification"
# DI browse name -> the Python type its value has (LocalizedText is read as its text)
NAMEPLATE: dict[str, type] = {
    "Manufacturer": str,
    "Model": str,
    "SerialNumber": str,
    "SoftwareRevision": str,
    "HardwareRevision": str,
    "DeviceManual": str,
    "ProductCode": str,
    "ManufacturerUri": str,
    "DeviceRevision": str,
    "RevisionCounter": int,
}


@dataclass
class Nameplate:
    """The DI nameplate of one Object: browse name -> value, and the Identification child it came from."""

    values: dict[str, str | int] = field(default_factory=dict)
    identification: Found | None = None  # an Identification child read as part of the nameplate


def di_name_filter(namespaces: list[str]) -> Callable[[int], bool]:
    """Whether a BrowseName in namespace index ``ns`` may be a DI name on this server (see the module doc)."""
    if DI_NAMESPACE in namespaces:
        di = namespaces.index(DI_NAMESPACE)
        return lambda ns: ns == di
    return lambda ns: True


def _objects(nodes: list[Found]) -> list[Found]:
    out: list[Found] = []
    for f in nodes:
        if f.node_class == ua.NodeClass.Object:
            out.append(f)
            out += _objects(f.children)
    return out


async def read_nameplates(client: Client, top: list[Found], namespaces: list[str], chunk: int) -> dict[int, Nameplate]:
    """``id(object)`` -> its nameplate, for every browsed Object that has at least one nameplate value."""
    is_di = di_name_filter(namespaces)
    objects = [f for f in _objects(top) if not (f.name == IDENTIFICATION and is_di(f.name_ns))]
    idents = {
        id(o): c
        for o in objects
        for c in o.children
        if c.node_class == ua.NodeClass.Object and c.name == IDENTIFICATION and is_di(c.name_ns)
    }
    if not objects:
        return {}
    own = await browse_forward(
        client, [o.node_id for o in objects], chunk, ua.ObjectIds.HasProperty, int(ua.NodeClass.Variable)
    )
    # an Identification group holds its values as Properties (Machinery) or Organizes them (DI)
    ident_refs = await browse_forward(
        client, [c.node_id for c in idents.values()], chunk, node_classes=int(ua.NodeClass.Variable)
    )
    ident_of = dict(zip(idents.keys(), ident_refs, strict=True))
    wanted: list[tuple[Found, bool, str, ua.NodeId]] = []  # (object, from Identification, name, variable)
    for obj, refs in zip(objects, own, strict=True):
        for from_ident, group in ((False, refs), (True, ident_of.get(id(obj), []))):
            for ref in group:
                name = ref.BrowseName.Name
                if name in NAMEPLATE and is_di(ref.BrowseName.NamespaceIndex):
                    wanted.append((obj, from_ident, name, plain_node_id(ref.NodeId)))
    values = await read_attributes(client, [(v, ua.AttributeIds.Value) for *_, v in wanted], chunk) if wanted else []
    out: dict[int, Nameplate] = {}
    # Identification values first, so the device's own Properties overwrite them
    for (obj, from_ident, name, _), dv in sorted(zip(wanted, values, strict=True), key=lambda w: not w[0][1]):
        value = _plain(good_value(dv), NAMEPLATE[name])
        if value is None:
            continue
        plate = out.setdefault(id(obj), Nameplate())
        plate.values[name] = value
        if from_ident:
            plate.identification = idents[id(obj)]
    return out


def _plain(value: Any, kind: type) -> str | int | None:
    """The value as DI types it, or None (absent, empty, or of another type)."""
    if isinstance(value, ua.LocalizedText):
        value = value.Text
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str) and value.strip():
        return value.strip()
    return None


def is_web_address(text: str) -> bool:
    """Whether ``text`` is an http(s) URL (a DeviceManual may also be a file path or a plain site name)."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
