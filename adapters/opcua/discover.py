"""Discovery: browse an OPC UA server and write a draft mapping an integrator then edits.

Objects become assets (nested as on the server), Variables become points with the datatype of their built-in
type, the unit of their EngineeringUnits (UNECE code -> QUDT unit), min/max from EURange and writability from
AccessLevel. Node addresses use ``nsu=<namespace URI>;...`` so the draft survives namespace index changes.
Arrays, structures and ByteStrings are listed in the header as skipped. The output is accepted by
``twinbridge validate`` unchanged; classes (``brick:...``), ids and guessed units are left to the integrator.

Run it as ``python -m adapters.opcua.discover opc.tcp://host:4840 [--root NODE] [--depth N] [--security ...]``
(the gateway CLI's ``discover opcua`` calls :func:`discover`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from asyncua import Client, ua

from adapters.opcua.config import OpcUaSourceConfig
from adapters.opcua.nodeids import NodeRef, good_value, node_id, parse_node_id
from adapters.opcua.resolve import builtin_types, chunks, plain_node_id, read_attributes, read_properties
from adapters.opcua.session import SessionOpener
from adapters.opcua.types import BuiltinType, Family, unece_code

_DATATYPES: dict[str, str] = {
    "Boolean": "bool",
    "SByte": "int16",
    "Byte": "uint16",
    "Int16": "int16",
    "UInt16": "uint16",
    "Int32": "int32",
    "UInt32": "uint32",
    "Int64": "int64",
    "UInt64": "uint64",
    "Float": "float",
    "Double": "double",
    "Enumeration": "int32",
    "Integer": "int64",
    "UInteger": "uint64",
    "Number": "double",
    "BaseDataType": "double",
}
_CURRENT_WRITE = 0x02
_SKIP_NS0 = True  # the standard Server object and friends are not plant data


@dataclass
class Found:
    """A browsed node."""

    node_id: ua.NodeId
    name: str
    label: str
    node_class: ua.NodeClass
    parent: Found | None
    depth: int
    children: list[Found] = field(default_factory=list)


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


async def _browse(client: Client, nodes: list[ua.NodeId], chunk: int) -> list[list[ua.ReferenceDescription]]:
    """Forward hierarchical references (Objects and Variables only) of each node, following continuations."""
    out: list[list[ua.ReferenceDescription]] = []
    for part in chunks(nodes, chunk):
        params = ua.BrowseParameters()
        params.NodesToBrowse = [
            ua.BrowseDescription(
                NodeId=n,
                BrowseDirection=ua.BrowseDirection.Forward,
                ReferenceTypeId=node_id(ua.ObjectIds.HierarchicalReferences),
                IncludeSubtypes=True,
                NodeClassMask=int(ua.NodeClass.Object) | int(ua.NodeClass.Variable),
                ResultMask=ua.BrowseResultMask.All,
            )
            for n in part
        ]
        for res in await client.uaclient.browse(params):
            refs = list(res.References or [])
            cp = res.ContinuationPoint
            while cp:
                nxt = await client.uaclient.browse_next(
                    ua.BrowseNextParameters(ReleaseContinuationPoints=False, ContinuationPoints=[cp])
                )
                refs.extend(nxt[0].References or [])
                cp = nxt[0].ContinuationPoint
            out.append(refs)
    return out


async def browse_tree(client: Client, root: ua.NodeId, depth: int, chunk: int, limit: int) -> tuple[list[Found], int]:
    """Objects and Variables below ``root`` down to ``depth`` levels; returns (top level nodes, total)."""
    top: list[Found] = []
    seen = {root}
    level: list[Found | None] = [None]
    ids = [root]
    total = 0
    for d in range(1, depth + 1):
        if not ids or total >= limit:
            break
        results = await _browse(client, ids, chunk)
        next_level: list[Found] = []
        for parent, refs in zip(level, results, strict=True):
            for ref in refs:
                nid = plain_node_id(ref.NodeId)
                if nid in seen or ref.ReferenceTypeId == node_id(ua.ObjectIds.HasProperty):
                    continue
                if _SKIP_NS0 and nid.NamespaceIndex == 0:
                    continue
                seen.add(nid)
                f = Found(
                    nid,
                    ref.BrowseName.Name,
                    ref.DisplayName.Text or ref.BrowseName.Name,
                    ua.NodeClass(ref.NodeClass),
                    parent,
                    d,
                )
                (parent.children if parent else top).append(f)
                total += 1
                if f.node_class == ua.NodeClass.Object:
                    next_level.append(f)
        level, ids = list(next_level), [f.node_id for f in next_level]
    return top, total


def _ident(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "node"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


def _unit_index() -> dict[str, list[str]]:
    from gateway import units

    index: dict[str, list[str]] = {}
    for u in units.all_units().values():
        if u.unece:
            index.setdefault(u.unece, []).append(u.name)
    return index


def _pick_unit(candidates: list[str]) -> str:
    if "UNITLESS" in candidates:
        return "UNITLESS"
    return sorted(candidates, key=lambda n: (len(n), n))[0]


async def explore(client: Client, cfg: OpcUaSourceConfig, root: str, depth: int, limit: int = 5000) -> Draft:
    """Browse the server and turn what is found into point specs (no YAML yet)."""
    chunk = cfg.max_nodes_per_request
    namespaces = [str(n) for n in await client.get_namespace_array()]
    root_id = parse_node_id(root).to_ua(namespaces)
    top, _ = await browse_tree(client, root_id, depth, chunk, limit)
    variables: list[Found] = []

    def collect(nodes: list[Found]) -> None:
        for f in nodes:
            if f.node_class == ua.NodeClass.Variable:
                variables.append(f)
            collect(f.children)

    collect(top)
    attrs = (ua.AttributeIds.DataType, ua.AttributeIds.ValueRank, ua.AttributeIds.AccessLevel)
    values = (
        await read_attributes(client, [(v.node_id, a) for v in variables for a in attrs], chunk) if variables else []
    )
    meta = [values[i * 3 : i * 3 + 3] for i in range(len(variables))]
    dtypes = [dt for m in meta if (dt := good_value(m[0])) is not None]
    types = await builtin_types(client, dtypes, chunk)
    props = await read_properties(client, [v.node_id for v in variables], ("EngineeringUnits", "EURange"), chunk)
    unit_index = _unit_index()
    draft = Draft(cfg.url, cfg.id, top, {}, [], [], namespaces)
    for v, (dtype, rank, access), prop in zip(variables, meta, props, strict=True):
        where = _address(v.node_id, namespaces)
        bt: BuiltinType | None = types.get(good_value(dtype))
        vr = int(good_value(rank)) if good_value(rank) is not None else -1
        if bt is None or bt.family is Family.UNSUPPORTED:
            draft.skipped.append(f"{where}: type {bt.name if bt else 'unknown'} is not supported")
            continue
        if vr >= 0:
            draft.skipped.append(f"{where}: array (add a point with index: N for each element you need)")
            continue
        spec = _point_spec(v, bt=bt, access=access, prop=prop, units=unit_index, where=where, notes=draft.notes)
        draft.points[id(v)] = spec
    return draft


def _address(nid: ua.NodeId, namespaces: list[str]) -> str:
    kind = {ua.NodeIdType.String: "s", ua.NodeIdType.Guid: "g", ua.NodeIdType.ByteString: "b"}.get(nid.NodeIdType, "i")
    uri = namespaces[nid.NamespaceIndex] if nid.NamespaceIndex and nid.NamespaceIndex < len(namespaces) else None
    return str(NodeRef(kind, nid.Identifier, nid.NamespaceIndex if uri is None else 0, uri))


def _point_spec(
    v: Found,
    *,
    bt: BuiltinType,
    access: ua.DataValue,
    prop: dict[str, Any],
    units: dict[str, list[str]],
    where: str,
    notes: list[str],
) -> dict[str, Any]:
    writable = bool(int(good_value(access) or 0) & _CURRENT_WRITE)
    datatype = _DATATYPES.get(bt.name, "string")
    numeric = datatype not in ("bool", "string")
    spec: dict[str, Any] = {"id": v.name}
    if writable:
        spec["type"] = "setpoint"
    elif datatype == "bool":
        spec["type"] = "status"
    if v.label != v.name:
        spec["label"] = v.label
    if numeric:
        eu = prop.get("EngineeringUnits")
        code = unece_code(int(eu.UnitId)) if isinstance(eu, ua.EUInformation) and eu.UnitId is not None else None
        candidates = units.get(code or "", [])
        if candidates:
            spec["unit"] = _pick_unit(candidates)
        else:
            spec["unit"] = "UNITLESS"
            shown = f" ({eu.DisplayName.Text if eu.DisplayName else code})" if isinstance(eu, ua.EUInformation) else ""
            notes.append(f"{where}: no known EngineeringUnits{shown}; set the unit")
        rng = prop.get("EURange")
        if isinstance(rng, ua.Range) and rng.Low < rng.High:
            spec["min"], spec["max"] = float(rng.Low), float(rng.High)
    spec["datatype"] = datatype
    if writable:
        spec["writable"] = True
    spec["address"] = {"node": where}
    return spec


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
    return "\n".join(head) + "\n" + body


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


async def discover(
    url: str,
    *,
    root: str = "i=85",
    depth: int = 4,
    source_id: str = "opcua1",
    security: dict[str, Any] | None = None,
    auth: dict[str, Any] | None = None,
    base_dir: str | Path = ".",
    log: logging.Logger | None = None,
) -> str:
    """Browse ``url`` (below ``root``, ``depth`` levels) and return a draft mapping as YAML text.

    ``security``/``auth`` take the same keys as a source's ``security:``/``auth:``; in the output the password is
    replaced by ``${<SOURCE_ID>_PASSWORD}``.
    """
    security = dict(security or {"policy": "None"})
    cfg = OpcUaSourceConfig.model_validate(
        {"id": source_id, "url": url, "security": security, "auth": auth or {"type": "anonymous"}}
    )
    opener = SessionOpener(cfg, str(base_dir), log or logging.getLogger("twinbridge.discover"))
    client, _ = await opener.open()
    try:
        draft = await explore(client, cfg, root, depth)
    finally:
        await client.disconnect()
    out_auth = None
    if auth and auth.get("type", "anonymous") != "anonymous":
        out_auth = {k: v for k, v in auth.items() if k != "password"}
        if auth.get("type") == "username":
            out_auth["password"] = "${" + re.sub(r"[^A-Z0-9_]", "_", source_id.upper()) + "_PASSWORD}"
    return render(draft, security, out_auth)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="twinbridge discover opcua", description=__doc__.split("\n\n")[0])
    p.add_argument("url", help="opc.tcp://host:port[/path]")
    p.add_argument("--root", default="i=85", help="node to start from (default: the Objects folder, i=85)")
    p.add_argument("--depth", type=int, default=4, help="levels to browse below the root (default 4)")
    p.add_argument("--source-id", default="opcua1", help="id of the source in the draft")
    p.add_argument("--security", default="None", help="Policy[/Mode], e.g. Basic256Sha256/SignAndEncrypt")
    p.add_argument("--pki-dir", default="pki/opcua-client", help="client PKI folder (relative to --out's folder)")
    p.add_argument("--trust-all", action="store_true", help="accept the server certificate without checking it")
    p.add_argument("--username", help="user name; the password is read from the environment variable --password-env")
    p.add_argument("--password-env", default="OPCUA_PASSWORD", help="environment variable holding the password")
    p.add_argument("--out", type=Path, help="write the draft here instead of stdout")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    import os

    args = _parser().parse_args(argv)
    policy, _, mode = args.security.partition("/")
    security: dict[str, Any] = {"policy": policy, "pki_dir": args.pki_dir, "trust_all": args.trust_all}
    if mode:
        security["mode"] = mode
    auth = None
    if args.username:
        password = os.environ.get(args.password_env)
        if password is None:
            print(f"set the password in the environment variable {args.password_env}", file=sys.stderr)
            return 2
        auth = {"type": "username", "username": args.username, "password": password}
    base = args.out.parent if args.out else Path.cwd()
    from adapters.contract.adapter import AdapterUnavailable

    try:
        text = asyncio.run(
            discover(
                args.url,
                root=args.root,
                depth=args.depth,
                source_id=args.source_id,
                security=security,
                auth=auth,
                base_dir=base,
            )
        )
    except AdapterUnavailable as exc:
        print(f"discovery failed: {exc.status}: {exc.reason}", file=sys.stderr)
        return 1
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
