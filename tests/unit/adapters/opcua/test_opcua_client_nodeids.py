"""NodeId strings and browse paths of the OPC UA client: parsing, errors, resolution against a namespace array."""

from __future__ import annotations

import re
import uuid

import pytest
from asyncua import ua

from adapters.opcua.nodeids import (
    NamespaceNotFound,
    NodeIdError,
    PathElement,
    parse_browse_path,
    parse_node_id,
)

NAMESPACES = ["http://opcfoundation.org/UA/", "urn:freeopcua:python:server", "urn:plant:line1"]


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        ("i=2258", ua.NodeId(2258, 0), "i=2258"),
        ("ns=2;i=7", ua.NodeId(7, 2), "ns=2;i=7"),
        ("ns=2;s=Boiler.Temp", ua.NodeId("Boiler.Temp", 2), "ns=2;s=Boiler.Temp"),
        ("ns=2;s=a;b=c", ua.NodeId("a;b=c", 2), "ns=2;s=a;b=c"),  # everything after s= is the identifier
        ("nsu=urn:plant:line1;s=Boiler.Temp", ua.NodeId("Boiler.Temp", 2), "nsu=urn:plant:line1;s=Boiler.Temp"),
        ("nsu=urn:plant:line1;i=5", ua.NodeId(5, 2), "nsu=urn:plant:line1;i=5"),
        (
            "ns=1;g=72962b91-fa75-4ae6-8d28-b404dc7daf63",
            ua.NodeId(uuid.UUID("72962b91-fa75-4ae6-8d28-b404dc7daf63"), 1),
            "ns=1;g=72962b91-fa75-4ae6-8d28-b404dc7daf63",
        ),
        ("ns=1;b=AQID", ua.NodeId(b"\x01\x02\x03", 1), "ns=1;b=AQID"),
        ("  ns=2;s=Padded  ", ua.NodeId("Padded", 2), "ns=2;s=Padded"),  # surrounding blanks ignored
    ],
)
def test_node_ids_parse_and_resolve(text: str, expected: ua.NodeId, canonical: str) -> None:
    ref = parse_node_id(text)
    assert ref.to_ua(NAMESPACES) == expected
    assert str(ref) == canonical
    assert parse_node_id(str(ref)) == ref  # round trip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty node id"),
        ("Boiler.Temp", "expected i=<number>, s=<string>"),
        ("ns=x;s=a", "ns= must be a namespace index"),
        ("ns=70000;i=1", "ns= must be a namespace index"),
        ("ns=2;i=abc", "i= must be an integer"),
        ("i=99999999999", "i= must be an integer"),
        ("ns=2;s=", "non-empty string"),
        ("ns=2;g=not-a-guid", "g= must be a GUID"),
        ("ns=2;b=***", "b= must be base64"),
        ("nsu=urn:x", "nsu= needs a URI"),
        ("ns=2;x=1", "expected i=<number>"),
    ],
)
def test_bad_node_ids_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(NodeIdError, match=re.escape(message)):
        parse_node_id(text)


def test_unknown_namespace_uri_lists_the_servers_namespaces() -> None:
    ref = parse_node_id("nsu=urn:other;s=x")
    with pytest.raises(NamespaceNotFound) as exc:
        ref.to_ua(NAMESPACES)
    assert "urn:other" in str(exc.value) and "urn:plant:line1" in str(exc.value)


def test_browse_paths_parse_with_indexes_prefixes_and_escapes() -> None:
    p = parse_browse_path("/Objects/2:Boiler/plant:Temp")
    assert p.elements == (PathElement("Objects", 0), PathElement("Boiler", 2), PathElement("Temp", "plant"))
    assert p.prefixes() == {"plant"}
    assert str(p) == "/Objects/2:Boiler/plant:Temp"
    # a leading /Root (the WoT uav:browsePath style) is the same path
    assert parse_browse_path("/Root/Objects/2:Boiler/plant:Temp") == p
    escaped = parse_browse_path("/Objects/2:Valve&/Pump/2:Ratio&:1")
    assert escaped.elements[1:] == (PathElement("Valve/Pump", 2), PathElement("Ratio:1", 2))
    assert parse_browse_path(str(escaped)) == escaped


def test_browse_path_resolves_to_a_relative_path_from_root() -> None:
    rel = parse_browse_path("/Objects/plant:Line/2:Temp").to_ua(NAMESPACES, {"plant": "urn:plant:line1"})
    names = [(e.TargetName.NamespaceIndex, e.TargetName.Name) for e in rel.Elements]
    assert names == [(0, "Objects"), (2, "Line"), (2, "Temp")]
    assert all(e.ReferenceTypeId == ua.NodeId(ua.ObjectIds.HierarchicalReferences) for e in rel.Elements)
    assert all(e.IncludeSubtypes and not e.IsInverse for e in rel.Elements)
    with pytest.raises(NamespaceNotFound, match="prefix 'other' is not declared"):
        parse_browse_path("/Objects/other:X").to_ua(NAMESPACES, {})
    with pytest.raises(NamespaceNotFound, match="urn:missing"):
        parse_browse_path("/Objects/m:X").to_ua(NAMESPACES, {"m": "urn:missing"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty browse path"),
        ("Objects/2:Boiler", "starts at the Root folder"),
        ("/Objects//2:Boiler", "empty element at position 2"),
        ("/Objects/2:Boiler/", "empty element"),
        ("/Objects/1:2:Boiler", "more than one ':'"),
        ("/Objects/:Boiler", "empty namespace"),
        ("/Objects/2:", "empty browse name"),
        ("/Objects/a b:Boiler", "neither a namespace index nor a prefix"),
        ("/Root", "names no node"),
    ],
)
def test_bad_browse_paths_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(NodeIdError, match=message):
        parse_browse_path(text)
