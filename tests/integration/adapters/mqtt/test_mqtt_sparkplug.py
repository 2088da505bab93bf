"""Sparkplug B against a real broker: an edge node simulated with paho publishing real protobuf payloads."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mqtt_helpers import Broker, TestClient, make_harness, mqtt_point, wait_until

from adapters.contract.model import DataType, PointKind
from adapters.contract.sample import Quality
from protocols.sparkplug import sparkplug_b_pb2 as pb
from protocols.sparkplug.codec import metric_value

pytestmark = pytest.mark.integration

G, N = "Plant1", "edge1"
DOUBLE, BOOL, INT32, STRING, DATASET = 10, 11, 3, 12, 16


class EdgeNode:
    """The publishing side of a Sparkplug edge node (births, data, deaths) with its sequence numbers."""

    def __init__(self, client: TestClient, group: str = G, node: str = N) -> None:
        self.client, self.group, self.node = client, group, node
        self.seq = 0
        self.bdseq = 0

    def _topic(self, kind: str, device: str | None) -> str:
        return f"spBv1.0/{self.group}/{kind}/{self.node}" + (f"/{device}" if device else "")

    def _send(
        self,
        kind: str,
        device: str | None,
        metrics: list[tuple[str | None, int | None, int, Any]],
        *,
        seq: int | None = None,
    ) -> None:
        p = pb.Payload(timestamp=int(time.time() * 1000))
        if kind != "NDEATH":
            p.seq = self.seq if seq is None else seq
            self.seq = (p.seq + 1) % 256
        for name, alias, code, value in metrics:
            m = p.metrics.add()
            if name is not None:
                m.name = name
            if alias is not None:
                m.alias = alias
            m.datatype = code
            if value is None:
                m.is_null = True
            elif code == DOUBLE:
                m.double_value = value
            elif code == BOOL:
                m.boolean_value = value
            elif code == INT32:
                m.int_value = value & 0xFFFFFFFF
            elif code == STRING:
                m.string_value = value
            elif code == DATASET:
                m.dataset_value = b"\x08\x01"
            else:
                m.long_value = value
        self.client.publish(self._topic(kind, device), p.SerializeToString(), qos=0 if "DATA" in kind else 1)

    def nbirth(self) -> None:
        self.seq = 0
        self.bdseq += 1
        self._send(
            "NBIRTH",
            None,
            [
                ("bdSeq", None, 8, self.bdseq),
                ("Node Control/Rebirth", 1, BOOL, False),
                ("Temperature", 2, DOUBLE, 20.5),
                ("Status", 3, STRING, "ok"),
            ],
        )

    def dbirth(self, device: str, speed: float = 1500.0) -> None:
        self._send(
            "DBIRTH",
            device,
            [
                ("Outputs/Speed", 10, DOUBLE, speed),
                ("Outputs/Running", 11, BOOL, True),
                ("Inputs/SpeedSetpoint", 12, DOUBLE, 1500.0),
                ("Offset", 13, INT32, -5),
                ("Table", 14, DATASET, 1),
            ],
        )

    def ddata(self, device: str, *metrics: tuple[int, int, Any], seq: int | None = None) -> None:
        self._send("DDATA", device, [(None, a, c, v) for a, c, v in metrics], seq=seq)

    def ndata(self, *metrics: tuple[int, int, Any]) -> None:
        self._send("NDATA", None, [(None, a, c, v) for a, c, v in metrics])

    def ddeath(self, device: str) -> None:
        self._send("DDEATH", device, [])

    def ndeath(self, bdseq: int | None = None) -> None:
        self._send("NDEATH", None, [("bdSeq", None, 8, self.bdseq if bdseq is None else bdseq)])


def rebirths(client: TestClient) -> list[bool]:
    out = []
    for m in client.messages(f"spBv1.0/{G}/NCMD/{N}"):
        p = pb.Payload.FromString(m.payload)
        out += [bool(x.boolean_value) for x in p.metrics if x.name == "Node Control/Rebirth"]
    return out


async def test_birth_data_death_and_rebirth_with_profile(broker: Broker, client: TestClient) -> None:
    rule = {
        "id": "sp",
        "payload": "sparkplug",
        "group": G,
        "profile": "test-sp-pump",
        "asset": "{device}",
        "node_asset": "{node}",
    }
    h = make_harness(broker.url, rules=[rule])
    await h.start()
    client.subscribe(f"spBv1.0/{G}/NCMD/#")
    edge = EdgeNode(client)
    try:
        assert h.adapter.subscribed == {f"spBv1.0/{G}/+/+/#": 1}
        edge.nbirth()
        edge.dbirth("pump1")
        await h.wait_value("pump1.speed", 1500.0)
        await h.wait_value("edge1.Temperature", 20.5)
        # node metrics without a profile: every metric but the excluded control ones; device: the profile's points
        node_pts = {p.id: p for _, pts in h.discovered for p in pts if p.asset == "edge1"}
        assert sorted(node_pts) == ["edge1.Status", "edge1.Temperature"]
        assert node_pts["edge1.Status"].kind is PointKind.STATUS
        dev_pts = sorted(p.id for _, pts in h.discovered for p in pts if p.asset == "pump1")
        assert dev_pts == ["pump1.running", "pump1.speed", "pump1.speed_sp"]
        assert h.value("pump1.running") is True

        edge.ddata("pump1", (10, DOUBLE, 1480.25), (11, BOOL, False))
        edge.ndata((2, DOUBLE, 21.0))
        await h.wait_value("pump1.speed", 1480.25)
        await h.wait_value("edge1.Temperature", 21.0)
        assert h.value("pump1.running") is False

        # DDEATH: that device's points Bad; the node's stay Good
        edge.ddeath("pump1")
        s = await h.wait_status("pump1.speed", "BadNoCommunication")
        assert "DDEATH" in (s.reason or "")
        assert h.latest["edge1.Temperature"].quality is Quality.GOOD

        # sequence gap -> rebirth requested; the data itself still counts
        edge.dbirth("pump1", speed=1400.0)
        await h.wait_value("pump1.speed", 1400.0)
        edge.ddata("pump1", (10, DOUBLE, 1300.0), seq=(edge.seq + 3) % 256)
        await h.wait_value("pump1.speed", 1300.0)
        await wait_until(lambda: rebirths(client) == [True], 5, "a rebirth request")
        assert h.adapter.counters["seq_gap.sp"] == 1

        # rebirth answered: NBIRTH resets the session; an unknown alias asks again (after rebirth_interval)
        edge.nbirth()
        edge.dbirth("pump1", speed=1200.0)
        await h.wait_value("pump1.speed", 1200.0)
        h.adapter.router.tracker.session(G, N).last_rebirth = float("-inf")
        edge.ddata("pump1", (99, DOUBLE, 1.0))
        await wait_until(lambda: len(rebirths(client)) == 2, 5, "a second rebirth request")
        assert h.adapter.counters["unknown_alias.sp"] == 1

        # NDEATH with an old bdSeq is stale and ignored; the right one marks node and device points Bad
        edge.ndeath(bdseq=edge.bdseq - 1)
        edge.ndeath()
        await h.wait_status("edge1.Temperature", "BadNoCommunication")
        await h.wait_status("pump1.running", "BadNoCommunication")
        assert h.adapter.counters["stale_death.sp"] == 1
        assert h.adapter.counters["rebirth_requests"] == 2
        assert h.error is None
    finally:
        await h.stop()


async def test_unknown_node_after_gateway_restart_asks_for_rebirth(broker: Broker, client: TestClient) -> None:
    """Births published before the gateway started (and not retained) are recovered by a rebirth request."""
    edge = EdgeNode(client)
    edge.nbirth()
    edge.dbirth("pump1")
    rule = {"id": "sp", "payload": "sparkplug", "group": G, "writable": True}
    h = make_harness(broker.url, rules=[rule])
    await h.start()
    client.subscribe(f"spBv1.0/{G}/#")
    try:
        edge.ddata("pump1", (10, DOUBLE, 1.0))
        await wait_until(lambda: rebirths(client) == [True], 5, "a rebirth request")
        edge.nbirth()  # what the node does on the request
        edge.dbirth("pump1", speed=1234.5)
        await h.wait_value("edge1-pump1.Outputs_Speed", 1234.5)
        assert h.value("edge1-pump1.Offset") == -5  # Int32 two's complement
        pts = {p.id: p for _, ps in h.discovered for p in ps}
        assert "edge1-pump1.Table" not in pts  # DataSet metrics are not mapped
        assert pts["edge1-pump1.Outputs_Speed"].datatype is DataType.DOUBLE

        # write-back: DCMD with the metric's name, alias and datatype from the birth
        sp_point = pts["edge1-pump1.Inputs_SpeedSetpoint"]
        assert (await h.adapter.write(sp_point, 1550.0)).ok
        msg = await client.wait_message(f"spBv1.0/{G}/DCMD/{N}/pump1")
        m = pb.Payload.FromString(msg.payload).metrics[0]
        assert (m.name, m.alias, m.datatype, m.double_value) == ("Inputs/SpeedSetpoint", 12, DOUBLE, 1550.0)
        # a node metric is written with NCMD
        assert (await h.adapter.write(pts["edge1.Temperature"], 19.5)).ok

        def ncmd_temperature() -> list[float]:
            return [
                mm.double_value
                for x in client.messages(f"spBv1.0/{G}/NCMD/{N}")
                for mm in pb.Payload.FromString(x.payload).metrics
                if mm.name == "Temperature"
            ]

        await wait_until(lambda: ncmd_temperature() == [19.5], 5, "NCMD Temperature")
    finally:
        await h.stop()


async def test_undecodable_sparkplug_payload_is_bad_and_counted(broker: Broker, client: TestClient) -> None:
    sp_point = mqtt_point("e1.temp", payload="sparkplug", group=G, node=N, metric="Temperature")
    other = mqtt_point("m.x", topic="m/x")
    h = make_harness(broker.url, points=[sp_point, other])
    await h.start()
    edge = EdgeNode(client)
    try:
        assert h.adapter.subscribed == {f"spBv1.0/{G}/+/{N}/#": 1, "m/x": 1}
        edge.nbirth()
        await h.wait_value("e1.temp", 20.5)
        client.publish(f"spBv1.0/{G}/NDATA/{N}", b"\xff\xff\xff\xff not protobuf")
        s = await h.wait_status("e1.temp", "BadDecodingError")
        assert "undecodable Sparkplug B payload" in (s.reason or "")
        client.publish("m/x", "3")
        await h.wait_value("m.x", 3.0)
        assert h.adapter.counters["bad_messages.points"] == 1
        edge.ndata((2, DOUBLE, 22.5))
        s = await h.wait_value("e1.temp", 22.5)
        assert s.quality is Quality.GOOD
    finally:
        await h.stop()


def test_metric_value_signed_decoding() -> None:
    m = pb.Payload.Metric(int_value=(-5) & 0xFFFFFFFF)
    assert metric_value(m, 3) == -5
    assert metric_value(pb.Payload.Metric(int_value=0xFF), 1) == -1
    assert metric_value(pb.Payload.Metric(int_value=0xFF), 5) == 255


async def test_sparkplug_through_the_gateway_into_the_twin(broker: Broker, client: TestClient) -> None:
    from gateway.config.loader import load_mappings
    from gateway.runtime import Gateway

    text = f"""\
twin: {{name: t, base_iri: "http://t.local/", flush_interval: 50ms}}
sources:
  - {{id: mq, kind: mqtt, url: "{broker.url}", rules: [{{id: sp, payload: sparkplug, writable: true}}]}}
"""
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))
    await gw.start(services=False)
    try:
        client.subscribe(f"spBv1.0/{G}/DCMD/#")
        await wait_until(lambda: gw.supervisors["mq"].state.value == "connected", 5, "connected")
        edge = EdgeNode(client)
        edge.nbirth()
        edge.dbirth("pump1")
        pid = "edge1-pump1.Outputs_Speed"
        await wait_until(lambda: pid in gw.model.points and gw.twin.state(pid).value == 1500.0, 5, "birth in twin")
        rows = await gw.twin.query(
            f"SELECT ?v WHERE {{ GRAPH ?g {{ <http://t.local/point/{pid}> <https://w3id.org/twinbridge#value> ?v }} }}"
        )
        assert [r["v"].value for r in rows] == ["1500"]
        # a governed write (validated by the twin, routed to the adapter) becomes a DCMD
        result = await gw.write("edge1-pump1.Inputs_SpeedSetpoint", 1234.0)
        assert result.ok, result
        msg = await client.wait_message(f"spBv1.0/{G}/DCMD/{N}/pump1")
        assert pb.Payload.FromString(msg.payload).metrics[0].double_value == 1234.0
        edge.ddeath("pump1")
        await wait_until(lambda: gw.twin.state(pid).status == "BadNoCommunication", 5, "DDEATH in twin")
        assert gw.twin.state(pid).value == 1500.0  # a fault keeps the last value, marked Bad
    finally:
        await gw.stop()
