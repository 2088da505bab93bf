"""SPARQL 1.1 Protocol at /sparql: GET, POST form, POST application/sparql-query; results by Accept."""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.northbound.http.deps import Api, ReaderDep
from gateway.northbound.http.errors import ApiError
from gateway.northbound.http.guard import UPDATE_REFUSED
from gateway.northbound.http.history_formats import media_types
from gateway.northbound.http.query_worker import QueryTimeout

router = APIRouter(tags=["sparql"])


def _accept(request: Request) -> list[str]:
    return media_types(request.headers.get("accept", ""))


def _service_description(base: str, graphs: list[str]) -> str:
    named = ",\n                     ".join(f"[ sd:name <{g}> ]" for g in graphs)
    return f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix fmt: <http://www.w3.org/ns/formats/> .
[] a sd:Service ;
   sd:endpoint <{base}sparql> ;
   sd:supportedLanguage sd:SPARQL11Query ;
   sd:resultFormat fmt:SPARQL_Results_JSON, fmt:SPARQL_Results_XML, fmt:SPARQL_Results_CSV,
       fmt:SPARQL_Results_TSV, fmt:Turtle, fmt:N-Triples, fmt:JSON-LD, fmt:RDF_XML ;
   sd:feature sd:UnionDefaultGraph ;
   sd:defaultDataset [ a sd:Dataset ;
       sd:namedGraph {named} ] .
"""


async def _run(api: Api, query: str, request: Request, default_graphs: list[str], named_graphs: list[str]) -> Response:
    t0 = time.perf_counter()
    try:
        answer = await api.worker.query(query, _accept(request), default_graphs, named_graphs)
    except QueryTimeout as exc:
        api.metrics.query_errors.labels("timeout").inc()
        raise ApiError(503, str(exc)) from None
    finally:
        api.metrics.query_seconds.observe(time.perf_counter() - t0)
    status = answer[0]
    if status == "ok":
        return Response(answer[2], media_type=answer[1])
    api.metrics.query_errors.labels(status).inc()
    if status == "syntax":
        raise ApiError(400, f"malformed query: {answer[1]}")
    if status == "notacceptable":
        raise ApiError(406, f"no acceptable result format: {answer[1]}")
    if status == "badgraph":
        raise ApiError(400, answer[1])
    if status == "toolarge":
        raise ApiError(413, answer[1])
    if status in ("update", "service"):  # refused by the guard's parse, before Oxigraph saw the query
        raise ApiError(403, answer[1])
    if status == "store":  # a central view's shared store failed or refused (remote_queries.py)
        raise ApiError(502, answer[1])
    raise ApiError(400, f"query failed: {answer[1]}")


@router.get(
    "/sparql",
    summary="SPARQL query (GET), or the service description without a query",
    responses={200: {"content": {"application/sparql-results+json": {}, "text/turtle": {}}}},
)
async def sparql_get(
    request: Request,
    api: Api,
    _: ReaderDep,
    query: Annotated[str | None, Query(description="the SPARQL query")] = None,
    default_graph_uri: Annotated[list[str] | None, Query(alias="default-graph-uri")] = None,
    named_graph_uri: Annotated[list[str] | None, Query(alias="named-graph-uri")] = None,
) -> Response:
    if query is None:
        base = api.view.model.settings.base_iri
        remote = api.view.remote  # a central view's dataset: the gateways' graphs in the shared store
        graphs = remote.graphs() if remote is not None else [f"{base}graph/{g}" for g in ("model", "live", "ontology")]
        return Response(_service_description(base, graphs), media_type="text/turtle")
    return await _run(api, query, request, default_graph_uri or [], named_graph_uri or [])


@router.post(
    "/sparql",
    summary="SPARQL query (POST form or application/sparql-query)",
    responses={200: {"content": {"application/sparql-results+json": {}, "text/turtle": {}}}},
)
async def sparql_post(request: Request, api: Api, _: ReaderDep) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = (await request.body()).decode("utf-8", errors="replace")  # capped by the app's body limit
    params = {k: v for k, v in parse_qs(str(request.url.query)).items()}
    if ctype == "application/x-www-form-urlencoded":
        form = parse_qs(body, keep_blank_values=True)
        if "update" in form:
            raise ApiError(403, UPDATE_REFUSED)
        if "query" not in form:
            raise ApiError(400, "the form has no 'query' field")
        query = form["query"][0]
        params = {**params, **form}
    elif ctype == "application/sparql-query":
        query = body
    elif ctype == "application/sparql-update":
        raise ApiError(403, UPDATE_REFUSED)
    else:
        raise ApiError(415, "send application/sparql-query or application/x-www-form-urlencoded")
    return await _run(api, query, request, params.get("default-graph-uri", []), params.get("named-graph-uri", []))
