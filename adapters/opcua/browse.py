"""Browsing for discovery: the Objects and Variables below a node, level by level, in batched requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from asyncua import Client, ua

from adapters.opcua.nodeids import node_id
from adapters.opcua.resolve import chunks, plain_node_id

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
    name_ns: int = 0  # namespace index of the BrowseName (DI nameplates are recognised by it)


async def browse_forward(
    client: Client,
    nodes: list[ua.NodeId],
    chunk: int,
    reference: int = ua.ObjectIds.HierarchicalReferences,
    node_classes: int = int(ua.NodeClass.Object) | int(ua.NodeClass.Variable),
) -> list[list[ua.ReferenceDescription]]:
    """Forward references of a type (and its subtypes) of each node, following continuations."""
    out: list[list[ua.ReferenceDescription]] = []
    for part in chunks(nodes, chunk):
        params = ua.BrowseParameters()
        params.NodesToBrowse = [
            ua.BrowseDescription(
                NodeId=n,
                BrowseDirection=ua.BrowseDirection.Forward,
                ReferenceTypeId=node_id(reference),
                IncludeSubtypes=True,
                NodeClassMask=node_classes,
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
        results = await browse_forward(client, ids, chunk)
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
                    name_ns=ref.BrowseName.NamespaceIndex,
                )
                (parent.children if parent else top).append(f)
                total += 1
                if f.node_class == ua.NodeClass.Object:
                    next_level.append(f)
        level, ids = list(next_level), [f.node_id for f in next_level]
    return top, total


def variables(nodes: list[Found]) -> list[Found]:
    """Every Variable in the trees, depth first."""
    out: list[Found] = []
    for f in nodes:
        if f.node_class == ua.NodeClass.Variable:
            out.append(f)
        out += variables(f.children)
    return out
