"""The discovered tree as a draft mapping: YAML with a header of what the integrator should review."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml
from asyncua import ua

from adapters.opcua.browse import Found


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
        for c in f.children:
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


def _header(draft: Draft) -> str:
    head = [
        f"# Draft mapping discovered from {draft.url} on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by twinbridge.",
        "# Review before use: add Brick classes (class: brick:...), check ids, units and which points you need.",
    ]
    if draft.notes:
        head.append("# Units to check:")
        head += [f"#   {n}" for n in draft.notes]
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
