"""Settings of the ``gateway: mqtt:`` section: one or more brokers, each publishing the twin as a Unified
Namespace (``uns:``), as a Sparkplug B edge node (``sparkplug:``), or both, with an on-disk buffer (``buffer:``).

Broker connection fields (url, protocol, client_id, username, password from ``${VAR}``, tls, keepalive...)
are the MQTT source's (``protocols.mqtt.broker.BrokerSettings``). Checks that need the assets and points (topic
collisions, unknown classes in ``select:``) run in ``checks.check_model`` at load, with file:line.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from adapters.contract.config import ReconnectSettings, StrictModel
from adapters.contract.types import Duration, Id
from gateway.northbound.registry import ServiceSpec
from gateway.northbound.roles import Role
from protocols.mqtt.broker import BrokerSettings

Qos = Literal[0, 1, 2]
DEFAULT_UNS_TOPIC = "{prefix}/{site}/{area}/{line}/{equipment}/{point}"


class Selection(StrictModel):
    """Which points a channel publishes: any of ``class`` (with subclasses) under ``under`` (an asset or
    location id: its subtree), the ``?point``s of a SPARQL SELECT, or listed ids; the parts given are ANDed.
    Absent: every point."""

    model_config = StrictModel.model_config | {"populate_by_name": True}

    classes: list[str] = Field([], alias="class", description="point classes, e.g. brick:Temperature_Sensor")
    under: str | None = Field(None, description="an asset or location id: only points in its subtree")
    sparql: str | None = Field(None, description="a SELECT binding ?point (with its PREFIXes)")
    points: list[str] = Field([], description="point ids")

    @field_validator("classes", "points", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v  # class: brick:X as analytics selectors accept it


class UnsSettings(StrictModel):
    """The twin as a Unified Namespace: one JSON topic per point under its asset path."""

    enabled: bool = True
    prefix: str = Field("twinbridge", description="first topic level(s), {prefix} in the template")
    topic: str = Field(
        DEFAULT_UNS_TOPIC,
        description="topic of a point: {prefix}, {site}, {area}, {line}, {equipment} (nested equipment joined "
        "by /), {asset} (the point's own asset id), {point} (its id within the asset); empty levels are dropped",
    )
    select: Selection | None = Field(None, description="what is published; default every point")
    qos: Qos = 1
    retain: bool = Field(True, description="retain each point's last value, so a new subscriber sees the plant")
    meta: bool = Field(True, description="publish each asset's metadata (retained) on <asset path>/_meta")
    commands: bool = Field(
        False,
        description="accept writes on <point topic>/set (who may publish there is the broker's ACL); answered "
        "on <point topic>/set/result, or the MQTT 5 response topic",
    )
    command_role: Role = Field("operator", description="the role MQTT commands write with (operator or admin)")


class SparkplugSettings(StrictModel):
    """The twin as a Sparkplug B edge node: one device per asset with points, one metric per point."""

    enabled: bool = True
    group: str = Field(description="Sparkplug group id")
    node: str = Field(description="edge node id")
    primary_host: str | None = Field(
        None, description="host application id whose STATE gates publishing (values are held while it is offline)"
    )
    select: Selection | None = Field(None, description="what is published; default every point")
    commands: bool = Field(False, description="accept writes by DCMD (who may publish is the broker's ACL)")
    command_role: Role = Field("operator", description="the role DCMD writes carry (operator or admin)")

    @model_validator(mode="after")
    def _ids(self) -> Self:
        for key in ("group", "node", "primary_host"):
            v = getattr(self, key)
            if v is not None and (not v or any(c in v for c in "/+#")):
                raise ValueError(f"{key} must be a non-empty Sparkplug id without / + # (got '{v}')")
        return self


class BufferSettings(StrictModel):
    """The on-disk store-and-forward buffer of a broker (values kept while it or the primary host is away)."""

    path: str | None = Field(
        None,
        description="folder of the buffer files; default <twin.store>-mqtt/<broker name>, else a temporary folder "
        "(which does not survive a restart)",
    )
    max_bytes: int = Field(100_000_000, ge=10_000, description="when full, the oldest values are dropped (counted)")
    max_age: Duration = Field(7 * 86400.0, gt=0, description="older values are dropped (counted)")
    replay_rate: int = Field(
        20_000,
        ge=1,
        description="values per second replayed when the broker is back (faster than values arrive, so the "
        "backlog shrinks; the broker's acknowledgements and max_inflight bound it too)",
    )


class MqttBroker(BrokerSettings):
    """One broker the twin is published to."""

    name: Id = Field(description="names the broker in metrics, logs, /health and the buffer folder")
    uns: UnsSettings | None = None
    sparkplug: SparkplugSettings | None = None
    buffer: BufferSettings = BufferSettings()
    reconnect: ReconnectSettings = ReconnectSettings(initial=0.5, max=5.0)
    max_inflight: int = Field(1000, ge=1, description="QoS 1/2 messages sent and not yet acknowledged")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.uns is None and self.sparkplug is None:
            raise ValueError("a broker publishes uns:, sparkplug: or both; give at least one")
        if self.sparkplug is not None and not self.clean_session:
            # Sparkplug B 3.0: edge nodes connect with a clean session; the will (NDEATH) and births restore state
            raise ValueError("a Sparkplug edge node connects with a clean session: remove clean_session: false")
        return self

    def make_client_id(self) -> str:
        """``client_id``, else ``twinbridge-north-<name>`` (plus a random suffix with a clean session, so two
        gateways running one mapping do not take each other's connection)."""
        if self.client_id:
            return self.client_id
        base = f"twinbridge-north-{self.name}"
        return base if not self.clean_session else f"{base}-{secrets.token_hex(3)}"


class MqttNorthConfig(StrictModel):
    """The northbound MQTT service."""

    enabled: bool = True
    brokers: list[MqttBroker] = Field([], description="where the twin is published")

    @model_validator(mode="after")
    def _names(self) -> Self:
        names = [b.name for b in self.brokers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate broker name(s): {', '.join(dupes)}")
        if self.enabled and not self.brokers:
            raise ValueError("give at least one broker under brokers:, or enabled: false")
        return self


SPEC = ServiceSpec(
    "mqtt",
    MqttNorthConfig,
    "gateway.northbound.mqtt.service:MqttNorth",
    default_enabled=False,
    check="gateway.northbound.mqtt.checks:check_model",
)
