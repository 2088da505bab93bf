"""What adapters may ask about units, without importing the core's QUDT table.

The core implements :class:`UnitCatalog` (``gateway.units.CATALOG``) and hands it to adapters through
``AdapterContext.units`` and to discovery commands through their call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class UnitCatalog(Protocol):
    """Lookups on the QUDT units the twin knows, by QUDT name (``DEG_C``) or UNECE code (``CEL``)."""

    def unece(self, name: str) -> str | None:
        """The UNECE Rec 20 code of a unit (``DEG_C`` -> ``CEL``); None when unknown or without one."""
        ...

    def by_unece(self, code: str) -> list[str]:
        """The QUDT names of the units with a UNECE code (empty when none)."""
        ...

    def converter(self, src: str, dst: str) -> Callable[[float], float]:
        """A function converting values from ``src`` into ``dst``; ValueError when they do not convert."""
        ...
