"""Which points a selector picks, now and as points are added at run time (class rules, detectors, aggregates).

A ``Selector`` (gateway.rules.spec) combines up to three parts, all required: classes (with their subclasses,
``rdfs:subClassOf*`` in the ontology graph) optionally ``under`` an asset or a location (the whole subtree), a
user's SPARQL SELECT whose ``?point`` bindings are taken, and listed point ids. Classes and ``under`` are one
SPARQL query on the twin; the parts' results are intersected. ``watch`` re-runs a selection after points are
added at run time (MQTT discovery, fragments) and reports the ids that newly match.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from adapters.contract.model import Asset, Point
from adapters.contract.rdf import BRICK, RDF, RDFS, TB
from gateway.rules.spec import Selector
from gateway.twin.terms import iri

log = logging.getLogger("twinbridge.analytics")

Callback = Callable[[set[str]], Any]


class SelectorError(ValueError):
    """A selection that cannot run (a SPARQL query without ``?point``, a syntax error): says which selector."""


def class_query(selector: Selector, ids: Any, *, under_asset: bool, under_location: bool) -> str:
    """The SPARQL SELECT of a selector's classes and ``under`` part (``?point``), on the twin's union graph."""
    lines = [f"?point <{RDF}type> <{TB}Point> ."]
    if selector.classes:
        alternatives = " UNION ".join(
            f"{{ ?point <{RDF}type> ?class . ?class <{RDFS}subClassOf>* {iri(c)} . }}" for c in selector.classes
        )
        lines.append(alternatives)
    if selector.under is not None and (under_asset or under_location):
        part_of = f"<{BRICK}isPartOf>"
        branches = []
        if under_asset:
            root = iri(ids.asset(selector.under))
            branches.append(f"{{ ?point <{BRICK}isPointOf>/{part_of}* {root} . }}")
        if under_location:
            root = iri(ids.location(selector.under))
            # the point's own location (or its asset's, materialized on the point), or an asset located there
            branches.append(f"{{ ?point <{BRICK}hasLocation>/{part_of}* {root} . }}")
            branches.append(f"{{ ?point <{BRICK}isPointOf>/{part_of}*/<{BRICK}hasLocation>/{part_of}* {root} . }}")
        lines.append(" UNION ".join(branches))
    body = "\n  ".join(lines)
    return f"SELECT DISTINCT ?point WHERE {{\n  {body}\n}}"


def _point_ids(rows: Iterable[dict[str, Any]], ids: Any, known: Any) -> set[str]:
    out: set[str] = set()
    for row in rows:
        term = row.get("point")
        if term is None:
            continue
        text = str(getattr(term, "value", term))
        pid = ids.point_id(text)
        if pid is None and text in known:  # a query may bind the id literal (tb:id) instead of the IRI
            pid = text
        if pid is not None and pid in known:
            out.add(pid)
    return out


@dataclass
class _Watch:
    selector: Selector
    callback: Callback
    matched: set[str] = field(default_factory=set)


class Selections:
    """Resolves selectors against a running twin (``TwinView``) and keeps watchers up to date."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self._watches: list[_Watch] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._listening = False
        self.errors = 0

    async def resolve(self, selector: Selector) -> set[str]:
        """The ids of the points the selector picks now (``SelectorError`` when its SPARQL cannot run)."""
        view = self.view
        model = view.model
        parts: list[set[str]] = []
        if selector.points:
            parts.append({p for p in selector.points if p in model.points})
        if selector.classes or selector.under is not None:
            under_asset = selector.under in model.assets if selector.under else False
            under_location = selector.under in model.locations if selector.under else False
            if selector.under is not None and not (under_asset or under_location):
                parts.append(set())  # an unknown subtree picks nothing (the loader reports it)
            else:
                q = class_query(selector, view.ids, under_asset=under_asset, under_location=under_location)
                parts.append(_point_ids(await view.query(q), view.ids, model.points))
        if selector.sparql:
            try:
                rows = await view.query(selector.sparql)
            except (SyntaxError, ValueError, OSError) as exc:
                raise SelectorError(f"{selector.describe()}: the SPARQL query failed: {exc}") from exc
            if not isinstance(rows, list):
                raise SelectorError(f"{selector.describe()}: the SPARQL query must be a SELECT binding ?point")
            parts.append(_point_ids(rows, view.ids, model.points))
        if not parts:
            return set(model.points)
        result = parts[0]
        for part in parts[1:]:
            result &= part
        return result

    async def watch(self, selector: Selector, callback: Callback, *, initial: set[str] | None = None) -> set[str]:
        """Resolve now (unless ``initial`` is given) and call ``callback(added_ids)`` on the loop whenever points
        added at run time start matching. Returns the ids matching now."""
        matched = await self.resolve(selector) if initial is None else set(initial)
        self._loop = asyncio.get_running_loop()
        self._watches.append(_Watch(selector, callback, set(matched)))
        if not self._listening:
            self._listening = True
            self.view.add_model_listener(self._on_model)
        return matched

    def close(self) -> None:
        """Stop watching (the listener stays registered on the twin but does nothing)."""
        self._watches.clear()
        for task in list(self._tasks):
            task.cancel()

    # -- run-time additions ---------------------------------------------------------------------------
    def _on_model(self, assets: list[Asset], points: list[Point]) -> None:
        loop = self._loop
        if not points or not self._watches or loop is None or loop.is_closed() or self._pending:
            return
        self._pending = True  # several additions in one burst: one re-run
        loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        task = asyncio.get_running_loop().create_task(self._rerun(), name="analytics-selections")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _rerun(self) -> None:
        self._pending = False
        for w in list(self._watches):
            try:
                now = await self.resolve(w.selector)
            except Exception:
                self.errors += 1
                log.exception("re-running selection %s failed", w.selector.describe())
                continue
            added = now - w.matched
            w.matched |= added
            if not added:
                continue
            try:
                outcome = w.callback(added)
                if asyncio.iscoroutine(outcome):
                    await outcome
            except Exception:
                self.errors += 1
                log.exception("selection watcher of %s failed", w.selector.describe())
