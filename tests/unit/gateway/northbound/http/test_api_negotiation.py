"""SPARQL result format negotiation: the Accept header parsed by q-value, then matched per result kind."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from gateway.northbound.http.query_worker import GRAPH_TYPES, RESULT_TYPES, _pick
from gateway.northbound.http.routes.sparql import _accept


class _Request:
    def __init__(self, accept: str | None) -> None:
        self.headers = Headers({"accept": accept} if accept is not None else {})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("text/csv", ["text/csv"]),
        ("text/csv;q=0.5, application/sparql-results+xml", ["application/sparql-results+xml", "text/csv"]),
        ("Text/CSV; charset=utf-8", ["text/csv"]),  # parameters other than q are ignored, case folded
        ("text/csv;q=0, text/turtle", ["text/turtle"]),  # q=0: not acceptable
        ("text/csv;q=oops, text/turtle", ["text/turtle"]),  # a broken q-value counts as 0, not as an error
        # a browser: equal q keeps the header's order
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ["text/html", "application/xhtml+xml", "application/xml", "*/*"],
        ),
    ],
)
def test_accept_is_ordered_by_quality(header: str | None, expected: list[str]) -> None:
    assert _accept(_Request(header)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("accept", "select", "construct"),
    [
        ([], "JSON", "TURTLE"),  # no preference: the defaults
        (["*/*"], "JSON", "TURTLE"),
        (["application/sparql-results+json"], "JSON", None),
        (["application/json"], "JSON", None),
        (["application/sparql-results+xml"], "XML", None),
        (["application/xml"], "XML", None),
        (["text/csv"], "CSV", None),
        (["text/tab-separated-values"], "TSV", None),
        (["text/turtle"], None, "TURTLE"),
        (["application/n-triples"], None, "N_TRIPLES"),
        (["text/plain"], None, "N_TRIPLES"),
        (["application/ld+json"], None, "JSON_LD"),
        (["application/rdf+xml"], None, "RDF_XML"),
        (["text/*"], "CSV", "TURTLE"),  # a wildcard subtype takes the first listed format of that type
        (["image/png"], None, None),  # nothing acceptable: the route answers 406
        (["image/png", "*/*"], "JSON", "TURTLE"),  # the first acceptable entry wins
        (["text/html", "application/xml", "*/*"], "XML", "TURTLE"),  # a browser gets XML results, Turtle graphs
        (["text/csv", "text/turtle"], "CSV", "TURTLE"),  # one header serves both query kinds
    ],
)
def test_pick_per_result_kind(accept: list[str], select: str | None, construct: str | None) -> None:
    assert _pick(accept, RESULT_TYPES, "JSON") == select
    assert _pick(accept, GRAPH_TYPES, "TURTLE") == construct
