"""mqtts:// against mosquitto with a test CA: trusted CA works, a wrong CA, a wrong host name, client certificates."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mqtt_helpers import MOSQUITTO, Broker, TestClient, make_harness, mqtt_point
from mqtt_tls import TlsFiles, make_tls

from adapters.contract.adapter import AdapterUnavailable

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(MOSQUITTO is None, reason="TLS tests need the mosquitto binary: apt-get install mosquitto"),
]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_broker(tmp_path: Path, tls: TlsFiles) -> Iterator[Broker]:
    b = Broker(tmp_path / "tls", tls=tls)
    b.start()
    yield b
    b.kill()


async def test_trusted_ca_connects_and_receives(tls_broker: Broker, tls: TlsFiles) -> None:
    h = make_harness(tls_broker.url, points=[mqtt_point("s.v", topic="s/v")], tls={"ca_file": str(tls.ca)})
    assert h.adapter.config.port == tls_broker.port
    await h.start()
    pub = TestClient(tls_broker, tls=True)
    try:
        pub.publish("s/v", "42")
        await h.wait_value("s.v", 42.0)
    finally:
        pub.close()
        await h.stop()


async def test_ca_file_relative_to_the_mapping_directory(tls_broker: Broker, tls: TlsFiles) -> None:
    h = make_harness(tls_broker.url, tls={"ca_file": tls.ca.name}, base_dir=str(tls.ca.parent))
    await h.start()
    await h.stop()


async def test_wrong_ca_is_refused(tls_broker: Broker, tls: TlsFiles) -> None:
    h = make_harness(tls_broker.url, tls={"ca_file": str(tls.other_ca)})
    with pytest.raises(AdapterUnavailable) as exc:
        await h.adapter.start()
    assert "certificate verify failed" in exc.value.reason


async def test_system_cas_do_not_trust_a_private_ca(tls_broker: Broker) -> None:
    h = make_harness(tls_broker.url)  # mqtts:// without tls: -> system CAs, hostname checked
    with pytest.raises(AdapterUnavailable):
        await h.adapter.start()


async def test_host_name_is_checked(tmp_path: Path) -> None:
    other = make_tls(tmp_path / "pki2", server_names=("broker.example",), server_ips=())
    b = Broker(tmp_path / "tls2", tls=other)
    b.start()
    try:
        h = make_harness(b.url, tls={"ca_file": str(other.ca)})
        with pytest.raises(AdapterUnavailable) as exc:
            await h.adapter.start()
        assert "certificate verify failed" in exc.value.reason or "match" in exc.value.reason
        lax = make_harness(b.url, tls={"ca_file": str(other.ca), "check_hostname": False})
        await lax.start()  # only the name check is off; the chain is still verified
        await lax.stop()
    finally:
        b.kill()


async def test_client_certificate(tmp_path: Path, tls: TlsFiles) -> None:
    b = Broker(tmp_path / "mtls", tls=tls, require_client_cert=True)
    b.start()
    try:
        # the broker drops the connection after the TLS handshake: refused at once, not after connect_timeout
        without = make_harness(b.url, tls={"ca_file": str(tls.ca)})
        t0 = time.monotonic()
        with pytest.raises(AdapterUnavailable) as refused:
            await without.adapter.start()
        assert time.monotonic() - t0 < 3 and "before accepting it" in refused.value.reason
        with_cert = make_harness(
            b.url, tls={"ca_file": str(tls.ca), "cert_file": str(tls.client_cert), "key_file": str(tls.client_key)}
        )
        await with_cert.start()
        await with_cert.stop()
        missing = make_harness(b.url, tls={"ca_file": str(tmp_path / "nope.pem")})
        with pytest.raises(AdapterUnavailable) as exc:
            await missing.adapter.start()
        assert not exc.value.retryable and exc.value.status == "BadConfigurationError"
    finally:
        b.kill()
