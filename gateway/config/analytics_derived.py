"""Derived points' expressions, compiled at load (gateway.rules.expr): unknown points, syntax and unit errors at
the expression's own line and column, and cycles between derived points named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from adapters.contract.model import Point
from gateway.config.analytics_values import Place
from gateway.config.context import origin
from gateway.config.errors import ConfigError
from gateway.rules.expr import ExprError, PointInfo, compile_expr
from gateway.rules.spec import DerivedSpec

Lines = Callable[[str], list[str] | None]


def point_infos(points: Mapping[str, Point]) -> dict[str, PointInfo]:
    """What an expression may know of each point: id, unit and datatype."""
    return {pid: PointInfo(pid, p.unit, p.datatype) for pid, p in points.items()}


def compile_derived(
    text: str, place: Place, point: Point, infos: Mapping[str, PointInfo], lines: Lines
) -> DerivedSpec | None:
    """The compiled expression of ``point`` (``place``: its ``expr`` key); None when it is refused."""
    try:
        compiled = compile_expr(text, infos[point.id], infos, asset=point.asset)
    except ExprError as exc:
        place.errors.append(expr_error(exc, text, place, lines))
        return None
    return DerivedSpec(point=point.id, expr=text, compiled=compiled, origin=origin(place.doc, place.path))


def expr_error(exc: ExprError, text: str, place: Place, lines: Lines) -> ConfigError:
    """The error at the character the expression went wrong at, when the YAML line shows it verbatim; else at
    the ``expr:`` key, with the character counted in the message."""
    error = place.doc.error(place.path, exc.message + place.suffix)
    mark = place.doc.value_marks.get(place.path)
    if exc.position is None or mark is None:
        return error
    line, col = mark
    source = lines(place.doc.file) or []
    row = source[line - 1] if 0 < line <= len(source) else ""
    start = col - 1 + (1 if row[col - 1 : col] in ("'", '"') else 0)
    if row[col - 1 : col] in ("|", ">") and line < len(source):  # a block scalar: the text starts below
        line, row = line + 1, source[line]
        start = len(row) - len(row.lstrip())
    head = text[: exc.position]
    if row[start : start + len(head)] == head and "\n" not in head:
        return ConfigError(error.file, line, start + exc.position + 1, error.path, error.message)
    return ConfigError(
        error.file,
        error.line,
        error.col,
        error.path,
        f"{exc.message} (at character {exc.position + 1} of the expression){place.suffix}",
    )


def file_lines(texts: Mapping[str, str] | None) -> Lines:
    """Lines of a mapping or profile file (in memory when the load was given texts), read once each."""
    cache: dict[str, list[str] | None] = {}

    def lines(file: str) -> list[str] | None:
        if file not in cache:
            text = texts.get(file) if texts is not None else None
            if text is None:
                try:
                    text = Path(file).read_text(encoding="utf-8")
                except OSError:
                    text = None
            cache[file] = None if text is None else text.splitlines()
        return cache[file]

    return lines


def inputs_of(spec: DerivedSpec) -> set[str]:
    """The points an expression reads (values and windows)."""
    compiled = spec.compiled
    if compiled is None:
        return set(spec.aggregate.selector.points) if spec.aggregate is not None else set()
    return set(compiled.inputs) | {w.point for w in compiled.windows}


def cycles(derived: Mapping[str, DerivedSpec]) -> list[list[str]]:
    """Each cycle among derived points (``[a, b, a]``), found once."""
    graph = {pid: sorted(i for i in inputs_of(spec) if i in derived) for pid, spec in derived.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[list[str]] = []
    for root in graph:
        if state.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            nexts = graph[node]
            if i < len(nexts):
                stack.append((node, i + 1))
                nxt = nexts[i]
                if state.get(nxt) == 1:
                    found.append([*path[path.index(nxt) :], nxt])
                elif not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return found
