"""SPARQL functions over the history (``tbh:``): select points by meaning and filter them by their past.

They run in the query worker process (``query_worker.py``), which opens its own read-only reader on the
store (``gateway.history.backends.open_reader``; the gateway sends where the store is). Every function takes
the point as its IRI (``?point`` from the graph) and answers what the REST endpoint answers for the same
range (``GET /points/{id}/history?aggregate=...`` with one interval over the range):

    tbh:average(?point, start, end)       tbh:timeAverage(?point, start, end)
    tbh:minimum(?point, start, end)       tbh:maximum(?point, start, end)
    tbh:count(?point, start, end)         tbh:start(?point, start, end)      tbh:end(?point, start, end)
    tbh:valueAt(?point, time)             the last recorded value at or before ``time``
    tbh:interpolated(?point, time)        the value at ``time`` interpolated between its neighbours

``start``, ``end`` and ``time`` are ``xsd:dateTime`` literals (``NOW() - "PT1H"^^xsd:dayTimeDuration`` works),
or strings relative to the query's start: ``"-1h"``, ``"now"``, ``"now-15m"``. A point without data in the
range, an IRI that is no point, or a Bad result leave the value unbound (a FILTER on it is then false). A time
that cannot be read, or a gateway recording no history, fails the query with a message saying what to change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from gateway.history.model import Aggregate, HistoryReader, HistoryValue, StoreLocation, is_bad
from gateway.northbound.http.history_times import TimeFormatError, now_us, parse_instant

NAMESPACE = "https://w3id.org/twinbridge/history#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RANGE_FUNCTIONS: dict[str, Aggregate] = {
    "average": Aggregate.AVERAGE,
    "timeAverage": Aggregate.TIME_AVERAGE,
    "minimum": Aggregate.MINIMUM,
    "maximum": Aggregate.MAXIMUM,
    "count": Aggregate.COUNT,
    "start": Aggregate.START,
    "end": Aggregate.END,
}
HISTORY_OFF = (
    "the tbh: history functions need the gateway to record history; add twin: history: to the mapping (docs/history.md)"
)
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Oxigraph's NOW() has nanoseconds; Python reads microseconds


class QueryProblem(Exception):
    """A history function argument or setting that makes the whole query wrong (reported, not unbound)."""


class HistoryFunctions:
    """The ``tbh:`` functions of one worker process; ``for_query()`` binds them to one query's clock."""

    def __init__(self, location: StoreLocation | None, base_iri: str) -> None:
        self.location = location
        self.point_prefix = base_iri + "point/"
        self._reader: HistoryReader | None = None
        self.problem: str | None = None  # set by a call that must fail the query

    def reader(self) -> HistoryReader:
        """The read-only reader, opened on first use."""
        if self._reader is None:
            if self.location is None:
                raise QueryProblem(HISTORY_OFF)
            from gateway.history.backends import open_reader

            self._reader = open_reader(self.location)
        return self._reader

    def close(self) -> None:
        """Release the reader."""
        reader, self._reader = self._reader, None
        if reader is not None and hasattr(reader, "close"):
            reader.close()

    def for_query(self) -> dict[Any, Callable[..., Any]]:
        """The custom functions for ``Store.query``, with 'now' fixed at this query's start."""
        import pyoxigraph as ox

        self.problem = None
        call = _Call(self, now_us())
        out: dict[Any, Callable[..., Any]] = {}
        for name, agg in RANGE_FUNCTIONS.items():
            out[ox.NamedNode(NAMESPACE + name)] = call.range_function(name, agg)
        out[ox.NamedNode(NAMESPACE + "valueAt")] = call.value_at
        out[ox.NamedNode(NAMESPACE + "interpolated")] = call.interpolated
        return out


class _Call:
    """One query's calls: its clock, and answers remembered (FILTER and BIND often ask the same thing twice)."""

    def __init__(self, functions: HistoryFunctions, now: int) -> None:
        self.functions = functions
        self.now = now
        self.memo: dict[tuple[Any, ...], Any] = {}

    def range_function(self, name: str, agg: Aggregate) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            return self._guarded(name, args, 3, lambda pid, t: self._aggregate(pid, t[0], t[1], agg))

        return run

    def value_at(self, *args: Any) -> Any:
        return self._guarded("valueAt", args, 2, lambda pid, t: self._at(pid, t[0]))

    def interpolated(self, *args: Any) -> Any:
        return self._guarded(
            "interpolated", args, 2, lambda pid, t: self._aggregate(pid, t[0], t[0] + 1, Aggregate.INTERPOLATIVE)
        )

    def _guarded(self, name: str, args: tuple[Any, ...], arity: int, body: Callable[[str, list[int]], Any]) -> Any:
        """Checks the arguments, runs ``body(point id, times)``; a problem is kept for the query's answer."""
        try:
            if len(args) != arity:
                raise QueryProblem(f"tbh:{name} takes {arity} arguments (the point, then times), got {len(args)}")
            pid = self._point(args[0])
            times = [self._time(name, i, a) for i, a in enumerate(args[1:], start=2)]
            if pid is None:
                return None
            key = (name, pid, *times)
            if key not in self.memo:
                self.memo[key] = body(pid, times)
            return self.memo[key]
        except QueryProblem as exc:
            self.functions.problem = self.functions.problem or str(exc)
            return None

    def _point(self, term: Any) -> str | None:
        value = getattr(term, "value", None)
        prefix = self.functions.point_prefix
        if type(term).__name__ == "NamedNode" and value and value.startswith(prefix):
            pid = value[len(prefix) :]
            return pid if "/" not in pid else None
        return None

    def _time(self, name: str, position: int, term: Any) -> int:
        text = _FRACTION.sub(r"\1", str(getattr(term, "value", term)))
        try:
            return parse_instant(text, self.now)
        except TimeFormatError as exc:
            raise QueryProblem(f"tbh:{name} argument {position}: {exc}") from None

    def _aggregate(self, pid: str, start: int, end: int, agg: Aggregate) -> Any:
        if end <= start:
            return None
        reader = self.functions.reader()
        buckets = reader.read_processed([pid], start, end, end - start, agg)
        if not buckets or is_bad(buckets[0].status):
            return None
        return _literal(buckets[0].value)

    def _at(self, pid: str, t: int) -> Any:
        row = self.functions.reader().read_at_time(pid, [t])[0]
        if row is None or is_bad(row.status):
            return None
        return _literal(row.value)


def _literal(value: HistoryValue) -> Any:
    """An RDF literal of a history value (xsd:double, xsd:integer, xsd:boolean or a string), None for None."""
    import pyoxigraph as ox

    if value is None:
        return None
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD + "boolean"))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))
    if isinstance(value, float):
        text = repr(value) if math.isfinite(value) else {"nan": "NaN", "inf": "INF", "-inf": "-INF"}[repr(value)]
        return ox.Literal(text, datatype=ox.NamedNode(XSD + "double"))
    return ox.Literal(str(value))
