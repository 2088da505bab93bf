"""Discovery: browse an OPC UA server and write a draft mapping an integrator then edits.

Objects become assets (nested as on the server), Variables become points with the datatype of their built-in
type, the unit of their EngineeringUnits (UNECE code -> QUDT unit), min/max from EURange and writability from
AccessLevel. Node addresses use ``nsu=<namespace URI>;...`` so the draft survives namespace index changes.
An Object with an OPC 10000-100 (DI) nameplate gets ``properties:`` (manufacturer, model, serial number,
firmware...; ``nameplate.py``).
Arrays, structures and ByteStrings are listed in the header as skipped. The output is accepted by
``twinbridge validate`` unchanged; classes (``brick:...``), ids and guessed units are left to the integrator.

Run it as ``twinbridge discover opcua opc.tcp://host:4840 [--root NODE] [--depth N] [--security ...]``: the
adapter offers :func:`main` as its discovery command (``OpcUaAdapter.discovery``), called with the core's units.
Browsing is in ``browse.py``, the YAML in ``draft.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from asyncua import Client, ua

from adapters.contract.adapter import AdapterUnavailable
from adapters.contract.units import UnitCatalog
from adapters.opcua.browse import Found, browse_tree, variables
from adapters.opcua.config import OpcUaSourceConfig
from adapters.opcua.draft import Draft, render
from adapters.opcua.nameplate import read_nameplates
from adapters.opcua.nodeids import NodeRef, good_value, parse_node_id
from adapters.opcua.resolve import builtin_types, read_attributes, read_properties
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


def _pick_unit(candidates: list[str]) -> str:
    if "UNITLESS" in candidates:
        return "UNITLESS"
    return sorted(candidates, key=lambda n: (len(n), n))[0]


async def explore(
    client: Client, cfg: OpcUaSourceConfig, root: str, depth: int, units: UnitCatalog, limit: int = 5000
) -> Draft:
    """Browse the server and turn what is found into point specs (no YAML yet)."""
    chunk = cfg.max_nodes_per_request
    namespaces = [str(n) for n in await client.get_namespace_array()]
    root_id = parse_node_id(root).to_ua(namespaces)
    top, _ = await browse_tree(client, root_id, depth, chunk, limit)
    found = variables(top)
    attrs = (ua.AttributeIds.DataType, ua.AttributeIds.ValueRank, ua.AttributeIds.AccessLevel)
    values = await read_attributes(client, [(v.node_id, a) for v in found for a in attrs], chunk) if found else []
    meta = [values[i * 3 : i * 3 + 3] for i in range(len(found))]
    dtypes = [dt for m in meta if (dt := good_value(m[0])) is not None]
    types = await builtin_types(client, dtypes, chunk)
    props = await read_properties(client, [v.node_id for v in found], ("EngineeringUnits", "EURange"), chunk)
    draft = Draft(cfg.url, cfg.id, top, {}, [], [], namespaces)
    draft.nameplates = await read_nameplates(client, top, namespaces, chunk)
    for v, (dtype, rank, access), prop in zip(found, meta, props, strict=True):
        where = _address(v.node_id, namespaces)
        bt: BuiltinType | None = types.get(good_value(dtype))
        vr = int(good_value(rank)) if good_value(rank) is not None else -1
        if bt is None or bt.family is Family.UNSUPPORTED:
            draft.skipped.append(f"{where}: type {bt.name if bt else 'unknown'} is not supported")
            continue
        if vr >= 0:
            draft.skipped.append(f"{where}: array (add a point with index: N for each element you need)")
            continue
        spec = _point_spec(v, bt=bt, access=access, prop=prop, units=units, where=where, notes=draft.notes)
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
    units: UnitCatalog,
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
        candidates = units.by_unece(code) if code else []
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


async def discover(
    url: str,
    *,
    root: str = "i=85",
    depth: int = 4,
    source_id: str = "opcua1",
    units: UnitCatalog,
    security: dict[str, Any] | None = None,
    auth: dict[str, Any] | None = None,
    base_dir: str | Path = ".",
    log: logging.Logger | None = None,
) -> str:
    """Browse ``url`` (below ``root``, ``depth`` levels) and return a draft mapping as YAML text.

    ``security``/``auth`` take the same keys as a source's ``security:``/``auth:``; in the output the password is
    replaced by ``${<SOURCE_ID>_PASSWORD}``. ``units`` (the core's catalog) turns EngineeringUnits into units.
    """
    security = dict(security or {"policy": "None"})
    cfg = OpcUaSourceConfig.model_validate(
        {"id": source_id, "url": url, "security": security, "auth": auth or {"type": "anonymous"}}
    )
    opener = SessionOpener(cfg, str(base_dir), log or logging.getLogger("twinbridge.discover"))
    client, _ = await opener.open()
    try:
        draft = await explore(client, cfg, root, depth, units)
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


def main(argv: list[str], units: UnitCatalog) -> int:
    """``twinbridge discover opcua ARGS``: print (or write) the draft; 1 when the server cannot be reached."""
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
    try:
        text = asyncio.run(
            discover(
                args.url,
                root=args.root,
                depth=args.depth,
                source_id=args.source_id,
                units=units,
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
