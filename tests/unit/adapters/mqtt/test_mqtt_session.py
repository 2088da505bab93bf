"""How the MQTT adapter explains a lost connection (pure bookkeeping, no broker)."""

from __future__ import annotations

from aiomqtt import MqttCodeError, MqttError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from protocols.mqtt.session import SESSION_TAKEN_OVER, DropTracker, reason_code


def _lost_during_iteration(code: int) -> MqttError:
    """The error aiomqtt raises from its message iterator: the disconnect's code is the cause."""
    try:
        try:
            raise MqttCodeError(ReasonCode(PacketTypes.DISCONNECT, identifier=code), "Unexpected disconnection")
        except MqttCodeError as cause:
            raise MqttError("Disconnected during message iteration") from cause
    except MqttError as exc:
        return exc


def test_reason_code_follows_the_cause() -> None:
    assert reason_code(_lost_during_iteration(SESSION_TAKEN_OVER)) == 0x8E
    assert reason_code(MqttError("plain")) is None and reason_code(None) is None


def test_session_taken_over_is_named_at_once() -> None:
    t = DropTracker("gw-1", short=10)
    t.connected()
    why = t.lost(_lost_during_iteration(SESSION_TAKEN_OVER))
    assert "same client id 'gw-1'" in why and "0x8E" in why


def test_closes_right_after_connecting_twice_in_a_row_suggest_a_clash() -> None:
    t = DropTracker("gw-1", short=10)
    t.connected()
    assert t.lost(MqttError("closed")) == ""  # once can be anything
    t.connected()
    why = t.lost(MqttError("closed"))
    assert "another client may be using client id 'gw-1'" in why and "2 times" in why


def test_a_failed_reconnect_in_between_means_the_broker_was_away() -> None:
    t = DropTracker("gw-1", short=10)
    t.connected()
    t.lost(MqttError("closed"))
    t.failed()  # connection refused: the broker restarted, nobody took our id
    t.connected()
    assert t.lost(MqttError("closed")) == ""


def test_a_long_lived_connection_resets_the_count() -> None:
    now = [0.0]
    t = DropTracker("gw-1", short=10, clock=lambda: now[0])
    t.connected()
    now[0] = 1.0
    t.lost(MqttError("closed"))
    t.connected()
    now[0] = 61.0
    assert t.lost(MqttError("closed")) == "" and t.short_drops == 0
    t.connected()
    now[0] = 62.0
    assert t.lost(MqttError("closed")) == "" and t.short_drops == 1
