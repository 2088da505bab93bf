"""What the loader's phases share: the collected specs, the errors so far, and position helpers.

The same context serves mapping files (``load_mappings``) and fragments an adapter discovers at run time
(``fragments.build_fragment``), so both go through the same checks and say the same things.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.contract.adapter import Adapter
from adapters.contract.config import SourceConfig
from adapters.contract.model import Location, Origin, TargetKind
from gateway import units
from gateway.config.errors import ConfigError
from gateway.config.followons import FollowOns
from gateway.config.models import AssetSpec, LocationSpec, Relations
from gateway.config.profiles import ProfileLibrary
from gateway.config.vocabulary import Vocabulary
from gateway.config.yamlmarks import Marked, Path_
from gateway.model import TwinModel, TwinSettings


@dataclass
class PointSource:
    """A point spec plus where its fields were written (the instance and the profile may differ)."""

    spec: dict[str, Any]
    doc: Marked
    path: Path_
    asset: str
    default_source: str | None
    address_layers: tuple[dict[str, Any] | None, ...] = ()
    address_offset: int = 0
    instance: str | None = None  # "file:line" of the profile instance, for messages


@dataclass
class RelationSource:
    """The ``relations:`` of one entity, resolved once every entity is built (targets may be in any file)."""

    kind: TargetKind  # of the subject: ASSET, POINT or LOCATION
    subject: str
    relations: Relations
    doc: Marked
    path: Path_  # of the ``relations`` key
    suffix: str = ""  # names the profile instance, for messages about profile points


@dataclass
class Ctx:
    """The state of one load (or of one discovered fragment)."""

    errors: list[ConfigError] = field(default_factory=list)
    settings: TwinSettings | None = None
    settings_at: str | None = None
    services: dict[str, Any] = field(default_factory=dict)
    service_docs: dict[str, Any] = field(default_factory=dict)  # section name -> the Marked file it is in
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    source_origins: dict[str, Origin] = field(default_factory=dict)
    adapters: dict[str, type[Adapter]] = field(default_factory=dict)
    asset_specs: dict[str, tuple[AssetSpec, Marked, Path_]] = field(default_factory=dict)
    point_sources: list[PointSource] = field(default_factory=list)
    profiles: ProfileLibrary | None = None
    follow: FollowOns = field(default_factory=FollowOns)
    known_assets: frozenset[str] = frozenset()  # assets of the running twin (fragments may refer to them)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    location_specs: dict[str, tuple[LocationSpec, Marked, Path_]] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)  # built by locations.build_locations
    relation_sources: list[RelationSource] = field(default_factory=list)
    running: TwinModel | None = None  # the twin a discovered fragment is added to (its entities are targets)
    probing: bool = False  # a dry run with made-up placeholder values: templated locations are not looked up

    def has_asset(self, aid: str) -> bool:
        """Whether ``aid`` is defined here or already in the twin."""
        return aid in self.asset_specs or aid in self.known_assets

    def has_location(self, lid: str) -> bool:
        """Whether ``lid`` is a location defined here or already in the twin."""
        return lid in self.location_specs or (self.running is not None and lid in self.running.locations)

    def location_ids(self) -> list[str]:
        """Every location id known to this load (for suggestions)."""
        return [*self.location_specs, *(self.running.locations if self.running is not None else ())]


def origin(doc: Marked, path: Path_) -> Origin:
    """Where the node at ``path`` was written."""
    line, col = doc.mark(path, prefer_key=False)
    return Origin(doc.file, line, col)


def place(doc: Marked, path: Path_) -> str:
    """``file:line:col`` of a node, or just the name of an unpositioned document (a discovered fragment)."""
    at = origin(doc, path)
    return str(at) if at.line else at.file


def in_(ps: PointSource) -> str:
    """The suffix naming the profile instance a profile point's message is about."""
    return f" [profile instance at {ps.instance}]" if ps.instance else ""


def unknown_unit(name: str, fallback: str) -> str:
    """The message for a unit name QUDT does not know, with close names when there are some."""
    hints = units.suggest_units(name)
    return f"unknown unit '{name}'" + (f" (did you mean {', '.join(hints)}?)" if hints else fallback)


def suggest(name: str, known: Mapping[str, Any]) -> str:
    """`` (did you mean 'x'?)`` when a known id is close to ``name``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def nearest(name: str, known: Iterable[str], n: int = 3) -> str:
    """`` (nearest known: 'a', 'b')`` naming the known ids closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=n, cutoff=0.5)
    return f" (nearest known: {', '.join(repr(c) for c in close)})" if close else ""
