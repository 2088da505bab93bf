"""The compiled twin model: every asset, point, source and service a set of mapping files declares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, field_validator, model_validator

from adapters.contract.config import StrictModel
from adapters.contract.model import Asset, Location, Origin, Point
from adapters.contract.types import Duration
from gateway.remote_store.settings import GATEWAY_NAME, RemoteSettings, ReplicaSettings

if TYPE_CHECKING:
    from adapters.contract.config import SourceConfig


class TwinSettings(StrictModel):
    """The ``twin:`` section: identity and storage of the twin."""

    base_iri: str = "http://twinbridge.local/"
    name: str = "twinbridge"
    store: str | None = Field(None, description="directory of an on-disk store; in memory when absent")
    flush_interval: Duration = Field(0.25, description="how often changed live values are written to the graph")
    write_timeout: Duration = 5.0
    profile_paths: list[str] = []
    history: dict[str, Any] | None = Field(None, description="the twin-wide history default (docs/history.md)")
    standard_values: bool = Field(
        True,
        description="also write each live value and time in SOSA and Brick terms (sosa:hasSimpleResult, "
        "brick:lastKnownValue), not only tb:value; false trims the live graph of a very large twin "
        "(docs/twin-graph.md)",
    )
    replicate: list[ReplicaSettings] = Field(
        [], description="SPARQL stores this gateway mirrors its twin into (docs/scale-out.md)"
    )
    remote: RemoteSettings | None = Field(
        None, description="serve a shared store's twins as one central view, with no sources (docs/scale-out.md)"
    )

    @field_validator("base_iri")
    @classmethod
    def _base(cls, v: str) -> str:
        if not (v.startswith(("http://", "https://", "urn:"))) or not v.endswith(("/", "#", ":")):
            raise ValueError("base_iri must be an http(s) or urn IRI ending in '/', '#' or ':'")
        if any(c in v for c in ' <>"{}|\\^`'):
            raise ValueError("base_iri contains characters not allowed in an IRI")
        return v

    @model_validator(mode="after")
    def _scale_out(self) -> Self:
        if self.replicate and not GATEWAY_NAME.match(self.name):
            raise ValueError(
                f"name {self.name!r} names this gateway's graphs in the shared store: use letters, digits, "
                "'.', '_' and '-' only"
            )
        if self.replicate and self.remote is not None:
            raise ValueError("a central view (remote:) serves the shared store; it does not replicate into one")
        return self


@dataclass
class TwinModel:
    """Everything a set of mapping files declares, validated and cross-checked."""

    settings: TwinSettings
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    points: dict[str, Point] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)  # northbound section name -> validated config
    source_origins: dict[str, Origin] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    profiles: Any = None  # the ProfileLibrary the mapping was loaded with (for run-time discovery)
    # Turtle files declaring the terms of the adapters in use (Adapter.ontology()), for the ontology graph
    ontology_fragments: list[str] = field(default_factory=list)
    # point id -> its resolved history policy (gateway/config/history.py; None: not recorded)
    history: dict[str, Any] = field(default_factory=dict)
    # the mapping's prefixes: and relation_types: (gateway.config.vocabulary.Vocabulary), for run-time fragments
    vocabulary: Any = None
    # derived points' expressions, alarm rules and anomaly detectors (gateway.rules.spec.AnalyticsModel; None: none)
    analytics: Any = None

    def location_of(self, entity_id: str) -> str | None:
        """Where an asset or point is: its own ``location``, else (a point) its asset's; None when nowhere."""
        point = self.points.get(entity_id)
        if point is not None:
            if point.location is not None:
                return point.location
            entity_id = point.asset
        asset = self.assets.get(entity_id)
        return asset.location if asset is not None else None

    def points_of_source(self, source_id: str) -> list[Point]:
        """All points fed by a source."""
        return [p for p in self.points.values() if p.source == source_id]

    def points_of_asset(self, asset_id: str) -> list[Point]:
        """The points directly attached to an asset."""
        return [p for p in self.points.values() if p.asset == asset_id]

    def children(self, asset_id: str | None) -> list[Asset]:
        """Direct children of an asset (``None``: the roots)."""
        return [a for a in self.assets.values() if a.parent == asset_id]

    def subtree(self, asset_id: str) -> Iterator[Asset]:
        """An asset and all its descendants, depth first."""
        by_parent: dict[str | None, list[Asset]] = {}
        for a in self.assets.values():
            by_parent.setdefault(a.parent, []).append(a)
        stack = [self.assets[asset_id]]
        while stack:
            a = stack.pop()
            yield a
            stack.extend(reversed(by_parent.get(a.id, [])))

    def ancestors(self, asset_id: str) -> list[Asset]:
        """The chain of parents of an asset, nearest first."""
        out: list[Asset] = []
        cur = self.assets[asset_id].parent
        while cur is not None and cur in self.assets and len(out) < len(self.assets):
            out.append(self.assets[cur])
            cur = self.assets[cur].parent
        return out

    def location_subtree(self, location_id: str) -> list[Location]:
        """A location and every location under it, depth first."""
        by_parent: dict[str | None, list[Location]] = {}
        for loc in self.locations.values():
            by_parent.setdefault(loc.parent, []).append(loc)
        out: list[Location] = []
        stack = [self.locations[location_id]]
        while stack:
            loc = stack.pop()
            out.append(loc)
            stack.extend(reversed(by_parent.get(loc.id, [])))
        return out

    def location_ancestors(self, location_id: str) -> list[Location]:
        """The chain of parent locations, nearest first."""
        out: list[Location] = []
        cur = self.locations[location_id].parent
        while cur is not None and cur in self.locations and len(out) < len(self.locations):
            out.append(self.locations[cur])
            cur = self.locations[cur].parent
        return out
