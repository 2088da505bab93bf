"""How the northbound services reach the history: the reader, which points are recorded, nearest point ids.

One module for REST, SPARQL and OPC UA HistoryRead, so they agree on what "recorded" means and on the
messages a client gets for an unknown point.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gateway.config.history import twin_default
from gateway.history.model import HistoryReader, reader_of

if TYPE_CHECKING:
    from gateway.twin.view import TwinView


def history_reader(view: TwinView) -> HistoryReader | None:
    """The history of the running twin, or None when the gateway records none."""
    return reader_of(view)


def _mode(policy: Any) -> str | None:
    if isinstance(policy, dict):
        return policy.get("mode")
    return getattr(policy, "mode", None)


def is_recorded(view: TwinView, point_id: str) -> bool:
    """Whether the point's samples are recorded (a resolved policy whose mode is not ``off``)."""
    history = view.model.history
    # a point no policy was resolved for (added at run time by other means) follows the twin's, as the recorder does
    policy = history[point_id] if point_id in history else twin_default(view.model.settings)
    return policy is not None and str(getattr(_mode(policy), "value", _mode(policy))) != "off"


def nearest(word: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known ids closest to a mistyped one (for "did you mean" messages)."""
    return difflib.get_close_matches(word, list(known), n=n, cutoff=0.5)


def unknown_point_message(view: TwinView, point_id: str) -> tuple[str, list[str]]:
    """A message for an unknown point id naming the nearest known ones, and those ids."""
    close = nearest(point_id, view.model.points)
    hint = f"; nearest: {', '.join(close)}" if close else "; GET /points lists them"
    return f"no point '{point_id}'{hint}", close


def not_recorded_message(point_id: str) -> str:
    """Why a known point has no history, and what to change."""
    return (
        f"point '{point_id}' is not recorded (its history mode is off); set history: {{mode: all}} on the point, "
        "its asset or the twin in the mapping"
    )
