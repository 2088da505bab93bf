"""History policies from mappings: ``history:`` on the twin, a source, a profile, an asset or a point.

Each level may set any of ``mode``, ``deadband``, ``interval``, ``retention`` and ``rollups``; a point gets,
key by key, the value of the most specific level that sets it: the point, then its asset and that asset's
ancestors (nearest first), then the asset's profile, then the point's source, then ``twin: history:``. The
twin's section also says where the store is (``backend``, ``path``, ``url``) and how often it flushes.
Every bad value is an error at its file:line (docs/history.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, model_validator

from adapters.contract.config import StrictModel
from adapters.contract.model import Point
from adapters.contract.types import Duration
from gateway.config.context import Ctx
from gateway.config.envvars import checked
from gateway.config.errors import ConfigError
from gateway.config.yamlmarks import Marked, Path_
from gateway.model import TwinModel, TwinSettings

Mode = Literal["all", "deadband", "interval", "off"]


def _mode(value: Any) -> Any:
    # YAML 1.1 reads an unquoted `off` as false
    return "off" if value is False else value


ModeField = Annotated[Mode | None, BeforeValidator(_mode)]
_SPAN = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h|d|w|y)?\s*$")
_SPAN_FACTORS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31_557_600.0}


def parse_span(value: Any) -> float | None:
    """Seconds of ``30d``, ``1y``, ``12h``, ``10m``, ``1w``, ``500ms`` or a number; None for ``forever``."""
    if value is None or value == "forever":
        return None
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30d, 12h or 1y, or forever")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _SPAN.match(value)):
        seconds = float(m.group(1)) * _SPAN_FACTORS[m.group(2) or "s"]
    else:
        raise ValueError("expected a duration such as 30d, 12h or 1y, or forever")
    if seconds <= 0:
        raise ValueError("a retention must be longer than 0 (or forever)")
    return seconds


Span = Annotated[float | None, BeforeValidator(parse_span)]


class RollupSpec(StrictModel):
    """One roll-up level: aggregates per ``interval``, kept for ``retention``."""

    interval: Duration = Field(description="the roll-up interval, e.g. 1m or 1h")
    retention: Span = Field(None, description="how long roll-up rows are kept (30d, 10y, forever)")

    @model_validator(mode="after")
    def _positive(self) -> RollupSpec:
        if self.interval < 1:
            raise ValueError("a roll-up interval must be at least 1s")
        return self


class HistorySpec(StrictModel):
    """``history:`` on a point, an asset, a profile or a source (every key optional)."""

    mode: ModeField = Field(None, description="all | deadband | interval | off")
    deadband: float | None = Field(None, ge=0, description="mode deadband: the change that is recorded")
    interval: Duration | None = Field(None, description="mode interval: at most one sample per interval")
    retention: Span = Field(None, description="how long raw samples are kept (30d, 1y, forever)")
    rollups: list[RollupSpec] | None = None


class TwinHistorySpec(HistorySpec):
    """``twin: history:``: the twin-wide default policy plus where the store is."""

    backend: Literal["embedded", "postgresql"] = "embedded"
    path: str | None = Field(None, description="embedded: the store's directory (relative to the mapping file)")
    url: SecretStr | None = Field(None, description="postgresql: the connection URL (from ${ENV})")
    flush_interval: Duration = Field(1.0, description="how often recorded samples are written (<= 1s loses less)")
    upkeep_interval: Duration = Field(60.0, description="how often roll-ups, retention and compaction run")

    @model_validator(mode="after")
    def _backend(self) -> TwinHistorySpec:
        if self.backend == "postgresql" and self.url is None:
            raise ValueError("backend postgresql needs url: (e.g. url: ${HISTORY_PG_URL})")
        if self.backend == "embedded" and self.url is not None:
            raise ValueError("url: is for backend postgresql; the embedded store takes path:")
        if self.flush_interval <= 0:
            raise ValueError("flush_interval must be more than 0")
        return self


@dataclass(frozen=True, slots=True)
class HistoryPolicy:
    """A point's resolved policy (seconds; None retention: forever)."""

    mode: Mode = "all"
    deadband: float | None = None
    interval: float | None = None
    retention: float | None = 30 * 86400.0
    rollups: tuple[tuple[float, float | None], ...] = ((3600.0, None),)  # hourly, kept forever


DEFAULT = HistoryPolicy()
_KEYS = ("mode", "deadband", "interval", "retention", "rollups")


@dataclass
class _Level:
    spec: HistorySpec
    doc: Marked
    path: Path_


def twin_default(settings: TwinSettings) -> HistoryPolicy | None:
    """The policy of points the mapping did not name (discovered at run time): the twin's, or the default."""
    raw = settings.history or {}
    spec = TwinHistorySpec.model_validate(raw)
    return _merge([_Level(spec, Marked("", None), ())], [])


def twin_history(settings: TwinSettings, base_dir: str | Path | None = None) -> TwinHistorySpec:
    """The twin's history section, validated (the loader already reported any error)."""
    spec = TwinHistorySpec.model_validate(settings.history or {})
    if spec.path is not None and base_dir is not None and not Path(spec.path).is_absolute():
        spec = spec.model_copy(update={"path": str((Path(base_dir) / spec.path).resolve())})
    return spec


def resolve_history(ctx: Ctx, model: TwinModel, docs: list[Marked]) -> dict[str, HistoryPolicy | None]:
    """Point id -> its policy (None: not recorded); errors are appended to ``ctx.errors``."""
    errors: list[ConfigError] = []
    twin = _twin_level(ctx, docs, errors)
    sources = _source_levels(ctx, docs, errors)
    assets: dict[str, _Level | None] = {}
    for aid, (spec, doc, path) in ctx.asset_specs.items():
        assets[aid] = _level(spec.history, doc, (*path, "history"), errors)
    profiles: dict[str, _Level | None] = {}
    out: dict[str, HistoryPolicy | None] = {}
    for ps in ctx.point_sources:
        spec_id, asset_id = ps.spec.get("id"), ps.spec.get("asset") or ps.asset
        pid = f"{asset_id}.{spec_id}"
        point = model.points.get(pid)
        if point is None or pid in out:
            continue
        chain = [_level(ps.spec.get("history"), ps.doc, (*ps.path, "history"), errors)]
        chain += [assets.get(a) for a in _asset_chain(ctx, asset_id)]
        chain.append(_profile_level(ctx, asset_id, profiles, errors))
        chain += [sources.get(point.source), twin]
        out[pid] = _merge([lvl for lvl in chain if lvl is not None], errors)
    ctx.errors.extend(_unique(errors))
    return out


def fragment_history(ctx: Ctx, points: Mapping[str, Point], running: TwinModel) -> dict[str, HistoryPolicy | None]:
    """The policies of a run-time fragment's points: their own history:, their (discovered) assets', their
    profile's, their source's and the running twin's; errors are appended to ``ctx.errors``.

    Assets of the mapping above a discovered asset do not take part (their specs are not kept at run time)."""
    errors: list[ConfigError] = []
    unplaced = Marked(f"twin of {running.settings.name}", None)
    twin = _Level(TwinHistorySpec.model_validate(running.settings.history or {}), unplaced, ("twin", "history"))
    out: dict[str, HistoryPolicy | None] = {}
    profiles: dict[str, _Level | None] = {}
    for ps in ctx.point_sources:
        asset_id = ps.spec.get("asset") or ps.asset
        pid = f"{asset_id}.{ps.spec.get('id')}"
        point = points.get(pid)
        if point is None or pid in out:
            continue
        chain = [_level(ps.spec.get("history"), ps.doc, (*ps.path, "history"), errors)]
        for aid in _asset_chain(ctx, asset_id):
            spec, doc, path = ctx.asset_specs[aid]
            chain.append(_level(spec.history, doc, (*path, "history"), errors))
        chain.append(_profile_level(ctx, asset_id, profiles, errors))
        source = running.sources.get(point.source)
        if source is not None and source.history is not None:
            chain.append(_level(source.history, unplaced, ("sources", point.source, "history"), errors))
        chain.append(twin)
        out[pid] = _merge([lvl for lvl in chain if lvl is not None], errors)
    ctx.errors.extend(_unique(errors))
    return out


def _level(raw: Any, doc: Marked, path: Path_, errors: list[ConfigError]) -> _Level | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.append(doc.error(path, "history: must be a mapping (mode:, deadband:, interval:, retention:, rollups:)"))
        return None
    spec = checked(HistorySpec, raw, doc, path, errors)
    return None if spec is None else _Level(spec, doc, path)


def _twin_level(ctx: Ctx, docs: list[Marked], errors: list[ConfigError]) -> _Level | None:
    raw = ctx.settings.history if ctx.settings is not None else None
    if raw is None:
        return None
    doc = next((d for d in docs if isinstance(d.data, dict) and isinstance(d.data.get("twin"), dict)), None)
    if doc is None:
        return None
    path: Path_ = ("twin", "history")
    if not isinstance(raw, dict):
        errors.append(doc.error(path, "twin.history: must be a mapping (backend:, path:, mode:, retention:...)"))
        return None
    spec = checked(TwinHistorySpec, raw, doc, path, errors)
    if spec is not None and spec.path is not None and not Path(spec.path).is_absolute():
        # relative to the file that says it, as the loader does for twin.store
        raw["path"] = str((Path(doc.file).parent / spec.path).resolve())
    return None if spec is None else _Level(spec, doc, path)


def _source_levels(ctx: Ctx, docs: list[Marked], errors: list[ConfigError]) -> dict[str, _Level | None]:
    out: dict[str, _Level | None] = {}
    for sid, cfg in ctx.sources.items():
        if cfg.history is None:
            continue
        at = ctx.source_origins[sid]
        doc = next((d for d in docs if d.file == at.file), None)
        raws = doc.data.get("sources", []) if doc is not None and isinstance(doc.data, dict) else []
        index = next((i for i, r in enumerate(raws) if isinstance(r, dict) and r.get("id") == sid), None)
        if doc is not None and index is not None:
            out[sid] = _level(cfg.history, doc, ("sources", index, "history"), errors)
    return out


def _profile_level(
    ctx: Ctx, asset_id: str, cache: dict[str, _Level | None], errors: list[ConfigError]
) -> _Level | None:
    entry = ctx.asset_specs.get(asset_id)
    name = entry[0].profile if entry is not None else None
    if name is None or ctx.profiles is None:
        return None
    if name not in cache:
        profile = ctx.profiles.get(name)
        cache[name] = None if profile is None else _level(profile.spec.history, profile.doc, ("history",), errors)
    return cache[name]


def _asset_chain(ctx: Ctx, asset_id: str) -> list[str]:
    out: list[str] = []
    cur: str | None = asset_id
    while cur is not None and cur in ctx.asset_specs and cur not in out:
        out.append(cur)
        cur = ctx.asset_specs[cur][0].parent
    return out


def _merge(chain: list[_Level], errors: list[ConfigError]) -> HistoryPolicy | None:
    """Key by key, the first level (most specific) that sets it; mode's needs checked where mode was set."""
    chosen: dict[str, tuple[Any, _Level | None]] = {k: (getattr(DEFAULT, k), None) for k in _KEYS}
    for key in _KEYS:
        for lvl in chain:
            value = getattr(lvl.spec, key)
            if value is not None or (key == "retention" and key in lvl.spec.model_fields_set):
                chosen[key] = (value, lvl)
                break
    mode, at = chosen["mode"]
    if mode == "off":
        return None
    for needed in ("deadband", "interval"):
        if mode == needed and chosen[needed][0] is None:
            assert at is not None
            errors.append(
                at.doc.error(
                    (*at.path, "mode"),
                    f"mode {needed} needs {needed}: (e.g. {needed}: "
                    f"{'0.5' if needed == 'deadband' else '10s'}) on this history: or above it",
                )
            )
            return None
    rollups, rollups_at = chosen["rollups"]
    retention = chosen["retention"][0]
    if rollups_at is None:  # the default roll-ups, where the raw retention allows them
        rollups = [
            RollupSpec(interval=i, retention=r) for i, r in DEFAULT.rollups if retention is None or i <= retention
        ]
    for r in rollups:
        if retention is not None and r.interval > retention and rollups_at is not None:
            msg = (
                f"a {r.interval:g}s roll-up cannot be computed from raw samples kept only {retention:g}s: "
                "make retention: longer than the interval"
            )
            errors.append(rollups_at.doc.error((*rollups_at.path, "rollups"), msg))
            return None
    return HistoryPolicy(
        mode=mode,
        deadband=chosen["deadband"][0],
        interval=chosen["interval"][0],
        retention=retention,
        rollups=tuple((r.interval, r.retention) for r in rollups),
    )


def _unique(errors: list[ConfigError]) -> list[ConfigError]:
    # a level shared by many points (an asset, a profile, the twin) reports its problem once
    seen: set[tuple[str, int, int, str]] = set()
    out = []
    for e in errors:
        key = (e.file, e.line, e.col, e.message)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
