"""A client of the SPARQL 1.1 Protocol and Graph Store Protocol: queries, updates and whole-graph pushes.

Only the standards are used (no store-specific API), so the same code talks to Oxigraph server, Virtuoso,
Fuseki, GraphDB or Neptune by URL. Every failure is a :class:`StoreError` naming the request, the HTTP status and
the store's own message, never a bare transport exception, so callers log one clear line and retry.
"""

from __future__ import annotations

import contextlib
import json
import re
import ssl
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from gateway.remote_store.settings import StoreSettings

SPARQL_JSON = "application/sparql-results+json"
# Triples per Graph Store Protocol request: one large request is slower in both stores (Oxigraph server 28,000
# triples/s for 500,000 in one PUT, 55,000 in chunks of 50,000) and Virtuoso 7's loader stalls on its own locks
# past some 200,000 triples (500,000 in one PUT never finished; in chunks: 100,000 triples/s).
GSP_CHUNK = 50_000
_PROBE_OVER = 512 * 1024  # body bytes above which digest auth asks for a fresh challenge first (Virtuoso read 0.5 MB)
_MESSAGE_LIMIT = 300  # characters of a store's error page kept in a message (Virtuoso echoes the whole query)
_HTML = re.compile(r"<head>.*?</head>|<[^>]*>", re.DOTALL | re.IGNORECASE)  # an error page's title and tags


class StoreError(Exception):
    """A request the store refused or that did not reach it."""

    def __init__(self, what: str, url: str, status: int | None, message: str) -> None:
        self.what, self.url, self.status, self.message = what, url, status, message
        head = f"{what} {url}: " + (f"HTTP {status}" if status is not None else "unreachable")
        super().__init__(f"{head}: {message}" if message else head)

    @property
    def unauthorized(self) -> bool:
        """Wrong or missing credentials (retrying will not help until they are fixed)."""
        return self.status in (401, 403)


class ProbingDigestAuth(httpx.DigestAuth):
    """Digest auth that fetches a fresh challenge with a body-less HEAD before a request with a large body, or
    before the first one. A store answers an unauthenticated (or stale) request with 401 and may close the
    connection before reading its body (Virtuoso did for 2 MB, 3 times in 4): a push sent blind would fail."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        size = int(request.headers.get("Content-Length", "0"))
        if size and (self._last_challenge is None or size > _PROBE_OVER):
            response = yield httpx.Request("HEAD", request.url)  # no credentials: the answer is the challenge
            for header in response.headers.get_list("www-authenticate"):
                if response.status_code == 401 and header.lower().startswith("digest "):
                    self._last_challenge = self._parse_challenge(request, response, header)
                    self._nonce_count = 1
                    break
        yield from super().auth_flow(request)


def _auth(settings: StoreSettings) -> tuple[httpx.Auth | None, dict[str, str]]:
    auth = settings.auth
    if auth is None:
        return None, {}
    if auth.scheme == "bearer":
        assert auth.token is not None
        return None, {"Authorization": f"Bearer {auth.token.get_secret_value()}"}
    assert auth.user is not None and auth.password is not None
    password = auth.password.get_secret_value()
    if auth.scheme == "digest":
        return ProbingDigestAuth(auth.user, password), {}
    return httpx.BasicAuth(auth.user, password), {}


def _verify(settings: StoreSettings) -> ssl.SSLContext | bool:
    tls = settings.tls
    if tls is None:
        return True
    if not tls.verify:
        return False
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file is not None:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    return ctx


def term(binding: dict[str, Any]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """One SPARQL JSON results binding as a pyoxigraph term (``typed-literal``, an old form some stores send,
    included)."""
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return _blank(value)
    if "xml:lang" in binding:
        return ox.Literal(value, language=binding["xml:lang"])
    if "datatype" in binding:
        return ox.Literal(value, datatype=ox.NamedNode(binding["datatype"]))
    return ox.Literal(value)


def _blank(label: str) -> ox.BlankNode:
    """A blank node of the answer's label; Virtuoso's ``nodeID://b10001`` is not a valid RDF label, so such a
    label is kept, distinct, as its hex form (a blank node's label only tells nodes apart within one answer)."""
    label = label.removeprefix("_:")
    try:
        return ox.BlankNode(label)
    except ValueError:
        return ox.BlankNode("x" + label.encode().hex())


def _message(response: httpx.Response) -> str:
    """The store's own words, trimmed: an HTML error page as its text, an empty 401 as what the store asks for."""
    text = response.text
    if "html" in response.headers.get("content-type", ""):
        text = _HTML.sub(" ", text)
    text = " ".join(text.split())
    if response.status_code == 401 and not text:
        # Virtuoso's 401 has no body: say what to check, and which scheme the store asks for when it says
        wanted = response.headers.get("WWW-Authenticate", "").split(" ", 1)[0]
        asks = f"; the store asks for {wanted} auth" if wanted else ""
        text = f"{response.reason_phrase}: credentials refused (check auth: scheme, user, password or token){asks}"
    text = text or response.reason_phrase
    return text[:_MESSAGE_LIMIT] + ("..." if len(text) > _MESSAGE_LIMIT else "")


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class SparqlStore:
    """One store, over one pooled HTTP client; every method may raise :class:`StoreError`."""

    def __init__(self, settings: StoreSettings, *, max_connections: int = 8) -> None:
        self.settings = settings
        self.query_url = settings.url
        self.update_url = settings.update_url or settings.url
        self.graph_store_url = settings.graph_store_url
        auth, headers = _auth(settings)
        self._client = httpx.AsyncClient(
            auth=auth,
            headers=headers,
            verify=_verify(settings),
            timeout=settings.timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,  # a store that redirects elsewhere is misconfigured, not followed
        )

    async def _send(self, what: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise StoreError(what, url, None, detail) from exc
        if response.status_code >= 300:
            raise StoreError(what, url, response.status_code, _message(response))
        return response

    # -- queries ----------------------------------------------------------------------------------------
    async def query_raw(
        self,
        query: str,
        accept: str = SPARQL_JSON,
        *,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
    ) -> httpx.Response:
        """A query as the store answers it (body and content type), for passthrough."""
        data: list[tuple[str, str]] = [("query", query)]
        data += [("default-graph-uri", g) for g in default_graphs]
        data += [("named-graph-uri", g) for g in named_graphs]
        # a form body built by hand: repeated default-graph-uri fields are a list httpx's `data` does not take
        headers = {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}
        response = await self._send("query", "POST", self.query_url, content=urlencode(data), headers=headers)
        # Virtuoso answers a query that ran out of time with a *partial* result and HTTP 200 ("anytime query"),
        # marked only by these headers; a partial answer taken as whole would lose data silently.
        if response.headers.get("X-SQL-State"):
            message = response.headers.get("X-SQL-Message", "the store returned a partial result")
            raise StoreError("query", self.query_url, response.status_code, f"partial result: {message}")
        return response

    @contextlib.asynccontextmanager
    async def stream_query(
        self,
        query: str,
        accept: str,
        *,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        timeout: float | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """A query whose answer is read as it arrives (``response.aiter_bytes()``), so a passthrough can stop at a
        size limit; ``timeout`` replaces the store's for this request. A refusal is a :class:`StoreError`."""
        data: list[tuple[str, str]] = [("query", query)]
        data += [("default-graph-uri", g) for g in default_graphs]
        data += [("named-graph-uri", g) for g in named_graphs]
        headers = {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}
        request = self._client.build_request(
            "POST",
            self.query_url,
            content=urlencode(data),
            headers=headers,
            timeout=timeout if timeout is not None else self.settings.timeout,
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise StoreError("query", self.query_url, None, f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
        try:
            if response.status_code >= 300:
                await response.aread()
                raise StoreError("query", self.query_url, response.status_code, _message(response))
            if response.headers.get("X-SQL-State"):  # Virtuoso's partial 'anytime' answer (see query_raw)
                message = response.headers.get("X-SQL-Message", "the store returned a partial result")
                raise StoreError("query", self.query_url, response.status_code, f"partial result: {message}")
            yield response
        finally:
            await response.aclose()

    async def select(
        self, query: str, *, default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = ()
    ) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        """A SELECT's solutions, each a dict of bound variables to terms."""
        response = await self.query_raw(query, default_graphs=default_graphs, named_graphs=named_graphs)
        try:
            bindings = json.loads(response.content)["results"]["bindings"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError("query", self.query_url, response.status_code, f"not SPARQL JSON results: {exc}") from exc
        return [{k: term(v) for k, v in row.items()} for row in bindings]

    async def ask(self, query: str) -> bool:
        """An ASK's answer."""
        response = await self.query_raw(query)
        try:
            answer = json.loads(response.content)
            if "boolean" not in answer:  # Virtuoso 7 answers ASK as a SELECT of __ASK_RETVAL: one row, none if false
                rows = answer["results"]["bindings"]
                return bool(rows) and rows[0]["__ASK_RETVAL"]["value"] in ("1", "true")
            return bool(answer["boolean"])
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise StoreError("query", self.query_url, response.status_code, f"not an ASK result: {exc}") from exc

    # -- updates ----------------------------------------------------------------------------------------
    async def update(self, update: str) -> None:
        """A SPARQL 1.1 Update, posted directly (``application/sparql-update``): the protocol's other form, URL-
        encoding a large update, cost a quarter of a replicating gateway's CPU (bench scale_out)."""
        body = update.encode()
        headers = {"Content-Type": "application/sparql-update; charset=utf-8"}
        await self._send("update", "POST", self.update_url, content=body, headers=headers)

    async def insert(self, graph: str, lines: Iterable[str], *, chunk: int = 2000) -> int:
        """``INSERT DATA`` of N-Triples lines into a graph, ``chunk`` lines per request; returns lines sent.

        Stores limit the size of one update (Virtuoso's parser gives up at about 5,000 triples), hence chunks.
        Virtuoso refuses blank nodes in INSERT DATA (SP031): skolemize them first.
        """
        sent = 0
        for batch in _batches(lines, chunk):
            await self.update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{''.join(batch)}}} }}")
            sent += len(batch)
        return sent

    async def put_graph(self, graph: str, ntriples: str, *, chunk: int = GSP_CHUNK) -> None:
        """Replace a graph's content: with the Graph Store Protocol a PUT of the first ``chunk`` triples and a POST
        (which adds) of each further ``chunk``, else DROP + INSERT DATA chunks. Not atomic either way: a reader
        may meanwhile see part of the new content; a push that fails part-way is whole again once repeated."""
        if self.graph_store_url is None:
            await self.update(f"DROP SILENT GRAPH <{graph}>")
            await self.insert(graph, ntriples.splitlines(keepends=True))
            return
        batches = list(_batches(ntriples.splitlines(keepends=True), chunk)) or [[]]  # [[]]: PUT empties the graph
        for i, batch in enumerate(batches):
            await self._send(
                "graph store put" if i == 0 else "graph store post",
                "PUT" if i == 0 else "POST",
                self.graph_store_url,
                params={"graph": graph},
                content="".join(batch).encode(),
                headers={"Content-Type": "application/n-triples"},
            )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
