"""SPARQL queries in a separate process holding a replica of the twin, so an over-time query can be stopped.

pyoxigraph cannot cancel a running query, and a query thread cannot be killed. So queries run in a worker
process with its own Oxigraph store: loaded from a dump of the twin, then kept identical by forwarding every
update the twin applies (in order, over the same pipe the queries use, so a query sees every update sent
before it). A query that exceeds the time limit is answered with an error and its worker is killed and
replaced from a fresh dump; the gateway itself never runs user queries.

The time limit counts from the moment the worker *starts* the query (it says so with a marker message), not
from when the query was sent: a fresh replica first loads the dump (about 1 s per 500k triples) and any backlog
of updates, and charging that to the query would kill a worker that is merely loading, again and again, whenever
the load takes longer than the limit. Each query is parsed by the guard (``guard.check``) in the worker, under
the time limit, and only the text the guard accepted reaches Oxigraph.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import IO, TYPE_CHECKING, Any, cast

from gateway.history.model import location_of
from gateway.northbound.http.guard import check, warm_up
from gateway.northbound.http.history_functions import HistoryFunctions

if TYPE_CHECKING:
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.http.sparql")

RESULT_TYPES = {
    "application/sparql-results+json": "JSON",
    "application/json": "JSON",
    "application/sparql-results+xml": "XML",
    "application/xml": "XML",
    "text/csv": "CSV",
    "text/tab-separated-values": "TSV",
}
GRAPH_TYPES = {
    "text/turtle": "TURTLE",
    "application/n-triples": "N_TRIPLES",
    "text/plain": "N_TRIPLES",
    "application/ld+json": "JSON_LD",
    "application/rdf+xml": "RDF_XML",
}
_CONTENT = {
    "JSON": "application/sparql-results+json",
    "XML": "application/sparql-results+xml",
    "CSV": "text/csv; charset=utf-8",
    "TSV": "text/tab-separated-values; charset=utf-8",
    "TURTLE": "text/turtle; charset=utf-8",
    "N_TRIPLES": "application/n-triples",
    "JSON_LD": "application/ld+json",
    "RDF_XML": "application/rdf+xml",
}


def _pick(accept: list[str], table: dict[str, str], default: str) -> str | None:
    for mime in accept:
        if mime in ("*/*", "") or (mime.endswith("/*") and any(k.startswith(mime[:-1]) for k in table)):
            if mime.endswith("/*") and mime != "*/*":
                return next(v for k, v in table.items() if k.startswith(mime[:-1]))
            return default
        if mime in table:
            return table[mime]
    return default if not accept else None


def _serve(conn: Connection) -> None:
    """The worker process: apply updates, answer queries."""
    import pyoxigraph as ox

    store = ox.Store()
    history = HistoryFunctions(None, "")  # the gateway sends where its history is right after the dump
    warm_up()  # part of the replica's start, not of the first query's time
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        kind = msg[0]
        if kind == "load":
            store.bulk_load(msg[1], ox.RdfFormat.N_QUADS)
        elif kind == "u":
            try:
                store.update(msg[1])
            except Exception as exc:  # keep serving: the next dump will resync
                conn.send(("log", f"replica update failed: {exc}"))
        elif kind == "history":
            history.close()
            history = HistoryFunctions(msg[1], msg[2])
        elif kind == "q":
            conn.send(("s", msg[1]))  # started: the parent's deadline runs from here
            conn.send(_answer(store, history, *msg[1:]))
        elif kind == "stop":
            return


class _ResultTooLarge(Exception):
    """Raised by the capped writer to stop the serializer."""


class _CappedWriter:
    """Collects serialized output and stops the serializer once it passes ``limit`` bytes.

    pyoxigraph writes through an 8 KiB buffer, so a huge result never sits whole in the worker's memory.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _ResultTooLarge
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here."""


def _dataset(default_graphs: list[str], named_graphs: list[str]) -> dict[str, Any]:
    import pyoxigraph as ox

    kwargs: dict[str, Any] = {}
    default_graphs = [g for g in default_graphs if g]
    named_graphs = [g for g in named_graphs if g]
    if default_graphs:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
    else:
        kwargs["use_default_graph_as_union"] = True
    if named_graphs:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
    return kwargs


def _answer(
    store: Any,
    history: HistoryFunctions,
    qid: int,
    query: str,
    accept: list[str],
    default_graphs: list[str],
    named_graphs: list[str],
    max_bytes: int,
) -> tuple[Any, ...]:
    import pyoxigraph as ox

    try:
        kwargs = _dataset(default_graphs, named_graphs)
    except ValueError as exc:
        return (qid, "badgraph", f"a graph URI is not an absolute IRI: {exc}")
    verdict = check(query)
    if verdict.kind != "ok":
        return (qid, verdict.kind, verdict.text)
    try:
        # the text the guard parsed, never the original; tbh: functions read the history (history_functions.py)
        result = store.query(verdict.text, custom_functions=history.for_query(), **kwargs)
    except SyntaxError as exc:
        return (qid, "syntax", str(exc))
    except Exception as exc:
        return (qid, "error", f"{type(exc).__name__}: {exc}")
    capped = _CappedWriter(max_bytes)
    out = cast("IO[bytes]", capped)  # pyoxigraph only calls write (and flush)
    try:
        if isinstance(result, ox.QueryTriples):
            fmt = _pick(accept, GRAPH_TYPES, "TURTLE")
            if fmt is None:
                return (qid, "notacceptable", "CONSTRUCT/DESCRIBE results come as " + ", ".join(GRAPH_TYPES))
            result.serialize(out, getattr(ox.RdfFormat, fmt))
        else:
            fmt = _pick(accept, RESULT_TYPES, "JSON")
            if fmt is None:
                return (qid, "notacceptable", "SELECT/ASK results come as " + ", ".join(RESULT_TYPES))
            result.serialize(out, getattr(ox.QueryResultsFormat, fmt))
    except _ResultTooLarge:
        return (qid, "toolarge", f"the result is over the {max_bytes:,} byte limit; add LIMIT or select fewer columns")
    except Exception as exc:
        return (qid, "error", f"{type(exc).__name__}: {exc}")
    if history.problem is not None:  # results are computed while serializing, so this is known only now
        return (qid, "error", history.problem)
    return (qid, "ok", _CONTENT[fmt], b"".join(capped.parts))


class QueryTimeout(Exception):
    """The query ran out of time and its worker was replaced."""


# How long a query may wait for a fresh replica to load before the worker counts as broken and is replaced.
# Generous: loading is linear in the twin's size (about 1 s per 500k triples on a laptop core).
READY_TIMEOUT = 300.0


class QueryWorker:
    """One replica process answering queries one at a time.

    Messages to the process (the initial dump, every update, queries) go through an outbox drained by a
    sender thread, so the twin's flush never blocks on a worker busy with a long query.
    """

    def __init__(self, twin: TwinView, *, timeout: float, max_bytes: int) -> None:
        self.twin = twin
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._query_lock = asyncio.Lock()
        self._ids = itertools.count()
        self.killed = 0
        self.queries = 0
        self.respawn_seconds = 0.0

    def start(self) -> None:
        """Spawn the replica and start following the twin."""
        self._respawn()
        self.twin.add_update_listener(self._forward)

    def _respawn(self) -> None:
        t0 = time.perf_counter()
        # With updates held no update can slip between the dump and the new outbox.
        with self.twin.held_updates() as dump:
            self._stop_process()
            # A plain child process over a socket pair rather than multiprocessing's spawn, which would
            # re-import the caller's __main__ (a test runner, an embedding application).
            parent_sock, child_sock = socket.socketpair()
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway.northbound.http.query_worker", str(child_sock.fileno())],
                pass_fds=[child_sock.fileno()],
                stdin=subprocess.DEVNULL,
            )
            child_sock.close()
            conn = Connection(parent_sock.detach())
            outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
            outbox.put(("load", dump()))
            outbox.put(("history", location_of(self.twin), self.twin.ids.base))
            threading.Thread(target=self._send_loop, args=(conn, outbox), name="sparql-sender", daemon=True).start()
            self._proc, self._conn, self._outbox = proc, conn, outbox
        self.respawn_seconds = time.perf_counter() - t0

    @staticmethod
    def _send_loop(conn: Connection, outbox: queue.SimpleQueue[tuple[Any, ...] | None]) -> None:
        while (msg := outbox.get()) is not None:
            try:
                conn.send(msg)
            except (OSError, ValueError, TypeError):  # TypeError: the connection was closed under us (stop)
                return

    def _forward(self, update: str) -> None:
        self._outbox.put(("u", update))

    def _stop_process(self) -> None:
        self._outbox.put(None)
        if self._proc is not None:
            self._proc.kill()  # also unblocks a sender stuck writing to a busy worker
            self._proc.wait(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    async def query(
        self, query: str, accept: list[str], default_graphs: list[str], named_graphs: list[str]
    ) -> tuple[Any, ...]:
        """Run one query; returns the worker's answer tuple (status first)."""
        async with self._query_lock:
            if self._proc is None or self._proc.poll() is not None:
                await asyncio.to_thread(self._respawn)
            await asyncio.to_thread(self.twin.flush)  # every applied sample is in the replica before the query
            qid = next(self._ids)
            self._outbox.put(("q", qid, query, accept, default_graphs, named_graphs, self.max_bytes))
            conn = self._conn
            assert conn is not None
            self.queries += 1
            # Until the worker starts this query it is loading a dump or applying earlier updates: bounded by
            # READY_TIMEOUT, not by the query's limit (see the module docstring).
            deadline = time.monotonic() + READY_TIMEOUT
            started = False
            while True:
                ready = await asyncio.to_thread(conn.poll, max(0.0, deadline - time.monotonic()))
                if not ready:
                    self.killed += 1
                    await asyncio.to_thread(self._respawn)
                    if not started:
                        log.error("the query worker was not ready within %.0f s; replaced", READY_TIMEOUT)
                        raise QueryTimeout(f"the query worker was not ready within {READY_TIMEOUT:g} s; retry")
                    log.warning("a SPARQL query exceeded %.1f s and was stopped (worker replaced)", self.timeout)
                    raise QueryTimeout(f"the query exceeded the {self.timeout:g} s limit and was stopped")
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    log.error("the query worker died; replacing it")
                    await asyncio.to_thread(self._respawn)
                    raise QueryTimeout("the query worker failed on this query and was replaced") from None
                if msg[0] == "log":
                    log.warning("%s", msg[1])
                elif msg[0] == "s" and msg[1] == qid:
                    started = True
                    deadline = time.monotonic() + self.timeout
                elif msg[0] == qid:
                    return msg[1:]

    def stop(self) -> None:
        """Stop following the twin and end the process."""
        self.twin.remove_update_listener(self._forward)
        with self.twin.held_updates():
            self._stop_process()


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the gateway owns the lifetime (EOF on the pipe ends it)
    _serve(Connection(int(sys.argv[1])))
