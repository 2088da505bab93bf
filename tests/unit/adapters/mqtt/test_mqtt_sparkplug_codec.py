"""Sparkplug B topics, value encoding and the host-side session tracker (no broker)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.mqtt.sparkplug import SparkplugTracker
from protocols.sparkplug import sparkplug_b_pb2 as pb
from protocols.sparkplug.codec import (
    SparkplugError,
    SpTopic,
    command_payload,
    decode,
    metric_value,
    parse_topic,
    rebirth_request,
    set_value,
)

G, N = "g", "n"


def msg(seq: int | None, *metrics: tuple[str | None, int | None, int, Any], bdseq: int | None = None) -> Any:
    p = pb.Payload(timestamp=1718000000000)
    if seq is not None:
        p.seq = seq
    if bdseq is not None:
        m = p.metrics.add(name="bdSeq", datatype=8)
        m.long_value = bdseq
    for name, alias, code, value in metrics:
        m = p.metrics.add(datatype=code)
        if name:
            m.name = name
        if alias is not None:
            m.alias = alias
        set_value(m, code, value)
    return decode(p.SerializeToString())


def t(kind: str, device: str | None = None) -> SpTopic:
    return SpTopic(G, kind, N, device)


def test_parse_topic() -> None:
    assert parse_topic("spBv1.0/g/NDATA/n") == SpTopic("g", "NDATA", "n", None)
    assert parse_topic("spBv1.0/g/DDATA/n/d") == SpTopic("g", "DDATA", "n", "d")
    for bad in ("spBv1.0/g/DDATA/n", "spBv1.0/g/NDATA/n/d", "spBv1.0/STATE/host", "spAv1.0/g/NDATA/n", "x/y"):
        assert parse_topic(bad) is None


@pytest.mark.parametrize(
    ("code", "value"),
    [
        (1, -128),
        (2, -2),
        (3, -(2**31)),
        (4, -(2**63)),
        (5, 255),
        (6, 65535),
        (7, 2**32 - 1),
        (8, 2**64 - 1),
        (9, 1.5),
        (10, 2.25),
        (11, True),
        (12, "x"),
        (13, 1718000000000),
    ],
)
def test_values_roundtrip(code: int, value: Any) -> None:
    m = pb.Payload.Metric()
    set_value(m, code, value)
    assert metric_value(m, code) == value


@pytest.mark.parametrize(("code", "value"), [(1, 128), (5, -1), (6, 70000), (8, -1), (17, b"x"), (3, "abc")])
def test_values_that_do_not_fit(code: int, value: Any) -> None:
    with pytest.raises(SparkplugError):
        set_value(pb.Payload.Metric(), code, value)


def test_undecodable() -> None:
    with pytest.raises(SparkplugError):
        decode(b"\xff\xff\xff\xff")


def test_commands() -> None:
    topic, payload = rebirth_request("g", "n")
    assert topic == "spBv1.0/g/NCMD/n"
    m = pb.Payload.FromString(payload).metrics[0]
    assert (m.name, m.datatype, m.boolean_value) == ("Node Control/Rebirth", 11, True)
    p = pb.Payload.FromString(command_payload([("a/b", 7, 10, 2.5)], now_ms=5))
    assert p.timestamp == 5 and (p.metrics[0].alias, p.metrics[0].double_value) == (7, 2.5)


def test_birth_data_aliases_and_sequence_wrap() -> None:
    tr = SparkplugTracker()
    r = tr.handle(t("NBIRTH"), msg(254, ("Temp", 1, 10, 20.0), bdseq=3))
    assert r.births[None] == {"bdSeq": 8, "Temp": 10} and r.rebirth is None
    assert [(u.name, u.value) for u in r.updates] == [("bdSeq", 3), ("Temp", 20.0)]
    r = tr.handle(t("DBIRTH", "d1"), msg(255, ("Speed", 2, 3, -7)))
    assert r.births["d1"] == {"Speed": 3} and r.updates[0].value == -7
    r = tr.handle(t("DDATA", "d1"), msg(0, (None, 2, 3, 9)))  # 255 -> 0 wraps without a gap
    assert r.rebirth is None and r.problems == [] and r.updates[0].name == "Speed" and r.updates[0].value == 9
    assert tr.alias_of(G, N, "d1", "Speed") == (2, 3)
    r = tr.handle(t("NDATA"), msg(2, (None, 1, 10, 1.0)))
    assert r.rebirth and r.problems[0][0] == "seq_gap"
    r = tr.handle(t("NDATA"), msg(3, (None, 99, 10, 1.0)))
    assert r.rebirth == "unknown alias 99" and r.problems[0][0] == "unknown_alias"


def test_unknown_node_historical_and_deaths() -> None:
    tr = SparkplugTracker()
    r = tr.handle(t("NDATA"), msg(5, ("Temp", None, 10, 1.0)))
    assert r.rebirth and r.updates[0].value == 1.0  # named metrics still readable
    tr.handle(t("NBIRTH"), msg(0, ("Temp", 1, 10, 20.0), bdseq=1))
    p = pb.Payload(seq=1)
    m = p.metrics.add(alias=1, is_historical=True)
    m.double_value = 5.0
    assert tr.handle(t("NDATA"), decode(p.SerializeToString())).updates == []
    r = tr.handle(t("DDATA", "ghost"), msg(2, (None, 1, 10, 1.0)))
    assert r.rebirth and "ghost" in r.rebirth
    r = tr.handle(t("NDEATH"), msg(None, bdseq=0))
    assert r.dead == [] and r.problems[0][0] == "stale_death"
    r = tr.handle(t("NDEATH"), msg(None, bdseq=1))
    assert r.dead == [None] and not tr.nodes[(G, N)].node.online
    assert tr.handle(t("NDATA"), msg(3, (None, 1, 10, 1.0))).rebirth  # after death: wait for a new birth
    assert tr.handle(t("NCMD"), msg(None)).updates == []


def test_null_and_unsupported_values() -> None:
    tr = SparkplugTracker()
    p = pb.Payload(seq=0)
    p.metrics.add(name="n", alias=1, datatype=10, is_null=True)
    ds = p.metrics.add(name="ds", alias=2, datatype=16)
    ds.dataset_value = b"\x08\x01"
    r = tr.handle(t("NBIRTH"), decode(p.SerializeToString()))
    assert r.updates[0].value is None and r.updates[0].problem is None
    assert r.updates[1].problem is not None
