"""The OPC UA server seen by a real asyncua client: address space, values, subscriptions, writes, security."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.crypto import cert_gen
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.service.conftest import NS_URI, OP_PW, VIEW_PW, mapping_text


def client(url: str, user: str = "op", pw: str = OP_PW) -> Client:
    c = Client(url, timeout=5)
    c.set_user(user)
    c.set_password(pw)
    return c


async def test_address_space_matches_the_mapping(url: str) -> None:
    async with client(url) as c:
        ns = await c.get_namespace_index(NS_URI)
        root = c.get_node(ua.NodeId("twin", ns))
        assert (await root.read_display_name()).Text == "plant"
        site = (await root.get_children())[0]
        assert site.nodeid == ua.NodeId("site", ns)
        hall = (await site.get_children())[0]
        boiler = (await hall.get_children())[0]
        assert boiler.nodeid == ua.NodeId("boiler1", ns)
        tdef = await boiler.read_type_definition()
        assert tdef == ua.NodeId("type:brick_Boiler", ns)
        assert (await c.get_node(await site.read_type_definition()).read_browse_name()).Name == "Site"
        points = {n.nodeid.Identifier for n in await boiler.get_children()}
        assert points == {"boiler1.temp", "boiler1.sp", "boiler1.count", "boiler1.run"}
        temp = c.get_node(ua.NodeId("boiler1.temp", ns))
        assert await temp.read_data_type() == ua.NodeId(ua.ObjectIds.Float)
        assert (await temp.read_description()).Text == "Water temperature"
        eu = await c.get_node(ua.NodeId("boiler1.temp#EngineeringUnits", ns)).read_value()
        assert eu.UnitId == (ord("C") << 16 | ord("E") << 8 | ord("L")) and eu.DisplayName.Text == "°C"
        rng = await c.get_node(ua.NodeId("boiler1.temp#EURange", ns)).read_value()
        assert (rng.Low, rng.High) == (0.0, 120.0)
        assert await c.get_node(ua.NodeId("boiler1.count", ns)).read_data_type() == ua.NodeId(ua.ObjectIds.UInt32)
        al_ro = await temp.read_attribute(ua.AttributeIds.AccessLevel)
        al_rw = await c.get_node(ua.NodeId("boiler1.sp", ns)).read_attribute(ua.AttributeIds.AccessLevel)
        assert (
            al_ro.Value.Value == ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.HistoryRead.mask
        )  # history is on by default
        assert (
            al_rw.Value.Value
            == ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.CurrentWrite.mask | ua.AccessLevel.HistoryRead.mask
        )
        assert (await c.get_node(ua.NodeId("type:Setpoint", ns)).read_node_class()) == ua.NodeClass.VariableType


async def test_reads_and_subscriptions_follow_the_twin(url: str, gateway: Gateway) -> None:
    async with client(url) as c:
        ns = await c.get_namespace_index(NS_URI)
        temp = c.get_node(ua.NodeId("boiler1.temp", ns))
        dv = await temp.read_data_value()
        state = gateway.twin.state("boiler1.temp")
        assert dv.StatusCode.is_good() and abs(dv.Value.Value - state.value) < 6  # type: ignore[operator]
        assert dv.SourceTimestamp is not None
        received: list[ua.DataValue] = []

        class Handler:
            def datachange_notification(self, node: object, val: object, data: object) -> None:
                received.append(data.monitored_item.Value)  # type: ignore[attr-defined]

        sub = await c.create_subscription(50, Handler())
        await sub.subscribe_data_change(temp)
        await wait_for(lambda: len(received) >= 3)
        assert all(r.SourceTimestamp is not None for r in received)
        # a source fault reaches the client as the twin's status code
        gateway.adapter("sim1").simulate_outage(1.0, "unplugged")  # type: ignore[union-attr]
        await wait_for(lambda: received[-1].StatusCode.value == ua.StatusCodes.BadCommunicationError)
        await wait_for(lambda: received[-1].StatusCode.is_good(), timeout=6)  # noqa: PLW0108 - re-read each time


async def test_writes_reach_the_device_and_refusals_have_their_codes(url: str, gateway: Gateway) -> None:
    async with client(url) as c:
        ns = await c.get_namespace_index(NS_URI)
        sp = c.get_node(ua.NodeId("boiler1.sp", ns))
        await sp.write_value(ua.DataValue(ua.Variant(55.0, ua.VariantType.Float)))
        await wait_for(lambda: gateway.twin.state("boiler1.sp").value == 55.0)
        with pytest.raises(ua.uaerrors.BadOutOfRange):
            await sp.write_value(ua.DataValue(ua.Variant(95.0, ua.VariantType.Float)))
        with pytest.raises(ua.uaerrors.BadTypeMismatch):
            await sp.write_value(ua.DataValue(ua.Variant("hot", ua.VariantType.String)))
        with pytest.raises(ua.uaerrors.BadNotWritable):
            await c.get_node(ua.NodeId("boiler1.temp", ns)).write_value(
                ua.DataValue(ua.Variant(1.0, ua.VariantType.Float))
            )
    async with client(url, "viewer", VIEW_PW) as c:
        ns = await c.get_namespace_index(NS_URI)
        assert (await c.get_node(ua.NodeId("boiler1.temp", ns)).read_value()) is not None
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await c.get_node(ua.NodeId("boiler1.sp", ns)).write_value(
                ua.DataValue(ua.Variant(60.0, ua.VariantType.Float))
            )


async def test_wrong_password_and_anonymous_refused(url: str) -> None:
    with pytest.raises(ua.UaError):
        async with client(url, "op", "wrong-password"):
            pass
    with pytest.raises(ua.UaError):
        async with Client(url, timeout=5):
            pass


async def test_same_node_ids_after_restart(tmp_path: Path) -> None:
    async def node_ids() -> set[str]:
        gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": mapping_text(tmp_path / "pki")}))
        await gw.start()
        try:
            async with client(gw.services["opcua"].endpoints()[0]) as c:  # type: ignore[attr-defined]
                ns = await c.get_namespace_index(NS_URI)
                out: set[str] = set()
                stack = [c.get_node(ua.NodeId("twin", ns))]
                while stack:
                    n = stack.pop()
                    out.add(n.nodeid.to_string())
                    stack.extend(await n.get_children())
                return out
        finally:
            await gw.stop()

    first = await node_ids()
    assert "ns=2;s=boiler1.sp" in first or any(s.endswith(";s=boiler1.sp") for s in first)
    assert first == await node_ids()


async def _client_cert(pki: Path, name: str) -> tuple[Path, Path]:
    key, cert = pki / f"{name}.pem", pki / f"{name}.der"
    key.write_bytes(cert_gen.dump_private_key_as_pem(cert_gen.generate_private_key()))
    await cert_gen.setup_self_signed_certificate(
        key, cert, f"urn:test:{name}", "localhost", [ExtendedKeyUsageOID.CLIENT_AUTH], {"organizationName": "test"}
    )
    return cert, key


async def test_sign_and_encrypt_with_trusted_certificate(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    text = mapping_text(pki, '["Basic256Sha256_SignAndEncrypt"]')
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))
    await gw.start()
    try:
        url = gw.services["opcua"].endpoints()[0]  # type: ignore[attr-defined]
        certs = tmp_path / "client"
        certs.mkdir()
        good_cert, good_key = await _client_cert(certs, "good")
        bad_cert, bad_key = await _client_cert(certs, "stranger")
        (pki / "trusted").mkdir(parents=True, exist_ok=True)
        (pki / "trusted" / "good.der").write_bytes(good_cert.read_bytes())
        await gw.stop()
        gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))  # trust store is read at start
        await gw.start()
        url = gw.services["opcua"].endpoints()[0]  # type: ignore[attr-defined]
        c = client(url)
        c.application_uri = "urn:test:good"
        await c.set_security_string(f"Basic256Sha256,SignAndEncrypt,{good_cert},{good_key}")
        async with c:
            ns = await c.get_namespace_index(NS_URI)
            assert await c.get_node(ua.NodeId("boiler1.sp", ns)).read_value() is not None
        c2 = client(url)
        c2.application_uri = "urn:test:stranger"
        await c2.set_security_string(f"Basic256Sha256,SignAndEncrypt,{bad_cert},{bad_key}")
        with pytest.raises((ua.UaError, asyncio.TimeoutError, ConnectionError, OSError)):
            async with c2:
                pass
        plain = client(url)  # no security: the None endpoint is off
        with pytest.raises((ua.UaError, asyncio.TimeoutError, ConnectionError, OSError)):
            async with plain:
                pass
    finally:
        await gw.stop()
