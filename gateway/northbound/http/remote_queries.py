"""SPARQL on a central view (``twin: remote:``): the query goes to the shared store, behind the same guards.

The same interface as :class:`QueryWorker` (start, stop, query), so /sparql does not know which one answers.
The guard (guard.py) parses the query first and only its canonical text is sent: no update, and no SERVICE, which
a store such as Virtuoso would run by calling any address for a client. The dataset is the edge's: unless the
request names its own graphs (protocol parameters or FROM / FROM NAMED), the default graph is the union of every
gateway's model and live graph and the shared ontology graph, and those are the named graphs too, so the store's
internal graphs (Virtuoso's system graphs) stay out. The answer is streamed and cut at the result size limit;
the time limit bounds the whole exchange (the store may go on computing an abandoned query: set its own query
timeout too, e.g. Virtuoso's MaxQueryExecutionTime).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from gateway.northbound.http.guard import _CACHED_CHARS, check
from gateway.northbound.http.query_worker import GRAPH_TYPES, RESULT_TYPES, QueryTimeout, _pick
from gateway.remote_store.client import SparqlStore, StoreError

if TYPE_CHECKING:
    from gateway.remote_store.settings import StoreSettings
    from gateway.twin.view import TwinView

# the content type to ask the store for, per format name of the worker's tables
_MIME = {
    "JSON": "application/sparql-results+json",
    "XML": "application/sparql-results+xml",
    "CSV": "text/csv",
    "TSV": "text/tab-separated-values",
    "TURTLE": "text/turtle",
    "N_TRIPLES": "application/n-triples",
    "JSON_LD": "application/ld+json",
    "RDF_XML": "application/rdf+xml",
}


class RemoteDataset(Protocol):
    """``view.remote`` of a central view (gateway.central.service.RemoteDataset)."""

    settings: StoreSettings

    def graphs(self) -> list[str]: ...


class StoreUnavailable(Exception):
    """The store failed or refused the query: answered 502 with the store's message."""


def _parse_shape(text: str) -> tuple[bool, bool]:
    """(whether the query builds a graph: CONSTRUCT/DESCRIBE, whether it names its own dataset: FROM)."""
    from rdflib.plugins.sparql import parser

    body = parser.parseQuery(text)[1]  # the guard has parsed it already: this cannot fail
    return body.name in ("ConstructQuery", "DescribeQuery"), "datasetClause" in body


_cached_shape = functools.lru_cache(maxsize=512)(_parse_shape)


def _shape(text: str) -> tuple[bool, bool]:
    return _cached_shape(text) if len(text) <= _CACHED_CHARS else _parse_shape(text)


class RemoteQueries:
    """Answers /sparql from the shared store."""

    def __init__(self, view: TwinView, *, timeout: float, max_bytes: int) -> None:
        self.view = view
        self.remote: RemoteDataset = view.remote
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.store: SparqlStore | None = None
        self.queries = 0
        self.killed = 0  # QueryWorker's figure: queries stopped at the time limit

    def start(self) -> None:
        """Open the connection pool (on first use: the client belongs to the serving loop)."""

    def stop(self) -> None:
        """Close the connection pool (the HTTP service stops on its loop)."""
        store, self.store = self.store, None
        if store is not None:
            with contextlib.suppress(RuntimeError):  # no loop: nothing was ever sent on it
                asyncio.get_running_loop().create_task(store.aclose())

    async def query(
        self, query: str, accept: list[str], default_graphs: list[str], named_graphs: list[str]
    ) -> tuple[Any, ...]:
        """One query; the same answer tuples as :meth:`QueryWorker.query` (status first), plus ``store``."""
        self.queries += 1
        deadline = time.monotonic() + self.timeout
        try:
            return await asyncio.wait_for(
                self._query(query, accept, default_graphs, named_graphs, deadline), self.timeout
            )
        except TimeoutError:
            self.killed += 1
            raise QueryTimeout(f"the query exceeded the {self.timeout:g} s limit and was stopped") from None

    async def _query(
        self, query: str, accept: list[str], default_graphs: list[str], named_graphs: list[str], deadline: float
    ) -> tuple[Any, ...]:
        default_graphs = [g for g in default_graphs if g]
        named_graphs = [g for g in named_graphs if g]
        bad = next((g for g in [*default_graphs, *named_graphs] if ":" not in g or any(c in g for c in ' <>"')), None)
        if bad is not None:
            return ("badgraph", f"a graph URI is not an absolute IRI: {bad}")
        verdict = await asyncio.to_thread(check, query)  # rdflib's parse takes ms: off the loop
        if verdict.kind != "ok":
            return (verdict.kind, verdict.text)
        builds_graph, own_dataset = await asyncio.to_thread(_shape, verdict.text)
        fmt = _pick(accept, GRAPH_TYPES, "TURTLE") if builds_graph else _pick(accept, RESULT_TYPES, "JSON")
        if fmt is None:
            kind, table = ("CONSTRUCT/DESCRIBE", GRAPH_TYPES) if builds_graph else ("SELECT/ASK", RESULT_TYPES)
            return ("notacceptable", f"{kind} results come as " + ", ".join(table))
        if not default_graphs and not named_graphs and not own_dataset:
            default_graphs = named_graphs = self.remote.graphs()
        if self.store is None:
            self.store = SparqlStore(self.remote.settings)
        try:
            async with self.store.stream_query(
                verdict.text,
                _MIME[fmt],
                default_graphs=default_graphs,
                named_graphs=named_graphs,
                timeout=max(0.1, deadline - time.monotonic()),
            ) as response:
                content_type = response.headers.get("content-type", _MIME[fmt])
                parts: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        return (
                            "toolarge",
                            f"the result is over the {self.max_bytes:,} byte limit; add LIMIT or select fewer columns",
                        )
                    parts.append(chunk)
        except StoreError as exc:
            if exc.status is None and "Timeout" in exc.message:
                raise TimeoutError from None
            return ("store", f"the shared store refused the query: {exc}")
        except httpx.TimeoutException:
            raise TimeoutError from None
        except httpx.HTTPError as exc:
            return ("store", f"the shared store failed while answering: {type(exc).__name__}: {exc}")
        return ("ok", content_type, b"".join(parts))
