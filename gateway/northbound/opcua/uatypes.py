"""asyncua values from plain Python ones: its annotations name wrapper types (Int16, UInt32...) its runtime
does not need, so these helpers keep the type checker quiet in one place instead of at every call."""

from __future__ import annotations

from datetime import datetime

from asyncua import ua


def node_id(identifier: int | str, ns: int = 0) -> ua.NodeId:
    """A NodeId (numeric or string) in namespace ``ns``."""
    return ua.NodeId(identifier, ns)  # type: ignore[arg-type]


def status(code: int) -> ua.StatusCode:
    """A StatusCode from its number (``ua.StatusCodes.BadTimeout``...)."""
    return ua.StatusCode(code)  # type: ignore[arg-type]


def ua_time(moment: datetime | None) -> ua.DateTime | None:
    """A timestamp as asyncua annotates it (its DateTime is a plain datetime at run time)."""
    return moment  # type: ignore[return-value]
