"""JSON paths, value checks, timestamps and quality fields of the MQTT adapter (pure functions)."""

from __future__ import annotations

import pytest

from adapters.contract.model import DataType
from adapters.mqtt.payload import (
    MISSING,
    PathError,
    decode_json,
    decode_text,
    format_path,
    get_path,
    json_literal,
    parse_path,
    parse_quality,
    parse_timestamp,
    plain_value,
    text_of,
    to_value,
)

DOC = {"a": {"b": [{"c": 1}, {"c": 2}]}, "x y": {"z": True}, "list": [10, 20, 30], "n": None}


@pytest.mark.parametrize(
    ("path", "keys", "value"),
    [
        ("$", (), DOC),
        ("$.a.b[0].c", ("a", "b", 0, "c"), 1),
        ("$.a.b[1].c", ("a", "b", 1, "c"), 2),
        ("$['x y'].z", ("x y", "z"), True),
        ('$["x y"]["z"]', ("x y", "z"), True),
        ("$.list[-1]", ("list", -1), 30),
        ("$.list[3]", ("list", 3), MISSING),
        ("$.a.missing", ("a", "missing"), MISSING),
        ("$.list.a", ("list", "a"), MISSING),
        ("$.a[0]", ("a", 0), MISSING),
        ("$.n", ("n",), None),
        ("$.snake_case-name", ("snake_case-name",), MISSING),
    ],
)
def test_paths(path: str, keys: tuple, value: object) -> None:
    assert parse_path(path) == keys
    assert get_path(DOC, keys) is value or get_path(DOC, keys) == value


@pytest.mark.parametrize("bad", ["a.b", "$.", "$..a", "$[*]", "$.a[", "$['a]", "$.a b", "$[1.5]"])
def test_bad_paths(bad: str) -> None:
    with pytest.raises(PathError):
        parse_path(bad)


def test_format_path_roundtrip() -> None:
    for p in ("$.a.b[0].c", "$['x y'].z", "$"):
        assert parse_path(format_path(parse_path(p))) == parse_path(p)


def test_decode_json_problems() -> None:
    assert decode_json(b'{"a": 1}') == ({"a": 1}, None)
    _, p = decode_json(b"{")
    assert p is not None and p.kind == "invalid_json" and p.status == "BadDecodingError"
    _, p = decode_json(b"\xff")
    assert p is not None and p.kind in ("undecodable", "invalid_json")


@pytest.mark.parametrize(
    ("value", "dt", "expected"),
    [
        (1.5, DataType.DOUBLE, 1.5),
        ("1.5", DataType.FLOAT, 1.5),
        ("42", DataType.INT32, 42),
        (True, DataType.INT16, 1),
        ("on", DataType.BOOL, True),
        (0, DataType.BOOL, False),
        ("OFF", DataType.BOOL, False),
        (3, DataType.STRING, "3"),
        (False, DataType.STRING, "false"),
        ({"a": 1}, DataType.STRING, '{"a":1}'),
    ],
)
def test_to_value(value: object, dt: DataType, expected: object) -> None:
    got, problem = to_value(value, dt)
    assert problem is None and got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "dt"),
    [
        ({"a": 1}, DataType.DOUBLE),
        ([1], DataType.INT32),
        (None, DataType.DOUBLE),
        ("abc", DataType.FLOAT),
        ("maybe", DataType.BOOL),
        (None, DataType.STRING),
        (float("nan"), DataType.INT16),
    ],
)
def test_wrong_types(value: object, dt: DataType) -> None:
    got, problem = to_value(value, dt, "$.v")
    assert got is None and problem is not None and problem.kind == "wrong_type"
    assert problem.status == "BadTypeMismatch" and problem.reason.startswith("$.v: ")


def test_plain_values() -> None:
    assert plain_value(decode_text(b" 21.5\n")[0], DataType.DOUBLE) == (21.5, None)
    assert plain_value(decode_text(b"true")[0], DataType.BOOL) == (True, None)
    assert plain_value("", DataType.STRING) == ("", None)
    assert plain_value("", DataType.DOUBLE)[1] is not None
    assert decode_text(b"\xff")[1].kind == "undecodable"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "fmt", "iso"),
    [
        (1718000000, "auto", "2024-06-10T06:13:20+00:00"),
        (1718000000123, "auto", "2024-06-10T06:13:20.123000+00:00"),
        (1718000000123456, "auto", "2024-06-10T06:13:20.123456+00:00"),
        (1718000000123456789, "auto", "2024-06-10T06:13:20.123457+00:00"),
        ("1718000000", "auto", "2024-06-10T06:13:20+00:00"),
        ("2024-06-10T08:13:20+02:00", "auto", "2024-06-10T06:13:20+00:00"),
        ("2024-06-10T06:13:20Z", "iso8601", "2024-06-10T06:13:20+00:00"),
        ("2024-06-10 06:13:20", "auto", "2024-06-10T06:13:20+00:00"),
        (1718000000, "epoch_ms", "1970-01-20T21:13:20+00:00"),
    ],
)
def test_timestamps(raw: object, fmt: str, iso: str) -> None:
    ts = parse_timestamp(raw, fmt)  # type: ignore[arg-type]
    assert ts is not None and ts.tzinfo is not None and ts.isoformat() == iso


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        ("yesterday", "auto"),
        (True, "auto"),
        (None, "auto"),
        (1718000000, "iso8601"),
        (float("inf"), "auto"),
        (1e30, "epoch_s"),
    ],
)
def test_bad_timestamps(raw: object, fmt: str) -> None:
    assert parse_timestamp(raw, fmt) is None  # type: ignore[arg-type]


def test_quality() -> None:
    assert parse_quality(True) == "Good"
    assert parse_quality(False) == "Bad"
    assert parse_quality("OK") == "Good"
    assert parse_quality("uncertain") == "Uncertain"
    assert parse_quality("BadSensorFailure") == "BadSensorFailure"
    assert parse_quality(0) == "Good"
    assert parse_quality(0x80000000) == "Bad"
    assert parse_quality(0x40000000) == "Uncertain"
    assert parse_quality(192, {"192": "Good"}) == "Good"
    assert parse_quality("weird") is None
    assert parse_quality(-1) is None
    assert parse_quality(1.5) is None


def test_command_literals() -> None:
    assert json_literal(21.0) == "21.0" and json_literal("a") == '"a"' and json_literal(True) == "true"
    assert text_of(True) == "true" and text_of(2.5) == "2.5" and text_of(None) == ""
