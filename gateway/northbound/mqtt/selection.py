"""What a channel publishes: a ``select:`` section (config.Selection) as the analytics' Selector, checked at load
with the analytics selectors' own words and resolved on the running twin by ``gateway.analytics.selectors``.

The UNS and the Sparkplug edge node share this: ``resolve_selection`` / ``watch_selection`` at run time,
``check_selection`` (what is wrong with it) and ``picked_at_load`` (what it picks on the model alone, for the
topic collision check) at load.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway import classes
from gateway.analytics.selectors import Selections
from gateway.config.analytics_select import point_class, sparql_problem, under_problem
from gateway.config.context import nearest
from gateway.rules.spec import Selector

if TYPE_CHECKING:
    from gateway.model import TwinModel
    from gateway.northbound.mqtt.config import Selection
    from gateway.twin.view import TwinView

Path = tuple[str | int, ...]
EVERY_POINT = Selector()  # no part: every point (Selections.resolve)


def to_selector(selection: Selection | None) -> Selector:
    """The analytics Selector of a ``select:`` (``ClassError`` for a class ``check_selection`` reports)."""
    if selection is None:
        return EVERY_POINT
    return Selector(
        classes=tuple(point_class(c) for c in selection.classes),
        under=selection.under,
        sparql=selection.sparql,
        points=tuple(selection.points),
    )


async def resolve_selection(view: TwinView, selection: Selection | None) -> set[str]:
    """The ids of the points a selection picks now (None: every point)."""
    if selection is None:
        return set(view.model.points)
    return await Selections(view).resolve(to_selector(selection))


async def watch_selection(
    view: TwinView, selection: Selection | None, on_added: Callable[[set[str]], Any]
) -> tuple[set[str], Selections]:
    """The ids picked now, and a watcher calling ``on_added(ids)`` (on the loop) when points added at run time
    start matching; ``close()`` the returned Selections to stop."""
    watcher = Selections(view)
    picked = await watcher.watch(to_selector(selection), on_added)
    return picked, watcher


def check_selection(selection: Selection | None, model: TwinModel) -> list[tuple[Path, str]]:
    """What is wrong with a ``select:`` given the model: (path below ``select:``, message) pairs."""
    if selection is None:
        return []
    out: list[tuple[Path, str]] = []
    for i, text in enumerate(selection.classes):
        try:
            point_class(text)
        except classes.ClassError as exc:
            out.append((("class", i), str(exc)))
    if selection.under is not None and (problem := under_problem(selection.under, model.assets, model.locations)):
        out.append((("under",), problem))
    if selection.sparql is not None and (problem := sparql_problem(selection.sparql)):
        out.append((("sparql",), problem))
    for i, pid in enumerate(selection.points):
        if pid not in model.points:
            out.append((("points", i), f"unknown point '{pid}'" + nearest(pid, model.points)))
    return out


def picked_at_load(selection: Selection | None, model: TwinModel) -> set[str]:
    """The points a (valid) selection picks on the model alone, as the running twin would pick them at start.

    Classes (with subclasses), ``under`` and SPARQL run on a twin of the model built in memory (the same queries,
    on the same graph as at run time, without live values), so only when the selection has such parts.
    """
    if selection is None:
        return set(model.points)
    selector = to_selector(selection)
    if not (selector.classes or selector.under is not None or selector.sparql):
        return {p for p in selector.points if p in model.points}
    # Load may run inside an event loop (tests, run-time reloads): resolve on a loop of our own, in a thread.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mqtt-select-check") as pool:
        return pool.submit(asyncio.run, _resolve_in_memory(selector, model)).result()


async def _resolve_in_memory(selector: Selector, model: TwinModel) -> set[str]:
    from gateway.twin.twin import Twin
    from gateway.twin.view import TwinView

    twin = Twin(model, in_memory=True)
    try:
        return await Selections(TwinView(twin)).resolve(selector)
    finally:
        twin.close()
