"""Topic filters and rule templates of the MQTT adapter."""

from __future__ import annotations

import pytest

from adapters.mqtt.topics import (
    TopicError,
    TopicTemplate,
    check_filter,
    check_topic,
    fill,
    filter_covers,
    make_id,
)


def test_filter_covers() -> None:
    assert filter_covers("a/#", "a/+/c")
    assert filter_covers("a/+/c", "a/b/c")
    assert not filter_covers("a/+/c", "a/#")
    assert not filter_covers("a/b/c", "a/+/c")
    assert filter_covers("#", "x/y")


@pytest.mark.parametrize("bad", ["a/b#", "a/#/c", "a+/b", ""])
def test_bad_filters(bad: str) -> None:
    with pytest.raises(TopicError):
        check_filter(bad)


def test_concrete_topics() -> None:
    assert check_topic("a/b") == "a/b"
    for bad in ("a/+", "a/#", ""):
        with pytest.raises(TopicError):
            check_topic(bad)


def test_template_parse_match_format() -> None:
    t = TopicTemplate.parse("plant/{area}/+/{sensor}/data")
    assert t.filter == "plant/+/+/+/data"
    assert t.variables == ("area", "sensor")
    assert t.match("plant/h1/x/s7/data") == {"area": "h1", "sensor": "s7"}
    assert t.match("plant/h1/x/s7/other") is None
    assert t.match("plant/h1/x/s7/data/more") is None
    multi = TopicTemplate.parse("dev/{id}/#")
    assert multi.filter == "dev/+/#"
    assert multi.match("dev/3/a/b") == {"id": "3"}
    assert multi.match("dev/3") == {"id": "3"}
    assert TopicTemplate.parse("#").filter == "#"
    exact = TopicTemplate.parse("a/{x}/b")
    assert exact.format({"x": "1"}) == "a/1/b"
    with pytest.raises(TopicError):
        exact.format({})
    with pytest.raises(TopicError):
        multi.format({"id": "1"})


@pytest.mark.parametrize("bad", ["a/{x}/{x}", "a/pre{x}/b", "a/#/b", "a/{x"])
def test_bad_templates(bad: str) -> None:
    with pytest.raises(TopicError):
        TopicTemplate.parse(bad)


def test_fill_and_ids() -> None:
    assert fill("{a}-{b}", {"a": 1, "b": "x"}) == "1-x"
    assert fill("{a}/{value}", {"a": 1, "value": 2}, keep={"value"}) == "1/{value}"
    assert fill('{"v": {value}}', {"value": "3"}) == '{"v": 3}'
    assert make_id("hall 1/s.7") == "hall_1_s_7"
    assert make_id("äöü") == "_"
    assert len(make_id("x" * 300)) == 128
