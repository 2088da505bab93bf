"""Settings of the ``gateway: http:`` section."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from adapters.contract.config import StrictModel
from adapters.contract.types import Duration
from gateway.northbound.registry import ServiceSpec
from gateway.northbound.roles import Role


class TokenSpec(StrictModel):
    """One API token: give ``token`` (from ``${VAR}``) or ``token_sha256`` (hex digest of the token)."""

    name: str = Field(description="who holds the token (shown in logs and write audit)")
    role: Role = "reader"
    token: SecretStr | None = None
    token_sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")

    @model_validator(mode="after")
    def _one_secret(self) -> TokenSpec:
        if (self.token is None) == (self.token_sha256 is None):
            raise ValueError("give exactly one of token (e.g. ${API_TOKEN}) or token_sha256")
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("a token must be at least 16 characters long")
        return self


class HttpApiConfig(StrictModel):
    """The SPARQL/REST service."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535, description="0 picks a free port")
    tokens: list[TokenSpec] = []
    anonymous_read: bool = Field(False, description="allow reads without a token (role reader)")
    cors_origins: list[str] = []
    dashboard: bool = Field(True, description="serve the web dashboard at / (docs/dashboard.md)")
    query_timeout: Duration = Field(10.0, gt=0, description="a longer query is stopped and answered with 503")
    max_result_bytes: int = Field(50_000_000, gt=0, description="larger query results are refused")
    max_body_bytes: int = Field(1_000_000, gt=0, description="larger request bodies are refused (413)")
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    stream_queue: int = Field(10_000, ge=1, description="changes kept per slow SSE client (newest per point)")


SPEC = ServiceSpec("http", HttpApiConfig, "gateway.northbound.http.service:HttpApi")
