"""Settings of the ``gateway: opcua:`` section."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from adapters.contract.config import StrictModel
from gateway.northbound.registry import ServiceSpec
from gateway.northbound.roles import Role

Policy = Literal[
    "None",
    "Basic256Sha256_Sign",
    "Basic256Sha256_SignAndEncrypt",
    "Aes128Sha256RsaOaep_Sign",
    "Aes128Sha256RsaOaep_SignAndEncrypt",
    "Aes256Sha256RsaPss_Sign",
    "Aes256Sha256RsaPss_SignAndEncrypt",
]


class UaUser(StrictModel):
    """A user who may log in with a user name and password."""

    name: str
    password_hash: str = Field(
        pattern=r"^pbkdf2_sha256\$\d+\$[0-9a-f]+\$[0-9a-f]{64}$",
        description="pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>; make one with `twinbridge hash password`",
    )
    role: Role = Field("reader", description="reader, operator (may write) or admin; viewer is read as reader")


class OpcUaServerConfig(StrictModel):
    """The OPC UA server."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(4840, ge=0, le=65535, description="0 picks a free port")
    path: str = "/twinbridge"
    security: list[Policy] = Field(["Basic256Sha256_SignAndEncrypt"], min_length=1)
    pki_dir: str = Field("pki/opcua-server", description="server certificate/key (made on first start), trusted/")
    allow_anonymous: bool = Field(False, description="anonymous sessions get the reader role")
    users: list[UaUser] = []
    publish_batch: int = Field(500, ge=1, description="changes pushed per event-loop turn")


SPEC = ServiceSpec("opcua", OpcUaServerConfig, "gateway.northbound.opcua.service:OpcUaServer")
