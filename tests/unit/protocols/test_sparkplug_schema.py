"""The committed sparkplug_b_pb2 is what protoc makes of sparkplug_b.proto (users need no protoc, so a schema
edit without regenerating would go unnoticed): every message and field of the .proto, with its number and label,
is in the module's descriptor, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf.descriptor import Descriptor

from protocols.sparkplug import sparkplug_b_pb2 as pb

PROTO = Path(pb.__file__).with_name("sparkplug_b.proto")
FIELD = re.compile(r"^\s*(optional|repeated|required)?\s*([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;")


def _from_proto() -> set[tuple[str, str, int]]:
    """(message path, field name, number) of every field, by reading the .proto's nesting."""
    out: set[tuple[str, str, int]] = set()
    stack: list[str] = []
    for line in PROTO.read_text().splitlines():
        code = line.split("//")[0]
        if m := re.match(r"^\s*message\s+(\w+)\s*\{", code):
            stack.append(m.group(1))
        elif re.match(r"^\s*oneof\s+\w+\s*\{", code):
            stack.append("")  # a oneof's fields belong to the enclosing message
        elif m := FIELD.match(code):
            out.add((".".join(s for s in stack if s), m.group(3), int(m.group(4))))
        if re.match(r"^\s*}\s*$", code):
            stack.pop()
    return out


def _from_module(desc: Descriptor, prefix: str = "") -> set[tuple[str, str, int]]:
    path = f"{prefix}{desc.name}"
    out = {(path, f.name, f.number) for f in desc.fields}
    for nested in desc.nested_types:
        out |= _from_module(nested, f"{path}.")
    return out


def test_generated_module_matches_the_schema() -> None:
    assert pb.DESCRIPTOR.name == "protocols/sparkplug/sparkplug_b.proto"
    proto = _from_proto()
    assert ("Payload.Metric", "properties", 9) in proto  # the reader sees nested messages
    assert proto == _from_module(pb.Payload.DESCRIPTOR)
