"""Errors that only follow from an earlier one are left out of the report, and counted at their cause.

A source whose own settings are invalid is not registered, so every point using it would say "unknown source
id"; an asset that failed (or whose profile is missing) would make its children say "unknown parent asset"
and its points "unknown asset"; an asset naming an unknown source would be followed by the same error on
each point inheriting it. The integrator has one thing to fix in each case: the cause. Its first error says
how many dependants were not checked because of it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

from gateway.config.errors import ConfigError


@dataclass
class FollowOns:
    """Ids of sources and assets whose definition failed or was reported unknown, with their cause's error."""

    roots: dict[tuple[str, str], ConfigError | None] = field(default_factory=dict)
    skipped: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def failed(self, kind: str, ident: object, errors: list[ConfigError]) -> None:
        """``kind`` ``ident`` (e.g. "source", "plc1") is not registered; ``errors`` are its own, if any."""
        if isinstance(ident, str) and (kind, ident) not in self.roots:
            self.roots[(kind, ident)] = errors[0] if errors else None

    def follows(self, kind: str, ident: str | None, dependant: str = "point") -> bool:
        """True (and counted) when a reference to ``ident`` fails only because ``ident`` itself failed."""
        if ident is None or (kind, ident) not in self.roots:
            return False
        self.skipped[(kind, ident, dependant)] += 1
        return True

    def annotate(self, errors: list[ConfigError]) -> list[ConfigError]:
        """``errors`` with each cause's error saying what it kept from being checked."""
        counts: dict[tuple[str, str], list[str]] = {}
        for (kind, ident, dependant), n in sorted(self.skipped.items()):
            counts.setdefault((kind, ident), []).append(f"{n} {dependant}{'s' if n > 1 else ''}")
        notes: dict[int, str] = {}
        for (kind, ident), parts in counts.items():
            root = self.roots.get((kind, ident))
            if root is not None:
                notes[id(root)] = f" [{', '.join(parts)} using {kind} '{ident}' not checked until this is fixed]"
        return [dataclasses.replace(e, message=e.message + notes[id(e)]) if id(e) in notes else e for e in errors]
