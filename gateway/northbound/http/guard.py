"""What /sparql refuses, decided by parsing the query: updates and federated queries (SERVICE).

Oxigraph runs ``SERVICE <iri> { ... }`` by sending an HTTP request to that IRI, and pyoxigraph has no switch
to turn that off: an accepted SERVICE query would let any reader make the gateway call addresses only it can
reach (PLC web pages, cloud metadata services). Scanning the text for the keyword cannot be made exact
(comments ended by CR, ``\\u`` escapes, ``<`` as an IRI or a comparison: three scanners were walked around), so
the query is parsed with rdflib's SPARQL 1.1 grammar and its syntax tree and algebra are walked instead.

Two parsers read the same text, so the text is first brought to the one form in which they agree:
- ``\\uXXXX`` and ``\\UXXXXXXXX`` are decoded everywhere, as the SPARQL grammar says (section 19.2); Oxigraph
  decodes them only inside strings and IRIs, so ``"\\u0022 SERVICE ..."`` would read differently otherwise;
- line ends become LF: Oxigraph ends a comment at CR or LF, rdflib's grammar only at LF.
Oxigraph then runs that canonical text, never the original, and what it runs is what was checked. A text
that rdflib cannot read is refused (fail closed), never handed to Oxigraph.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Literal

UPDATE_REFUSED = "SPARQL Update is not accepted on /sparql; live values belong to the adapters"
SERVICE_REFUSED = (
    "SERVICE (federated query) is disabled: the gateway does not call other endpoints for a client; "
    "run the federated query in your own SPARQL client, with this endpoint as one of its services"
)
# Escapes per the SPARQL grammar: exactly 4 hex digits after \u, exactly 8 after \U.
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# What rdflib's own pass would still decode (it reads \u or \U with 4 or 8 digits, either case).
_LEFTOVER = re.compile(r"\\[uU][0-9A-Fa-f]{4}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """``ok`` with the canonical text to run, or a refusal (``update``, ``service``, ``syntax``) and why."""

    kind: Literal["ok", "update", "service", "syntax"]
    text: str


class _BadEscape(ValueError):
    pass


def _decode(m: re.Match[str]) -> str:
    code = int(m.group(1) or m.group(2), 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise _BadEscape(f"{m.group(0)} is not a Unicode character")
    return chr(code)


def canonical(query: str) -> str:
    """The query with its escapes decoded and LF line ends; ``_BadEscape`` when that has no single reading."""
    text = _ESCAPE.sub(_decode, query).replace("\r\n", "\n").replace("\r", "\n")
    leftover = _LEFTOVER.search(text)
    if leftover is not None:  # e.g. \u005Cu0041: decoding again would change it, and Oxigraph would
        raise _BadEscape(f"an escape decodes to another escape ({leftover.group(0)}); write the character itself")
    return text


def _has_service(tree: Any) -> bool:
    """Whether a parse tree or algebra (CompValues, ParseResults, containers) holds a SERVICE pattern."""
    from rdflib.plugins.sparql.parserutils import CompValue

    stack, seen = [tree], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                return True
            stack.extend(node.values())
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple | set | frozenset) or type(node).__name__ == "ParseResults":
            stack.extend(node)
    return False


def _position(exc: Exception) -> str:
    """pyparsing's error as 'error at line:col: message', shortened (its 'Expected {...}' can be long)."""
    lineno, col, msg = getattr(exc, "lineno", None), getattr(exc, "col", None), getattr(exc, "msg", None)
    text = f"error at {lineno}:{col}: {msg}" if lineno is not None else f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


def _never_evaluated(*_: object) -> None:
    raise RuntimeError("SERVICE patterns are only checked here, never evaluated")


def _grammar() -> tuple[Any, Any, Any]:
    """rdflib's parse functions, with its SERVICE parse action replaced (once, in the process that checks).

    rdflib records each SERVICE pattern's text by searching the *whole* query again with comment skipping on,
    so a '#' in a string or IRI earlier on the line hides the pattern from that search and the whole parse
    fails: ``BIND("#" AS ?h) SERVICE <x> {}`` would be refused as malformed instead of as SERVICE. With an
    evaluation function set, rdflib skips that search (the text only serves its own SERVICE evaluation, which
    never runs here).
    """
    from rdflib.plugins.sparql import parser
    from rdflib.plugins.sparql.algebra import translateQuery

    if parser.ServiceGraphPattern.evalfn is not _never_evaluated:
        parser.ServiceGraphPattern.setEvalFn(_never_evaluated)
    return parser.parseQuery, parser.parseUpdate, translateQuery


# Apps and dashboards send the same few queries again and again; rdflib's parse costs 1-4 ms of each answer.
# Texts up to this size are remembered (a verdict depends on the text alone), so the cache stays a few MiB.
_CACHED_CHARS = 8192


def check(query: str) -> Verdict:
    """Parse ``query``; ``ok`` (with the text Oxigraph must run) only for a query without SERVICE."""
    return _remembered(query) if len(query) <= _CACHED_CHARS else _check(query)


def _check(query: str) -> Verdict:
    parseQuery, parseUpdate, translateQuery = _grammar()
    try:
        text = canonical(query)
    except _BadEscape as exc:
        return Verdict("syntax", str(exc))
    try:
        tree = parseQuery(text)
    except Exception as exc:  # not a query: an update is refused as such, anything else as malformed
        try:
            parseUpdate(text)
        except Exception:
            return Verdict("syntax", _position(exc))
        return Verdict("update", UPDATE_REFUSED)
    if _has_service(tree):
        return Verdict("service", SERVICE_REFUSED)
    try:
        algebra = translateQuery(tree).algebra
    except Exception as exc:  # e.g. an undeclared prefix
        return Verdict("syntax", f"{type(exc).__name__}: {exc}"[:300])
    if _has_service(algebra):  # belt and braces: the algebra is what an engine evaluates
        return Verdict("service", SERVICE_REFUSED)
    return Verdict("ok", text)


_remembered = functools.lru_cache(maxsize=512)(_check)


def warm_up() -> None:
    """Build rdflib's grammar and regexes once (the first parse costs tens of ms) before any query is timed."""
    check("PREFIX x: <http://x/> SELECT ?a (COUNT(*) AS ?n) WHERE { ?a x:b/x:c* 'd' FILTER(?a > 1) } GROUP BY ?a")
    check("ASK { SERVICE <http://x/> { ?a ?b ?c } }")
    check("INSERT DATA { <http://x/a> <http://x/b> 1 }")
