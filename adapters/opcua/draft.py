"""The discovered tree as a draft mapping: YAML with a header of what the integrator should review.

An Object with a DI nameplate (``nameplate.py``) becomes an asset with ``properties:`` in the mapping's
standard keys: Manufacturer -> manufacturer, Model -> model, SerialNumber -> serial_number, SoftwareRevision ->
firmware, HardwareRevision -> hardware_version, ProductCode -> product_code, DeviceManual -> documents (when it
is a web address). The other DI values have no key of their own and are listed in the header for the integrator
to keep or drop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml
from asyncua import ua

from adapters.opcua.browse import Found
from adapters.opcua.nameplate import NAMEPLATE, Nameplate, is_web_address

# DI nameplate browse name -> the mapping's property key
PROPERTY_KEYS = {
    "Manufacturer": "manufacturer",
    "Model": "model",
    "SerialNumber": "serial_number",
    "SoftwareRevision": "firmware",
    "HardwareRevision": "hardware_version",
    "ProductCode": "product_code",
}


@dataclass
class Draft:
    """The discovered tree plus what was left out, ready to render."""

    url: str
    source_id: str
    objects: list[Found]
    points: dict[int, dict[str, Any]]  # id(found variable) -> point spec
    skipped: list[str]
    notes: list[str]
    namespaces: list[str]
    nameplates: dict[int, Nameplate] = field(default_factory=dict)  # id(found object) -> its DI nameplate
    nameplate_notes: list[str] = field(default_factory=list)


def _ident(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "node"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


def render(draft: Draft, security: dict[str, Any], auth: dict[str, Any] | None) -> str:
    """The draft mapping as YAML, with a header of what to review."""
    asset_ids: set[str] = {draft.source_id}
    assets: list[dict[str, Any]] = [{"id": draft.source_id, "type": "site", "label": f"OPC UA server {draft.url}"}]
    loose: list[dict[str, Any]] = []

    def visit(f: Found, parent_id: str) -> None:
        if f.node_class == ua.NodeClass.Variable:
            spec = draft.points.get(id(f))
            if spec is not None:
                asset_points.get(parent_id, loose).append(spec)
            return
        aid = _ident(f.name, asset_ids)
        asset: dict[str, Any] = {"id": aid, "type": "equipment", "parent": parent_id}
        if f.label != aid:
            asset["label"] = f.label
        assets.append(asset)
        asset_points[aid] = []
        plate = draft.nameplates.get(id(f))
        if plate is not None and (props := nameplate_properties(aid, plate, draft.nameplate_notes)):
            asset["properties"] = props
        for c in f.children:
            if plate is None or c is not plate.identification:  # read into the properties, not an asset
                visit(c, aid)
        if asset_points[aid]:
            asset["points"] = _unique_ids(asset_points[aid])

    asset_points: dict[str, list[dict[str, Any]]] = {}
    for f in draft.objects:
        visit(f, draft.source_id)
    if loose:
        assets[0]["points"] = _unique_ids(loose)
    assets[0]["source"] = draft.source_id
    source: dict[str, Any] = {"id": draft.source_id, "kind": "opcua", "url": draft.url, "security": security}
    if auth:
        source["auth"] = auth
    body = yaml.dump(
        {"sources": [source], "assets": assets}, Dumper=_Dumper, sort_keys=False, width=118, allow_unicode=True
    )
    return _header(draft) + body


def nameplate_properties(asset_id: str, plate: Nameplate, notes: list[str]) -> dict[str, Any]:
    """The asset's ``properties:`` from its DI nameplate; what has no key goes to ``notes``."""
    props: dict[str, Any] = {}
    for name in NAMEPLATE:  # DI's order: maker, model, serial, software, hardware, manual, the rest
        if (value := plate.values.get(name)) is None:
            continue
        key = PROPERTY_KEYS.get(name)
        if key is not None:
            props[key] = str(value)
        elif name == "DeviceManual" and is_web_address(str(value)):
            props["documents"] = [value]
        else:
            notes.append(f"{asset_id}: {name} = {value!r}")
    return props


def _header(draft: Draft) -> str:
    head = [
        f"# Draft mapping discovered from {draft.url} on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by twinbridge.",
        "# Review before use: add Brick classes (class: brick:...), check ids, units and which points you need.",
    ]
    if draft.notes:
        head.append("# Units to check:")
        head += [f"#   {n}" for n in draft.notes]
    if draft.nameplate_notes:
        head.append("# Nameplate values without a property key (keep them as prefixed IRIs if you need them):")
        head += [f"#   {n}" for n in draft.nameplate_notes]
    if draft.skipped:
        head.append("# Not mapped:")
        head += [f"#   {s}" for s in draft.skipped]
    return "\n".join(head) + "\n"


class _Flow(dict[str, Any]):
    """A mapping written on one line (points read best that way)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)
)


def _unique_ids(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    taken: set[str] = set()
    out: list[dict[str, Any]] = []
    for p in points:
        p["id"] = _ident(p["id"], taken)
        out.append(_Flow(p))
    return out
