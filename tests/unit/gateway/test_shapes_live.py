"""SHACL shapes of the live graph: what the twin writes conforms, and each live-state shape catches its violation
(the model's shapes: test_shapes.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyoxigraph as ox
import pytest

from adapters.contract.model import DataType, PointKind
from adapters.contract.sample import Quality, Sample
from gateway.shacl import validate_ntriples
from gateway.twin.twin import Twin
from tests.conftest import make_model, make_point

TB = "https://w3id.org/twinbridge#"
XSD = "http://www.w3.org/2001/XMLSchema#"
BASE = "http://test.local/"


def _twin_union(twin: Twin) -> str:
    """The twin's graphs as one N-Triples text (what SPARQL's default graph shows)."""
    out = []
    for g in (twin.ids.graph_model, twin.ids.graph_live, twin.ids.graph_ontology):
        out.append(twin.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(g)).decode())
    return "".join(out)


def test_live_graph_written_by_the_twin_conforms() -> None:
    types = {
        DataType.BOOL: True, DataType.INT16: -3, DataType.UINT16: 7, DataType.INT32: 70000, DataType.UINT32: 1,
        DataType.INT64: 2**40, DataType.UINT64: 2**63, DataType.FLOAT: 1.5, DataType.DOUBLE: 2.25,
        DataType.STRING: "on",
    }  # fmt: skip
    points = [
        make_point(f"a.{dt.value}", datatype=dt, kind=PointKind.STATUS, unit="UNITLESS" if dt.is_numeric else None)
        for dt in types
    ]
    twin = Twin(make_model([*points, make_point("a.silent")]))
    now = datetime.now(UTC)
    for dt, value in types.items():
        twin.apply(Sample(f"a.{dt.value}", value, now, Quality.GOOD, "Good", None, "sim1"))
    twin.apply(Sample("a.bool", None, now, Quality.BAD, "BadTimeout", "no answer in 1 s", "sim1"))
    twin.flush()
    # before the first sample a.silent is Bad/BadWaitingForInitialData without a value: that conforms too
    assert validate_ntriples(_twin_union(twin)) == []


def test_live_state_violations() -> None:
    p = f"<{BASE}point/a.x>"
    data = (
        f"{p} <{TB}datatype> <{XSD}float> .\n"
        f'{p} <{TB}value> "abc"^^<{XSD}string> .\n'
        f"{p} <{TB}quality> <{TB}Sort_of_ok> .\n"
        f'{p} <{TB}sourceTime> "yesterday" .\n'
    )
    msgs = {v.message for v in validate_ntriples(data)}
    assert msgs == {
        "the live value does not fit the point's declared datatype (type or range)",
        "a live value has exactly one quality: Good, Uncertain or Bad",
        "a live value has exactly one OPC UA status code",
        "a live value has at most one source time, an xsd:dateTime",
    }
    two_values = (
        f'{p} <{TB}datatype> <{XSD}float> .\n{p} <{TB}quality> <{TB}Good> .\n{p} <{TB}statusCode> "Good" .\n'
        f'{p} <{TB}value> "1.0"^^<{XSD}float> .\n{p} <{TB}value> "2.0"^^<{XSD}float> .\n'
    )
    assert {v.message for v in validate_ntriples(two_values)} == {"a point has at most one live value"}


@pytest.mark.parametrize(
    ("declared", "literal", "fits"),
    [
        ("short", f'"-32768"^^<{XSD}integer>', True),  # how Oxigraph stores every integer type
        ("short", f'"40000"^^<{XSD}integer>', False),
        ("unsignedShort", f'"-1"^^<{XSD}integer>', False),
        ("unsignedLong", f'"18446744073709551615"^^<{XSD}integer>', True),
        ("int", f'"7"^^<{XSD}int>', True),
        ("float", f'"7"^^<{XSD}integer>', False),
        ("double", f'"7.5e0"^^<{XSD}double>', True),
        ("boolean", '"true"', False),
    ],
)
def test_live_value_fits_declared_datatype(declared: str, literal: str, fits: bool) -> None:
    p = f"<{BASE}point/a.x>"
    data = (
        f'{p} <{TB}datatype> <{XSD}{declared}> .\n{p} <{TB}quality> <{TB}Good> .\n{p} <{TB}statusCode> "Good" .\n'
        f"{p} <{TB}value> {literal} .\n"
    )
    msgs = [v.message for v in validate_ntriples(data)]
    assert msgs == ([] if fits else ["the live value does not fit the point's declared datatype (type or range)"])
