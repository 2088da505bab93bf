"""Settings of a ``sim`` source and of each simulated point."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from adapters.contract.config import Address, SourceConfig
from adapters.contract.rdf import IRI, TB
from adapters.contract.types import Duration


class SimSourceConfig(SourceConfig):
    """A simulated device: one clock that ticks every ``interval``."""

    kind: Literal["sim"] = "sim"
    interval: Duration = Field(1.0, gt=0, description="how often every point produces a sample")
    seed: int | None = Field(None, description="random seed, for reproducible random walks")
    connect_delay: Duration = Field(0.0, description="simulated connection time")

    def endpoint(self) -> str:
        """The simulator has no network endpoint."""
        return f"sim://{self.id}"


class SimAddress(Address):
    """One simulated signal."""

    ref_class = TB + "SimReference"

    signal: Literal["sine", "ramp", "random_walk", "step", "square", "counter", "constant"] = "constant"
    amplitude: float = 1.0
    offset: float = 0.0
    period: Duration = Field(60.0, gt=0)
    phase: float = 0.0
    min: float | None = None
    max: float | None = None
    step: float = Field(0.1, ge=0)
    rate: float = Field(1.0, description="counter: units per second")
    values: list[Any] = Field([0, 1], min_length=1, description="step: the values cycled through, one per period")
    initial: Any = 0.0
    interval: Duration | None = Field(None, gt=0, description="overrides the source's interval for this point")
    writable_: bool = Field(True, alias="writable", description="whether writes are accepted (echoed back)")

    @model_validator(mode="after")
    def _bounds(self) -> SimAddress:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    def writable(self) -> bool:
        """Simulated points accept writes unless ``writable: false``."""
        return self.writable_

    def rdf(self) -> list[tuple[str, Any]]:
        """The signal shape, for SPARQL."""
        out: list[tuple[str, Any]] = [(TB + "signal", self.signal)]
        if self.signal in ("sine", "square"):
            out.append((TB + "period", self.period))
        return out

    def target(self, source: SourceConfig) -> str:
        """``sim://source/signal``."""
        return f"sim://{source.id}/{self.signal}"


__all__ = ["IRI", "SimAddress", "SimSourceConfig"]
