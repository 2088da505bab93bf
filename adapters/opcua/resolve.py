"""What the adapter learns about its nodes at connect time, in a few batched requests.

For every point: its NodeId (namespace URIs and browse paths resolved against this server), its DataType
walked up to a built-in type, its ValueRank and AccessLevel, and (for the start-up report) the
EngineeringUnits and EURange properties. A point whose node is unknown, or whose type cannot be read as the
mapping asks (an array without ``index:``, a structure, a string into a double), gets a *fault* instead: it
is reported Bad with the reason, and every other point is subscribed normally.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncua import Client, ua

from adapters.contract.model import Point
from adapters.contract.status import status_name
from adapters.contract.units import UnitCatalog
from adapters.opcua.config import OpcUaAddress, OpcUaSourceConfig
from adapters.opcua.nodeids import NamespaceNotFound, child_step, good_value, is_good, node_id, status_value
from adapters.opcua.types import (
    BUILTIN,
    BuiltinType,
    Family,
    compatibility_problem,
    unece_code,
    value_rank_problem,
)

_ROOT = node_id(ua.ObjectIds.RootFolder)
_MAX_TYPE_DEPTH = 12


@dataclass
class Binding:
    """One point's node on the current connection."""

    point: Point
    addr: OpcUaAddress
    node_id: ua.NodeId | None = None
    builtin: BuiltinType | None = None
    value_rank: int = -1
    access_level: int | None = None
    datatype_id: ua.NodeId | None = None  # the DataType attribute as the server gave it
    fault: tuple[str, str] | None = None  # (status, reason) when the point cannot be served
    variant: ua.VariantType | None = None  # for writes to abstractly typed nodes, learned from a read

    @property
    def where(self) -> str:
        """The address as written in the mapping, for messages."""
        a = self.addr
        text = a.node if a.node is not None else a.browse_path or "?"
        return text if a.index is None else f"{text}[{a.index}]"

    def fail(self, status: str, reason: str) -> None:
        """Mark the point unusable on this connection."""
        self.fault = (status, f"{self.where}: {reason}")


@dataclass
class Resolution:
    """The outcome of resolving a source's points."""

    bindings: dict[str, Binding]
    namespaces: list[str]
    mismatches: list[str] = field(default_factory=list)


def chunks(items: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def plain_node_id(target: ua.ExpandedNodeId | ua.NodeId) -> ua.NodeId:
    return ua.NodeId(target.Identifier, target.NamespaceIndex)


async def read_attributes(
    client: Client, items: list[tuple[ua.NodeId, ua.AttributeIds]], chunk: int
) -> list[ua.DataValue]:
    out: list[ua.DataValue] = []
    for part in chunks(items, chunk):
        params = ua.ReadParameters()
        params.TimestampsToReturn = ua.TimestampsToReturn.Neither
        params.NodesToRead = [ua.ReadValueId(NodeId=n, AttributeId=a) for n, a in part]
        out.extend(await client.uaclient.read(params))
    return out


async def _translate(client: Client, paths: list[ua.BrowsePath], chunk: int) -> list[ua.BrowsePathResult]:
    out: list[ua.BrowsePathResult] = []
    for part in chunks(paths, chunk):
        out.extend(await client.uaclient.translate_browsepaths_to_nodeids(list(part)))
    return out


async def resolve(
    client: Client, cfg: OpcUaSourceConfig, points: Iterable[Point], units: UnitCatalog | None = None
) -> Resolution:
    """Resolve every point's node and metadata; transport errors propagate, per-node problems become faults.

    Units are compared with the server's EngineeringUnits only when ``units`` is given (the core's catalog).
    """
    chunk = cfg.max_nodes_per_request
    namespaces = [str(n) for n in await client.get_namespace_array()]
    bindings: dict[str, Binding] = {}
    pending_paths: list[tuple[Binding, ua.BrowsePath]] = []
    for p in points:
        addr = p.address
        assert isinstance(addr, OpcUaAddress)
        b = bindings[p.id] = Binding(p, addr)
        try:
            if addr.node is not None:
                b.node_id = addr.node_ref.to_ua(namespaces)  # type: ignore[union-attr]
            else:
                rel = addr.path.to_ua(namespaces, cfg.namespaces)  # type: ignore[union-attr]
                pending_paths.append((b, ua.BrowsePath(StartingNode=_ROOT, RelativePath=rel)))
        except NamespaceNotFound as exc:
            b.fail("BadNodeIdUnknown", str(exc))
    if pending_paths:
        results = await _translate(client, [bp for _, bp in pending_paths], chunk)
        for (b, _), res in zip(pending_paths, results, strict=True):
            if res.StatusCode.is_good() and res.Targets:
                b.node_id = plain_node_id(res.Targets[0].TargetId)
            else:
                name = status_name(res.StatusCode.value) if not res.StatusCode.is_good() else "BadNoMatch"
                b.fail(name, "browse path not found on the server")
    live = [b for b in bindings.values() if b.fault is None]
    await _read_attributes(client, live, chunk)
    await _resolve_types(client, [b for b in live if b.fault is None], chunk)
    for b in live:
        if b.fault is None:
            _check_shape(b)
    out = Resolution(bindings, namespaces)
    if cfg.check_units and units is not None:
        out.mismatches = await _check_units(client, [b for b in live if b.fault is None], chunk, units)
    return out


async def _read_attributes(client: Client, live: list[Binding], chunk: int) -> None:
    attrs = (
        ua.AttributeIds.NodeClass,
        ua.AttributeIds.DataType,
        ua.AttributeIds.ValueRank,
        ua.AttributeIds.AccessLevel,
    )
    items = [(b.node_id, a) for b in live for a in attrs]
    values = await read_attributes(client, items, chunk)  # type: ignore[arg-type]
    for i, b in enumerate(live):
        ncls, dtype, rank, access = values[i * 4 : i * 4 + 4]
        if not is_good(ncls):
            code = status_name(status_value(ncls))
            b.fail(code, "the server does not know this node" if code == "BadNodeIdUnknown" else code)
            continue
        if (node_class := good_value(ncls)) != ua.NodeClass.Variable:
            b.fail("BadNodeClassInvalid", f"the node is a {ua.NodeClass(node_class).name}, not a Variable")
            continue
        b.value_rank = int(good_value(rank)) if good_value(rank) is not None else -1
        b.access_level = int(good_value(access)) if good_value(access) is not None else None
        b.datatype_id = good_value(dtype)


async def builtin_types(client: Client, dtypes: Iterable[ua.NodeId], chunk: int) -> dict[ua.NodeId, BuiltinType | None]:
    """The built-in type of each DataType node, walking HasSubtype upwards (a few batched Browse calls)."""

    def builtin_of(nid: ua.NodeId) -> BuiltinType | None:
        if nid.NamespaceIndex == 0 and isinstance(nid.Identifier, int) and nid.Identifier in BUILTIN:
            return BUILTIN[nid.Identifier]
        return None

    wanted = set(dtypes)
    parents: dict[ua.NodeId, ua.NodeId | None] = {}
    todo = {t for t in wanted if builtin_of(t) is None}
    for _ in range(_MAX_TYPE_DEPTH):
        todo = {t for t in todo if t not in parents}
        if not todo:
            break
        order = list(todo)
        for part in chunks(order, chunk):
            params = ua.BrowseParameters()
            params.NodesToBrowse = [
                ua.BrowseDescription(
                    NodeId=t,
                    BrowseDirection=ua.BrowseDirection.Inverse,
                    ReferenceTypeId=node_id(ua.ObjectIds.HasSubtype),
                    IncludeSubtypes=True,
                    NodeClassMask=0,
                    ResultMask=ua.BrowseResultMask.All,
                )
                for t in part
            ]
            for t, res in zip(part, await client.uaclient.browse(params), strict=True):
                refs = res.References or []
                parents[t] = plain_node_id(refs[0].NodeId) if res.StatusCode.is_good() and refs else None
        todo = {p for p in parents.values() if p is not None and builtin_of(p) is None}

    def walk(nid: ua.NodeId) -> BuiltinType | None:
        cur: ua.NodeId | None = nid
        for _ in range(_MAX_TYPE_DEPTH + 1):
            if cur is None:
                return None
            bt = builtin_of(cur)
            if bt is not None:
                return bt
            cur = parents.get(cur)
        return None

    return {t: walk(t) for t in wanted}


async def _resolve_types(client: Client, live: list[Binding], chunk: int) -> None:
    types = await builtin_types(client, [b.datatype_id for b in live if b.datatype_id is not None], chunk)
    for b in live:
        bt = types.get(b.datatype_id) if b.datatype_id is not None else None
        if bt is None:
            b.fail("BadTypeMismatch", f"the node's DataType {b.datatype_id} is not derived from a built-in type")
        b.builtin = bt


def _check_shape(b: Binding) -> None:
    assert b.builtin is not None
    problem = compatibility_problem(b.builtin, b.point.datatype) or value_rank_problem(b.value_rank, b.addr.index)
    if problem:
        b.fail("BadTypeMismatch", problem)


async def read_properties(
    client: Client, nodes: Sequence[ua.NodeId], names: Sequence[str], chunk: int
) -> list[dict[str, Any]]:
    """The values of the named properties (HasProperty, namespace 0) of each node; absent ones are left out."""
    paths = [
        ua.BrowsePath(
            StartingNode=nid,
            RelativePath=ua.RelativePath(Elements=[child_step(ua.ObjectIds.HasProperty, name, 0)]),
        )
        for nid in nodes
        for name in names
    ]
    found = await _translate(client, paths, chunk) if paths else []
    reads: list[tuple[int, str, ua.NodeId]] = []
    for i, res in enumerate(found):
        if res.StatusCode.is_good() and res.Targets:
            reads.append((i // len(names), names[i % len(names)], plain_node_id(res.Targets[0].TargetId)))
    values = (
        await read_attributes(client, [(nid, ua.AttributeIds.Value) for _, _, nid in reads], chunk) if reads else []
    )
    out: list[dict[str, Any]] = [{} for _ in nodes]
    for (i, name, _), dv in zip(reads, values, strict=True):
        if good_value(dv) is not None:
            out[i][name] = good_value(dv)
    return out


async def _check_units(client: Client, live: list[Binding], chunk: int, units: UnitCatalog) -> list[str]:
    """Compare EngineeringUnits/EURange properties with the mapping's unit and min/max."""
    numeric = [b for b in live if b.point.datatype.is_numeric and b.builtin and b.builtin.family is not Family.TEXT]
    props = await read_properties(client, [b.node_id for b in numeric], ("EngineeringUnits", "EURange"), chunk)  # type: ignore[misc]
    out: list[str] = []
    for b, m in zip(numeric, props, strict=True):
        out += unit_mismatches(b.point, m.get("EngineeringUnits"), m.get("EURange"), units)
    return out


def unit_mismatches(point: Point, eu: Any, eu_range: Any, units: UnitCatalog) -> list[str]:
    """Human-readable differences between a node's EU properties and the point's unit and min/max."""
    out: list[str] = []
    device_unit = point.transform.source_unit or point.unit
    if isinstance(eu, ua.EUInformation):
        code = unece_code(int(eu.UnitId)) if eu.UnitId is not None else None
        shown = (eu.DisplayName.Text if eu.DisplayName else None) or code or "?"
        if device_unit is None:
            out.append(f"{point.id}: the server reports EngineeringUnits '{shown}' but the mapping gives no unit")
        else:
            mapped = units.unece(device_unit)
            if mapped and code and code != mapped:
                out.append(
                    f"{point.id}: the server reports EngineeringUnits '{shown}' (UNECE {code}) but the mapping says "
                    f"{device_unit} (UNECE {mapped})"
                )
    if isinstance(eu_range, ua.Range) and (point.min is not None or point.max is not None):
        lo, hi = _engineering_range(point, float(eu_range.Low), float(eu_range.High), units)
        if lo is not None and hi is not None:
            diffs = []
            if point.min is not None and not _close(point.min, lo):
                diffs.append(f"min {point.min:g} vs {lo:g}")
            if point.max is not None and not _close(point.max, hi):
                diffs.append(f"max {point.max:g} vs {hi:g}")
            if diffs:
                out.append(
                    f"{point.id}: the server's EURange [{eu_range.Low:g}, {eu_range.High:g}] differs from the mapping "
                    f"({'; '.join(diffs)}, after the point's transform)"
                )
    return out


def _engineering_range(point: Point, low: float, high: float, units: UnitCatalog) -> tuple[float | None, float | None]:
    t = point.transform
    ends = [low * t.scale + t.offset, high * t.scale + t.offset]
    if t.source_unit and point.unit and t.source_unit != point.unit:
        try:
            conv = units.converter(t.source_unit, point.unit)
        except ValueError:  # unknown or unconvertible units: no range to compare
            return None, None
        ends = [conv(v) for v in ends]
    return min(ends), max(ends)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def summarize_faults(bindings: Mapping[str, Binding]) -> dict[str, str]:
    """point id -> "status: reason" for every point that cannot be served."""
    return {pid: f"{b.fault[0]}: {b.fault[1]}" for pid, b in bindings.items() if b.fault is not None}
