"""Settings of an ``opcua`` source (one server session) and of each point's node address.

Secure by default: without a ``security:`` section the client connects with Basic256Sha256 /
SignAndEncrypt, generates its own application certificate on first use and accepts only server
certificates found in its trust folder. ``security: {policy: None}`` is for lab servers and is logged.
Passwords come from ``${VAR}`` and are held as ``SecretStr`` so they never reach logs or the API.
"""

from __future__ import annotations

from typing import Any, Literal, Self
from urllib.parse import quote, urlparse

from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.contract.config import Address, SourceConfig, StrictModel
from adapters.contract.rdf import TB
from adapters.contract.types import Duration
from adapters.opcua.nodeids import BrowsePath, NodeIdError, NodeRef, parse_browse_path, parse_node_id

# OPC 10101 (OPC UA binding for W3C WoT): uav:id and uav:browsePath
UAV = "http://opcfoundation.org/UA/WoT-Binding/"

Policy = Literal["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]
Mode = Literal["None", "Sign", "SignAndEncrypt"]
Acquisition = Literal["subscribe", "poll"]


class OpcUaSecurity(StrictModel):
    """How the secure channel is protected and which server certificates are trusted."""

    policy: Policy = Field("Basic256Sha256", description="security policy of the channel")
    mode: Mode | None = Field(None, description="None, Sign or SignAndEncrypt (default: SignAndEncrypt)")
    pki_dir: str = Field(
        "pki/opcua-client",
        description="folder (relative to the mapping file) holding own/, trusted/, rejected/ and crl/",
    )
    certificate: str | None = Field(
        None, description="own application certificate (DER/PEM) instead of a generated one"
    )
    private_key: str | None = Field(None, description="private key of `certificate` (PEM)")
    trust_dir: str | None = Field(None, description="trusted server (or CA) certificates; default <pki_dir>/trusted")
    trust_all: bool = Field(False, description="accept any server certificate (commissioning only; logged)")
    application_uri: str = Field("urn:twinbridge:opcua-client", description="the client's ApplicationUri")

    @model_validator(mode="after")
    def _mode(self) -> Self:
        if self.policy == "None" and self.mode not in (None, "None"):
            raise ValueError(f"mode {self.mode} needs a security policy other than None")
        if self.policy != "None" and self.mode == "None":
            raise ValueError(f"policy {self.policy} needs mode Sign or SignAndEncrypt")
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("certificate and private_key go together")
        return self

    @property
    def effective_mode(self) -> Mode:
        """The message security mode actually used."""
        if self.policy == "None":
            return "None"
        return self.mode or "SignAndEncrypt"


class OpcUaAuth(StrictModel):
    """The user identity of the session."""

    type: Literal["anonymous", "username", "certificate"] = "anonymous"
    username: str | None = None
    password: SecretStr | None = Field(None, description="from ${VAR}; never logged")
    certificate: str | None = Field(None, description="X.509 user certificate (DER/PEM)")
    private_key: str | None = Field(None, description="private key of the user certificate (PEM)")
    allow_plaintext_password: bool = Field(
        False, description="allow sending the password unencrypted when the server offers nothing better"
    )

    @model_validator(mode="after")
    def _fields(self) -> Self:
        if self.type == "username":
            if not self.username:
                raise ValueError("auth type username needs username")
            if self.password is None:
                raise ValueError("auth type username needs password (e.g. password: ${PLC_PASSWORD})")
        elif self.username or self.password is not None:
            raise ValueError(f"username/password are only used with type: username (type is {self.type})")
        if self.type == "certificate":
            if not (self.certificate and self.private_key):
                raise ValueError("auth type certificate needs certificate and private_key")
        elif self.certificate or self.private_key:
            raise ValueError(f"certificate/private_key are only used with type: certificate (type is {self.type})")
        return self


class OpcUaSourceConfig(SourceConfig):
    """One OPC UA server session with its subscriptions."""

    kind: Literal["opcua"] = "opcua"
    url: str = Field(description="endpoint URL, opc.tcp://host:port[/path]")
    security: OpcUaSecurity = OpcUaSecurity()
    auth: OpcUaAuth = OpcUaAuth()
    namespaces: dict[str, str] = Field({}, description="prefix -> namespace URI, for browse paths")
    mode: Acquisition = Field("subscribe", description="subscribe (monitored items) or poll (cyclic reads)")
    publishing_interval: Duration = Field(0.5, gt=0, description="how often the server sends changes")
    sampling_interval: Duration = Field(0.25, ge=0, description="how often the server samples each node")
    queue_size: int = Field(1, ge=0, le=10000, description="server-side queue per monitored item")
    max_items_per_subscription: int = Field(1000, ge=1, description="monitored items per subscription")
    poll_interval: Duration = Field(1.0, gt=0, description="cycle of polled points")
    max_nodes_per_request: int = Field(500, ge=1, description="nodes per Read/CreateMonitoredItems request")
    request_timeout: Duration = Field(4.0, gt=0, description="timeout of each OPC UA request")
    keepalive_interval: Duration = Field(1.0, gt=0, description="how often a silent connection is probed")
    session_timeout: Duration = Field(60.0, gt=0, description="session lifetime requested from the server")
    check_units: bool = Field(True, description="compare EngineeringUnits/EURange with the mapping at start-up")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        u = urlparse(v)
        if u.scheme != "opc.tcp":
            raise ValueError("the URL must start with opc.tcp://")
        if "@" in u.netloc:
            raise ValueError("do not put credentials in the URL; use auth: {type: username, password: ${VAR}}")
        if not u.hostname:
            raise ValueError("the URL has no host")
        try:
            _ = u.port
        except ValueError:
            raise ValueError("the URL's port is not a number") from None
        return v

    @field_validator("namespaces")
    @classmethod
    def _prefixes(cls, v: dict[str, str]) -> dict[str, str]:
        for prefix, uri in v.items():
            if prefix.isdigit() or not prefix.replace("_", "a").replace("-", "a").replace(".", "a").isalnum():
                raise ValueError(f"namespace prefix '{prefix}' must be a name (letters, digits, _ . -)")
            if not uri:
                raise ValueError(f"namespace prefix '{prefix}' has an empty URI")
        return v

    def endpoint(self) -> str:
        """The endpoint URL (never credentials)."""
        return self.url


class OpcUaDeadband(StrictModel):
    """A server-side data-change filter: only changes larger than this are reported."""

    absolute: float | None = Field(None, gt=0, description="in the node's raw units")
    percent: float | None = Field(None, gt=0, le=100, description="of the node's EURange (server support varies)")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.absolute is None) == (self.percent is None):
            raise ValueError("set exactly one of absolute or percent")
        return self


class OpcUaAddress(Address):
    """Where a point lives on the server: a node id or a browse path, plus acquisition settings."""

    ref_class = TB + "OpcUaReference"

    node: str | None = Field(None, description="NodeId: ns=2;s=..., nsu=URI;s=..., i=, g=, b=")
    browse_path: str | None = Field(None, description="/Objects/2:Boiler/2:Temp (prefixes from namespaces:)")
    index: int | None = Field(None, ge=0, description="element of an array node")
    mode: Acquisition | None = Field(None, description="overrides the source's mode for this point")
    sampling_interval: Duration | None = Field(None, ge=0)
    publishing_interval: Duration | None = Field(None, gt=0)
    queue_size: int | None = Field(None, ge=0, le=10000)
    deadband: OpcUaDeadband | None = None
    poll_interval: Duration | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _where(self) -> Self:
        if (self.node is None) == (self.browse_path is None):
            raise ValueError("set exactly one of node or browse_path")
        try:
            if self.node is not None:
                parse_node_id(self.node)
            else:
                parse_browse_path(self.browse_path or "")
        except NodeIdError as exc:
            raise ValueError(str(exc)) from None
        if self.mode == "poll" and (self.deadband or self.queue_size is not None or self.publishing_interval):
            raise ValueError("deadband, queue_size and publishing_interval only apply to subscribed points")
        return self

    @property
    def node_ref(self) -> NodeRef | None:
        """The parsed node id (None for browse-path addresses)."""
        return parse_node_id(self.node) if self.node is not None else None

    @property
    def path(self) -> BrowsePath | None:
        """The parsed browse path (None for node-id addresses)."""
        return parse_browse_path(self.browse_path) if self.browse_path is not None else None

    def rdf(self) -> list[tuple[str, Any]]:
        """Node id, namespace URI, browse path, element index and acquisition settings for SPARQL."""
        out: list[tuple[str, Any]] = []
        ref = self.node_ref
        if ref is not None:
            out += [(TB + "nodeId", str(ref)), (UAV + "id", str(ref))]
            if ref.ns_uri is not None:
                out.append((TB + "namespaceUri", ref.ns_uri))
        if self.browse_path is not None:
            out += [(TB + "browsePath", self.browse_path), (UAV + "browsePath", self.browse_path)]
        if self.index is not None:
            out.append((TB + "arrayIndex", self.index))
        if self.mode is not None:
            out.append((TB + "acquisition", self.mode))
        if self.sampling_interval is not None:
            out.append((TB + "samplingInterval", float(self.sampling_interval)))
        if self.poll_interval is not None:
            out.append((TB + "pollInterval", float(self.poll_interval)))
        return out

    def target(self, source: SourceConfig) -> str | None:
        """``opc.tcp://host:port/path/?id=<nodeId>`` (OPC 10101 form; browse paths use ``?browsePath=``)."""
        base = str(getattr(source, "url", "")).rstrip("/")
        if self.node is not None:
            query = "id=" + quote(str(self.node_ref), safe="=;:/.-_~@!$'()*+,")
        else:
            query = "browsePath=" + quote(self.browse_path or "", safe="=;:/.-_~@!$'()*+,")
        if self.index is not None:
            query += f"&index={self.index}"
        return f"{base}/?{query}"

    def key(self) -> str | None:
        """Node and element: two points reading the same element are reported by the loader."""
        where = str(self.node_ref) if self.node is not None else f"path:{self.path}"
        return where if self.index is None else f"{where}[{self.index}]"
