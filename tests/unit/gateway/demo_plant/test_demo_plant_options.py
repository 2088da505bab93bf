"""The demo's MQTT options, checked before anything starts: broker URL parsing and the CLI's refusals."""

from __future__ import annotations

import pytest

from gateway.cli import main
from gateway.demo_plant.sensors import BrokerAddress, EmbeddedBroker


@pytest.mark.parametrize(
    ("url", "host", "port", "local"),
    [
        ("mqtt://127.0.0.1:1884", "127.0.0.1", 1884, True),
        ("mqtt://localhost", "localhost", 1883, True),
        ("tcp://broker.plant.lan:8883", "broker.plant.lan", 8883, False),
        ("mqtt://[::1]:1900", "::1", 1900, False),
    ],
)
def test_broker_url(url: str, host: str, port: int, local: bool) -> None:
    address = BrokerAddress.parse(url)
    assert (address.host, address.port, address.local) == (host, port, local)
    assert BrokerAddress.parse(address.url) == address


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mqtts://broker:8883", "must look like mqtt://host:port"),
        ("broker:1883", "must look like mqtt://host:port"),
        ("mqtt://user:secret@broker:1883", "without credentials"),
        ("mqtts://user:secret@broker:1883", "without credentials"),
        ("mqtt://broker:99999", "bad port"),
    ],
)
def test_bad_broker_url_is_refused_before_anything_starts(
    url: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--mqtt-url", url]) == 2
    out = capsys.readouterr().out
    assert out.startswith("twinbridge demo: ") and message in out
    assert "secret" not in out


def test_embedded_broker_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.demo_plant import sensors

    monkeypatch.setattr(sensors, "find_mosquitto", lambda: None)
    assert EmbeddedBroker(1, prefer="auto")._choose() == "amqtt"  # a machine without mosquitto
    with pytest.raises(sensors.BrokerUnavailable, match="mosquitto binary is not installed"):
        EmbeddedBroker(1, prefer="mosquitto")._choose()
    monkeypatch.setattr(sensors, "amqtt_available", lambda: False)
    with pytest.raises(sensors.BrokerUnavailable, match="apt-get install mosquitto, pip install amqtt"):
        EmbeddedBroker(1, prefer="auto")._choose()
    monkeypatch.setattr(sensors, "find_mosquitto", lambda: "/usr/sbin/mosquitto")
    assert EmbeddedBroker(1, prefer="auto")._choose() == "mosquitto"
