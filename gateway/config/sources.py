"""Sources: each validated by its adapter's own config model, then checked with all of its points."""

from __future__ import annotations

import inspect
from typing import Any

from adapters.contract.adapter import Adapter
from adapters.contract.model import Point
from adapters.registry import UnknownAdapter, get_adapter, known_kinds
from gateway.config.context import Ctx, origin
from gateway.config.envvars import checked
from gateway.config.errors import ConfigError
from gateway.config.profiles import ProfileView
from gateway.config.yamlmarks import Marked, Path_
from gateway.rules.spec import DERIVED_SOURCE


def source(ctx: Ctx, doc: Marked, path: Path_, raw: dict[str, Any]) -> None:
    """Validate one ``sources:`` entry with its adapter's config model and record it."""
    kind = raw.get("kind")
    own: list[ConfigError] = []
    adapter: type[Adapter] | None = None
    try:
        adapter = get_adapter(kind) if isinstance(kind, str) else None
    except UnknownAdapter as exc:
        own.append(doc.error((*path, "kind"), str(exc)))
    if adapter is None and not own:
        kinds = ", ".join(known_kinds())
        own.append(doc.error((*path, "kind"), f"missing required key 'kind' (the adapter: {kinds})"))
    cfg = checked(adapter.config_model, raw, doc, path, own) if adapter is not None else None
    ctx.errors.extend(own)
    if cfg is None or adapter is None:
        ctx.follow.failed("source", raw.get("id"), own)  # its points would only say "unknown source"
        return
    where = origin(doc, path)
    if cfg.id == DERIVED_SOURCE:
        reserved = doc.error((*path, "id"), f"source id '{cfg.id}' is reserved for derived points: rename the source")
        ctx.errors.append(reserved)
        ctx.follow.failed("source", cfg.id, [reserved])
        return
    if cfg.id in ctx.sources:
        ctx.errors.append(
            doc.error((*path, "id"), f"duplicate source id '{cfg.id}' (first defined at {ctx.source_origins[cfg.id]})")
        )
        return
    ctx.sources[cfg.id] = cfg
    ctx.source_origins[cfg.id] = where
    ctx.adapters[cfg.id] = adapter


def check_sources(ctx: Ctx, points: dict[str, Point]) -> None:
    """Each adapter's checks across all points of a source (e.g. one payload format per MQTT topic)."""
    by_source: dict[str, list[Point]] = {}
    for p in points.values():
        by_source.setdefault(p.source, []).append(p)
    view = ProfileView(ctx.profiles) if ctx.profiles is not None else None
    for sid, cfg in ctx.sources.items():
        adapter = ctx.adapters[sid]
        wants = "profiles" in inspect.signature(adapter.check_source).parameters
        kwargs = {"profiles": view} if wants else {}
        for pid, msg in adapter.check_source(cfg, by_source.get(sid, []), **kwargs):
            at = points[pid].origin if pid and pid in points else ctx.source_origins[sid]
            assert at is not None
            label = f"point '{pid}': " if pid else ""
            ctx.errors.append(ConfigError(at.file, at.line, at.col, f"sources.{sid}", label + msg))
