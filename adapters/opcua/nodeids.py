"""Parsing of OPC UA NodeId strings and browse paths, with no I/O.

Integrators write node ids the way OPC UA tools print them (``ns=2;s=Boiler.Temp``, ``i=2258``,
``g=...``, ``b=...``) or with the namespace URI instead of its index (``nsu=urn:plant;s=Boiler.Temp``),
because namespace indexes may change between server versions while URIs do not. Browse paths such as
``/Objects/2:Boiler/2:Temp`` or ``/Objects/plant:Boiler/plant:Temp`` (``plant`` declared in the source's
``namespaces:``) are resolved to node ids once per connection. Everything here is checked at config time,
so a typo fails ``twinbridge validate`` with a clear message instead of a Bad point at run time.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncua import ua

_NS = re.compile(r"^ns=(?P<ns>[^;]*);(?P<rest>.*)$", re.S)
_NSU = re.compile(r"^nsu=(?P<uri>.+?);(?P<rest>[isgb]=.*)$", re.S)
_MAX_NS = 65535
_MAX_UINT32 = 2**32 - 1


class NodeIdError(ValueError):
    """A node id or browse path that cannot be parsed, with the reason."""


class NamespaceNotFound(LookupError):
    """A namespace URI or prefix the server does not know."""


@dataclass(frozen=True, slots=True)
class NodeRef:
    """A parsed node id; the namespace is an index or a URI resolved against the server's namespace array."""

    kind: str  # "i", "s", "g" or "b"
    identifier: int | str | uuid.UUID | bytes
    ns: int = 0
    ns_uri: str | None = None

    def __str__(self) -> str:
        ident = self.identifier
        if isinstance(ident, bytes):
            ident = base64.b64encode(ident).decode("ascii")
        prefix = f"nsu={self.ns_uri};" if self.ns_uri is not None else (f"ns={self.ns};" if self.ns else "")
        return f"{prefix}{self.kind}={ident}"

    def to_ua(self, namespaces: Sequence[str]) -> ua.NodeId:
        """The asyncua NodeId, looking ``nsu=`` up in the server's namespace array."""
        ns = self.ns if self.ns_uri is None else namespace_index(self.ns_uri, namespaces)
        # asyncua picks the compact encodings (TwoByte/FourByte) itself when the type is left out
        return node_id(self.identifier, ns)


def node_id(identifier: int | str | uuid.UUID | bytes, ns: int = 0) -> ua.NodeId:
    """asyncua's NodeId from plain Python values (its annotations name wrapper types its runtime does not need)."""
    return ua.NodeId(identifier, ns)  # type: ignore[arg-type]


def child_step(reference: int, name: str, ns: int) -> ua.RelativePathElement:
    """One forward step of a relative path along ``reference`` (an ObjectIds number) and its subtypes."""
    return ua.RelativePathElement(  # asyncua annotates the flags as ua.Boolean, which is not a bool
        ReferenceTypeId=node_id(reference),
        IsInverse=False,  # type: ignore[arg-type]
        IncludeSubtypes=True,  # type: ignore[arg-type]
        TargetName=ua.QualifiedName(name, ns),
    )


def is_good(dv: ua.DataValue) -> bool:
    """Whether a DataValue's status is Good (an absent status is Good on the wire)."""
    return dv.StatusCode is None or dv.StatusCode.is_good()


def good_value(dv: ua.DataValue) -> Any:
    """The value of a DataValue whose status is Good, else None."""
    return dv.Value.Value if is_good(dv) and dv.Value is not None else None


def status_value(dv: ua.DataValue) -> int:
    """The numeric status code of a DataValue (0, Good, when absent)."""
    return dv.StatusCode.value if dv.StatusCode is not None else 0


def namespace_index(uri: str, namespaces: Sequence[str]) -> int:
    """Index of ``uri`` in the server's namespace array; ``NamespaceNotFound`` lists what the server has."""
    try:
        return list(namespaces).index(uri)
    except ValueError:
        known = ", ".join(namespaces[1:]) or "none"
        raise NamespaceNotFound(f"the server has no namespace '{uri}' (it has: {known})") from None


def parse_node_id(text: str) -> NodeRef:
    """Parse ``[ns=N;|nsu=URI;](i=|s=|g=|b=)identifier``; ``NodeIdError`` says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise NodeIdError("empty node id (expected e.g. 'ns=2;s=Boiler.Temp' or 'i=2258')")
    rest = text.strip()
    ns = 0
    ns_uri: str | None = None
    if m := _NSU.match(rest):
        ns_uri, rest = m["uri"], m["rest"]
    elif rest.startswith("nsu="):
        raise NodeIdError(f"'{text}': nsu= needs a URI followed by ';' and i=, s=, g= or b=")
    elif m := _NS.match(rest):
        raw, rest = m["ns"].strip(), m["rest"]
        if not raw.isdigit() or int(raw) > _MAX_NS:
            raise NodeIdError(f"'{text}': ns= must be a namespace index 0..{_MAX_NS} (got '{raw}')")
        ns = int(raw)
    kind, sep, ident = rest.partition("=")
    if not sep or kind not in ("i", "s", "g", "b"):
        raise NodeIdError(f"'{text}': expected i=<number>, s=<string>, g=<guid> or b=<base64> after the namespace")
    if kind == "i":
        if not ident.strip().isdigit() or int(ident) > _MAX_UINT32:
            raise NodeIdError(f"'{text}': i= must be an integer 0..{_MAX_UINT32}")
        return NodeRef("i", int(ident), ns, ns_uri)
    if kind == "s":
        if not ident:
            raise NodeIdError(f"'{text}': s= needs a non-empty string identifier")
        return NodeRef("s", ident, ns, ns_uri)
    if kind == "g":
        try:
            return NodeRef("g", uuid.UUID(ident.strip()), ns, ns_uri)
        except ValueError:
            raise NodeIdError(f"'{text}': g= must be a GUID like 72962b91-fa75-4ae6-8d28-b404dc7daf63") from None
    try:
        return NodeRef("b", base64.b64decode(ident.strip(), validate=True), ns, ns_uri)
    except (binascii.Error, ValueError):
        raise NodeIdError(f"'{text}': b= must be base64 encoded bytes") from None


@dataclass(frozen=True, slots=True)
class PathElement:
    """One step of a browse path: a browse name qualified by a namespace index or a declared prefix."""

    name: str
    ns: int | str = 0  # an index, or a prefix from the source's ``namespaces:`` map

    def __str__(self) -> str:
        escaped = re.sub(r"([/:&])", r"&\1", self.name)
        return f"{self.ns}:{escaped}" if self.ns != 0 else escaped


@dataclass(frozen=True, slots=True)
class BrowsePath:
    """An absolute browse path from the Root folder along hierarchical references."""

    elements: tuple[PathElement, ...]

    def __str__(self) -> str:
        return "/" + "/".join(str(e) for e in self.elements)

    def prefixes(self) -> set[str]:
        """The namespace prefixes the path uses (they must be declared on the source)."""
        return {e.ns for e in self.elements if isinstance(e.ns, str)}

    def to_ua(self, namespaces: Sequence[str], prefixes: Mapping[str, str]) -> ua.RelativePath:
        """The relative path from Root, with prefixes looked up in the server's namespace array."""
        out = []
        for e in self.elements:
            if isinstance(e.ns, str):
                if e.ns not in prefixes:
                    raise NamespaceNotFound(f"namespace prefix '{e.ns}' is not declared in the source's namespaces")
                ns = namespace_index(prefixes[e.ns], namespaces)
            else:
                ns = e.ns
            out.append(child_step(ua.ObjectIds.HierarchicalReferences, e.name, ns))
        return ua.RelativePath(Elements=out)


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` except where escaped with ``&``; escapes are kept for the next pass."""
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "&" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"&(.)", r"\1", text)


def parse_browse_path(text: str) -> BrowsePath:
    """Parse ``/Objects/2:Boiler/plant:Temp`` (a leading ``/Root`` is allowed and skipped).

    Each element is ``[index:|prefix:]BrowseName``; without a qualifier the name is in namespace 0 (like
    ``Objects``). ``&`` escapes ``/``, ``:`` and ``&`` inside names.
    """
    if not isinstance(text, str) or not text.strip():
        raise NodeIdError("empty browse path (expected e.g. '/Objects/2:Boiler/2:Temp')")
    text = text.strip()
    if not text.startswith("/"):
        raise NodeIdError(f"'{text}': a browse path starts at the Root folder with '/', e.g. '/Objects/2:Boiler'")
    segments = _split(text[1:], "/")
    elements: list[PathElement] = []
    for i, seg in enumerate(segments):
        if not seg:
            raise NodeIdError(f"'{text}': empty element at position {i + 1} (doubled or trailing '/')")
        qual = _split(seg, ":")
        if len(qual) > 2:
            raise NodeIdError(f"'{text}': element '{seg}' has more than one ':' (escape a ':' in a name as '&:')")
        if len(qual) == 2:
            ns_text, name = qual[0].strip(), _unescape(qual[1])
            if not ns_text:
                raise NodeIdError(f"'{text}': element '{seg}' has an empty namespace before ':'")
            ns: int | str
            if ns_text.isdigit():
                ns = int(ns_text)
                if ns > _MAX_NS:
                    raise NodeIdError(f"'{text}': namespace index {ns} is out of range")
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", ns_text):
                ns = ns_text
            else:
                raise NodeIdError(f"'{text}': '{ns_text}' is neither a namespace index nor a prefix name")
        else:
            ns, name = 0, _unescape(qual[0])
        if not name:
            raise NodeIdError(f"'{text}': element '{seg}' has an empty browse name")
        elements.append(PathElement(name, ns))
    if elements and elements[0] == PathElement("Root", 0):
        elements = elements[1:]
    if not elements:
        raise NodeIdError(f"'{text}': the path names no node below the Root folder")
    return BrowsePath(tuple(elements))
