"""Mapping fragments an adapter discovers at run time, built with the loader's own asset and point builders.

An adapter describes what it found (``adapters.contract.discovery``) as the plain data a mapping file holds;
here it goes through the same phases as a mapping file (asset specs, profile expansion, the point builder,
the adapter's ``check_point``), so a discovered point is refused for exactly what a written one would be,
with the same message. A fragment is all or nothing: one refused part and nothing of it is added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters.contract.adapter import Adapter
from adapters.contract.config import SourceConfig
from adapters.contract.discovery import Discovered
from adapters.contract.model import Asset, Point
from adapters.registry import get_adapter
from gateway.config.analytics import fragment_analytics
from gateway.config.assets import asset, build_assets, top_level_point
from gateway.config.context import Ctx
from gateway.config.errors import ConfigError
from gateway.config.history import fragment_history
from gateway.config.points import build_points
from gateway.config.profiles import ProfileLibrary
from gateway.config.topology import resolve_relations
from gateway.config.yamlmarks import Marked, Path_
from gateway.model import TwinModel, TwinSettings

AddFound = Callable[[Sequence[Asset], Sequence[Point]], list[Point]]


class _Unplaced(Marked):
    """A fragment has no file positions: its errors name where it came from and the path inside it."""

    def mark(self, path: Path_, *, prefer_key: bool = True) -> tuple[int, int]:
        return (0, 0)


def build_fragment(
    fragment: Mapping[str, Any],
    *,
    source: SourceConfig,
    adapter: type[Adapter],
    profiles: ProfileLibrary,
    known_assets: Iterable[str] = (),
    running: TwinModel | None = None,
    probe: bool = False,
) -> tuple[list[Asset], list[Point], list[ConfigError]]:
    """The assets and points of a fragment for ``source``, and every problem with it.

    ``fragment``: ``{"origin": text naming where it came from, "assets": [...], "points": [...]}``; an asset
    may carry ``only: [ids]`` to take just those points of its profile. Points default to ``source``. With
    ``running`` (the twin the fragment is added to), locations, relation targets and the mapping's vocabulary
    are those of that twin. A ``probe`` (a dry run with made-up placeholder values, e.g. an MQTT rule's start-up
    check) does not look up a location its profile's template fills from those values.
    """
    ctx = Ctx(
        sources={source.id: source},
        adapters={source.id: adapter},
        profiles=profiles,
        known_assets=frozenset(known_assets) | frozenset(running.assets if running is not None else ()),
        running=running,
        probing=probe,
    )
    if running is not None and running.vocabulary is not None:
        ctx.vocabulary = running.vocabulary
    doc = _Unplaced(str(fragment.get("origin") or f"discovered on {source.id}"), dict(fragment))
    named: set[str] = set()
    for i, raw in enumerate(fragment.get("assets") or []):
        spec = {k: v for k, v in raw.items() if k != "only"}
        spec.setdefault("source", source.id)
        only = raw.get("only")
        named.add(str(spec.get("profile")))
        asset(ctx, doc, ("assets", i), spec, profiles, None if only is None else frozenset(only))
    for i, raw in enumerate(fragment.get("points") or []):
        top_level_point(ctx, doc, ("points", i), dict(raw), source.id)
    assets = build_assets(ctx)
    points = build_points(ctx)
    resolve_relations(ctx, assets, points, {})
    if running is not None and not probe:  # what the history records of them (read by the recorder and services)
        running.history.update(fragment_history(ctx, points, running))
    if running is not None:  # their profile's expr:, alarms:, anomaly: (score points join the fragment)
        for score in fragment_analytics(ctx, points, assets, running, keep=not probe):
            points[score.id] = score
    # a profile that failed to load is reported by the library, not by the asset naming it
    ctx.errors.extend(e for e in profiles.errors if Path(e.file).stem in named)
    return list(assets.values()), list(points.values()), ctx.errors


class FragmentDiscovery:
    """``AdapterContext.discover`` of one source: fragments built against the running model, added by ``add``."""

    def __init__(self, model: TwinModel, source_id: str, add: AddFound) -> None:
        self.model = model
        self.source = model.sources[source_id]
        self.adapter = get_adapter(self.source.kind)
        self.add = add

    @classmethod
    def standalone(
        cls,
        source: SourceConfig,
        profiles: ProfileLibrary,
        on_add: Callable[[Sequence[Asset], Sequence[Point]], object] | None = None,
    ) -> FragmentDiscovery:
        """For an adapter run without the gateway (tools, tests): a model of this one source that keeps what is
        added (``on_add`` sees each addition)."""
        model = TwinModel(settings=TwinSettings(), sources={source.id: source}, profiles=profiles)

        def keep(assets: Sequence[Asset], points: Sequence[Point]) -> list[Point]:
            for a in assets:
                model.assets.setdefault(a.id, a)
            new = [p for p in points if p.id not in model.points]
            model.points.update((p.id, p) for p in new)
            if on_add is not None:
                on_add(assets, new)
            return new

        return cls(model, source.id, keep)

    def __call__(self, fragment: Mapping[str, Any], *, dry_run: bool = False) -> Discovered:
        """Build ``fragment``; unless ``dry_run`` or refused, add what is new (``points``: the points added)."""
        model = self.model
        assets, points, errors = build_fragment(
            fragment,
            source=self.source,
            adapter=self.adapter,
            profiles=model.profiles if model.profiles is not None else ProfileLibrary(),
            known_assets=model.assets,
            running=model,
            probe=dry_run,
        )
        if errors:
            return Discovered(errors=[str(e) for e in errors])
        existing = [p.id for p in points if p.id in model.points]
        if dry_run:
            return Discovered([p for p in points if p.id not in model.points], existing)
        return Discovered(self.add(assets, points), existing)
