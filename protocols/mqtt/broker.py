"""One broker connection's settings, the same for the MQTT source and the northbound MQTT service.

Secure by default: ``mqtts://`` verifies the broker's certificate and host name (against ``tls.ca_file`` or the
system's CAs); passwords come from ``${VAR}`` and are held as ``SecretStr`` so they never reach logs or the API.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlparse

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.contract.config import StrictModel
from adapters.contract.types import Duration


class MqttTls(StrictModel):
    """TLS of an ``mqtts://`` connection."""

    ca_file: str | None = Field(None, description="PEM file of the CAs trusted for the broker; default: system CAs")
    cert_file: str | None = Field(None, description="client certificate (PEM) for brokers that require one")
    key_file: str | None = Field(None, description="private key of cert_file (PEM)")
    key_password: SecretStr | None = Field(None, description="password of key_file, from ${VAR}")
    check_hostname: bool = Field(True, description="check that the broker's certificate names the URL's host")

    @model_validator(mode="after")
    def _pairs(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.key_password is not None and self.key_file is None:
            raise ValueError("key_password needs key_file")
        return self


class BrokerSettings(StrictModel):
    """Where a broker is and how to log in: URL, protocol version, credentials, TLS, session and keep-alive."""

    url: str = Field(description="mqtt://host[:1883] or mqtts://host[:8883]")
    protocol: Literal["3.1.1", "5"] = Field("3.1.1", description="MQTT protocol version")
    client_id: str | None = Field(None, description="client identifier")
    username: str | None = None
    password: SecretStr | None = Field(None, description="from ${VAR}; never logged")
    tls: MqttTls | None = Field(None, description="TLS settings (mqtts:// only); defaults apply when absent")
    clean_session: bool = Field(True, description="false: the broker keeps subscriptions and queued QoS>0 messages")
    session_expiry: Duration = Field(86400.0, ge=0, description="MQTT 5: how long a persistent session outlives us")
    keepalive: Duration = Field(30.0, ge=1, le=65535, description="keep-alive interval (PINGREQ when idle)")
    connect_timeout: Duration = Field(10.0, gt=0, description="timeout of connect, subscribe and publish calls")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        u = urlparse(v)
        if u.scheme not in ("mqtt", "mqtts"):
            raise ValueError("the URL must start with mqtt:// or mqtts://")
        if "@" in u.netloc:
            raise ValueError("do not put credentials in the URL; use username: and password: ${VAR}")
        if not u.hostname:
            raise ValueError("the URL needs a host (mqtt://host:1883)")
        if u.path not in ("", "/") or u.query:
            raise ValueError("the URL takes no path or query (topics go in rules and point addresses)")
        try:
            _ = u.port
        except ValueError as exc:
            raise ValueError(f"bad port: {exc}") from None
        return v

    @model_validator(mode="after")
    def _login(self) -> Self:
        if self.tls is not None and not self.secure:
            raise ValueError("tls: settings need an mqtts:// URL")
        if self.password is not None and not self.username:
            raise ValueError("password needs username")
        return self

    @property
    def secure(self) -> bool:
        """True for mqtts://."""
        return self.url.startswith("mqtts:")

    @property
    def host(self) -> str:
        """Broker host name."""
        return urlparse(self.url).hostname or ""

    @property
    def port(self) -> int:
        """Broker port (1883, or 8883 for mqtts, when the URL has none)."""
        return urlparse(self.url).port or (8883 if self.secure else 1883)

    def endpoint(self) -> str:
        """``mqtt://host:port`` (never with credentials)."""
        return f"{'mqtts' if self.secure else 'mqtt'}://{self.host}:{self.port}"


def tls_context(settings: BrokerSettings, base_dir: str | Path) -> ssl.SSLContext | None:
    """The TLS context of an ``mqtts://`` connection (None for ``mqtt://``); file paths are relative to
    ``base_dir`` (the mapping's folder). ``OSError``/``ssl.SSLError`` when a file is missing or unreadable."""
    if not settings.secure:
        return None
    tls = settings.tls
    base = Path(base_dir)
    ctx = ssl.create_default_context(cafile=str(base / tls.ca_file) if tls and tls.ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls is not None:
        ctx.check_hostname = tls.check_hostname
        if tls.cert_file and tls.key_file:
            pw = tls.key_password.get_secret_value() if tls.key_password else None
            ctx.load_cert_chain(str(base / tls.cert_file), str(base / tls.key_file), password=pw)
    return ctx


def client_options(settings: BrokerSettings, client_id: str) -> dict[str, Any]:
    """Keyword arguments of ``aiomqtt.Client`` for these settings (without TLS, will or queue options)."""
    v5 = settings.protocol == "5"
    out: dict[str, Any] = {
        "hostname": settings.host,
        "port": settings.port,
        "username": settings.username,
        "password": settings.password.get_secret_value() if settings.password else None,
        "identifier": client_id,
        "protocol": aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        "keepalive": int(settings.keepalive),
        "timeout": settings.connect_timeout,
    }
    if v5:
        out["clean_start"] = settings.clean_session
        if not settings.clean_session:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = int(settings.session_expiry)
            out["properties"] = props
    else:
        out["clean_session"] = settings.clean_session
    return out
