"""What an adapter that finds assets and points at run time (e.g. MQTT topic rules) gets from the core.

The adapter never builds points itself: it describes what it found as a mapping fragment, the plain data a
mapping file would hold (``{"assets": [...], "points": [...]}``, an asset may instantiate a profile with
``profile:``, ``vars:`` and ``address:``), and the core builds it with the loader's own point builder, so a
discovered point passes exactly the checks a written one does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from adapters.contract.model import Point


class ProfileCatalog(Protocol):
    """Read-only view of the mapping's device profiles."""

    def names(self) -> list[str]:
        """Names of every profile on the search path."""
        ...

    def get(self, name: str) -> Mapping[str, Any] | None:
        """The profile as written (``profile``, ``type``, ``label``, ``address``, ``points``), or None when it
        is missing or invalid."""
        ...


@dataclass(frozen=True, slots=True)
class Discovered:
    """The core's answer to a fragment.

    ``points``: the points added (already served by the adapter when the core runs it); ``existing``: ids the
    fragment built that were already known (nothing added for them); ``errors``: one message per refused part,
    each at the line of the profile or fragment to fix.
    """

    points: list[Point] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Discover(Protocol):
    """``AdapterContext.discover``: build and add a fragment (``dry_run``: build and check only, add nothing).

    In a fragment every point belongs to the calling source (``source:`` defaults to it); an asset may list
    ``only: [point ids]`` to take just those points of its profile.
    """

    def __call__(self, fragment: Mapping[str, Any], *, dry_run: bool = False) -> Discovered: ...
