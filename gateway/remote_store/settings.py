"""Settings of a remote SPARQL 1.1 store: ``twin: replicate:`` (gateways mirroring into it) and ``twin: remote:``
(the central view serving it). Only the standard protocols are used, so any store that speaks them will do."""

from __future__ import annotations

import re
from typing import Self
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.contract.config import ReconnectSettings, StrictModel
from adapters.contract.types import Duration

GATEWAY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _http_url(v: str | None) -> str | None:
    if v is not None and urlparse(v).scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    return v


class StoreAuth(StrictModel):
    """How to log in to the store: HTTP basic or digest with a user and password, or a bearer token."""

    scheme: str = Field("basic", pattern="^(basic|digest|bearer)$", description="basic, digest or bearer")
    user: str | None = None
    password: SecretStr | None = Field(None, description="from ${VAR}; never logged")
    token: SecretStr | None = Field(None, description="bearer token, from ${VAR}; never logged")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.scheme == "bearer":
            if self.token is None:
                raise ValueError("bearer auth needs a token")
        elif self.user is None or self.password is None:
            raise ValueError(f"{self.scheme} auth needs a user and a password")
        return self


class StoreTls(StrictModel):
    """TLS of an ``https://`` store."""

    ca_file: str | None = Field(None, description="PEM file of the CAs trusted for the store; default: system CAs")
    cert_file: str | None = Field(None, description="client certificate (PEM) for stores that require one")
    key_file: str | None = Field(None, description="private key of cert_file (PEM)")
    verify: bool = Field(True, description="check the store's certificate (never turn off outside a test bench)")

    @model_validator(mode="after")
    def _pairs(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class StoreSettings(StrictModel):
    """Where a SPARQL 1.1 store is: query, update and Graph Store Protocol endpoints, login and TLS."""

    url: str = Field(description="SPARQL 1.1 query endpoint, e.g. http://store:7878/query")
    update_url: str | None = Field(None, description="SPARQL 1.1 update endpoint; default: url")
    graph_store_url: str | None = Field(
        None, description="Graph Store Protocol endpoint, used for whole-graph pushes; default: SPARQL updates"
    )
    auth: StoreAuth | None = None
    tls: StoreTls | None = None
    graph: str | None = Field(
        None, description="base IRI of the graphs in the store (<graph>gateway/<name>/model...); default: base_iri"
    )
    timeout: Duration = Field(30.0, gt=0, description="timeout of one request to the store")

    @field_validator("url", "update_url", "graph_store_url")
    @classmethod
    def _urls(cls, v: str | None) -> str | None:
        return _http_url(v)

    @field_validator("graph")
    @classmethod
    def _graph(cls, v: str | None) -> str | None:
        if v is not None and (not v.startswith(("http://", "https://", "urn:")) or not v.endswith(("/", "#", ":"))):
            raise ValueError("graph must be an http(s) or urn IRI ending in '/', '#' or ':'")
        return v


class ReplicaSettings(StoreSettings):
    """One store a gateway mirrors its twin into (``twin: replicate:``)."""

    flush_interval: Duration = Field(1.0, gt=0, description="how often changed live values are sent")
    batch: int = Field(
        4000, ge=10, le=1_000_000, description="triples per update request (stores limit the size of one request)"
    )
    parallel: int = Field(4, ge=1, le=32, description="update requests in flight at once within one flush")
    lease: Duration = Field(30.0, ge=3, description="how long the gateway's claim on its name lasts unrenewed")
    check_interval: Duration = Field(
        30.0, gt=0, description="how often the store is checked for lost graphs (a cheap count and hash query)"
    )
    retry: ReconnectSettings = Field(default_factory=ReconnectSettings, description="backoff while unreachable")


class GatewayRoute(StrictModel):
    """How the central view reaches one edge gateway's HTTP API to route writes to it."""

    url: str = Field(description="the gateway's HTTP API, e.g. http://10.0.0.5:8080")
    token: SecretStr | None = Field(None, description="an operator token of that gateway, from ${VAR}")
    ca_file: str | None = Field(None, description="PEM file of the CAs trusted for an https:// gateway")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v) or v


class RemoteSettings(StoreSettings):
    """The central view (``twin: remote:``): the shared store's twins served as one, with no sources of its own."""

    poll_interval: Duration = Field(1.0, gt=0, description="how often live values and model changes are read")
    gateways: dict[str, GatewayRoute] = Field(
        {}, description="where writes to each gateway's points go; a gateway not listed is read-only here"
    )

    @field_validator("gateways")
    @classmethod
    def _names(cls, v: dict[str, GatewayRoute]) -> dict[str, GatewayRoute]:
        for name in v:
            if not GATEWAY_NAME.match(name):
                raise ValueError(f"gateway name {name!r}: letters, digits, '.', '_' and '-' only")
        return v
