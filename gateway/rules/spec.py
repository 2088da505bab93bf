"""The analytics part of a mapping, validated and resolved: what ``gateway.analytics`` runs.

The config loader (``gateway/config/analytics.py``) builds an ``AnalyticsModel`` into ``TwinModel.analytics``.
Derived points are ordinary ``Point``s in ``TwinModel.points`` fed by the virtual source ``analytics``
(``DERIVED_SOURCE``) with a ``DerivedAddress``; their expressions, compiled and unit-checked, are here.
Thresholds keep the unit they were written in (``Threshold``); the engine converts them into each point's unit,
so a rule in °F applies to a °C point.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from adapters.contract.config import Address, SourceConfig
from adapters.contract.model import Origin

TB = "https://w3id.org/twinbridge#"
# The id and kind of the virtual source that feeds derived points (a mapping may not use this id).
DERIVED_SOURCE = "analytics"


class DerivedAddress(Address):
    """The 'address' of a derived point: the expression or aggregate that computes it (never written)."""

    ref_class: ClassVar[str] = TB + "DerivedReference"
    expr: str | None = None
    aggregate: str | None = (
        None  # a short description of the aggregate ("sum of brick:Electric_Power_Sensor under hall")
    )

    def writable(self) -> bool:
        return False

    def rdf(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        if self.expr is not None:
            out.append((TB + "expression", self.expr))
        if self.aggregate is not None:
            out.append((TB + "aggregate", self.aggregate))
        return out


def derived_source() -> SourceConfig:
    """The virtual source the loader adds to ``TwinModel.sources`` when the mapping has derived points."""
    return SourceConfig(id=DERIVED_SOURCE, kind=DERIVED_SOURCE, label="Analytics (derived points)")


@dataclass(frozen=True, slots=True)
class Threshold:
    """A number with the unit it was written in (``30 °C``, ``86 °F``; unit None on unitless points)."""

    value: float
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Selector:
    """Which points a class rule or aggregate takes: any of ``classes`` (with subclasses) under ``under``
    (an asset or location id: its whole subtree), or the ``?point``s a SPARQL SELECT binds, or listed ids.
    The parts given are all required (AND); the engine re-evaluates it when points are added at run time."""

    classes: tuple[str, ...] = ()  # full IRIs
    under: str | None = None
    sparql: str | None = None
    points: tuple[str, ...] = ()
    origin: Origin | None = None

    def describe(self) -> str:
        """A short human description (logs, the graph, errors)."""
        parts = [" or ".join(self.classes)] if self.classes else []
        if self.under:
            parts.append(f"under {self.under}")
        if self.points:
            parts.append(", ".join(self.points))
        if self.sparql:
            parts.append("SPARQL selection")
        return " ".join(parts) or "every point"


AggregateFunction = Literal["sum", "avg", "min", "max", "count"]


@dataclass(frozen=True, slots=True)
class AggregateSpec:
    """A derived point computed over a selection: e.g. the sum of every electric power sensor under an area."""

    function: AggregateFunction
    selector: Selector


@dataclass(frozen=True, slots=True)
class DerivedSpec:
    """One derived point: ``expr`` (compiled in ``compiled``) or ``aggregate``."""

    point: str
    expr: str | None = None
    compiled: Any = None  # gateway.rules.compile.Compiled for an expression
    aggregate: AggregateSpec | None = None
    origin: Origin | None = None


class AlarmKind(enum.StrEnum):
    """What an alarm rule watches."""

    LIMIT = "limit"  # HH/H/L/LL thresholds with deadband and on/off delays
    DEVIATION = "deviation"  # distance from a setpoint point
    DISCRETE = "discrete"  # a state value that means trouble
    RATE = "rate"  # rate of change above a limit
    STALE = "stale"  # no update within a time
    QUALITY = "quality"  # Bad for longer than a time
    ANOMALY = "anomaly"  # anomaly score above a threshold


LimitLevel = Literal["HighHigh", "High", "Low", "LowLow"]


@dataclass(frozen=True, slots=True)
class AlarmRule:
    """One alarm rule as written (on a point, a profile's point, or a class rule).

    Only the fields of its ``kind`` are set. Durations are seconds. ``name`` is unique per point, so a
    condition's id is ``<point id>/<name>``.
    """

    name: str
    kind: AlarmKind
    severity: int = 500  # OPC UA 1..1000
    message: str | None = None  # template: {asset} {asset_label} {point} {label} {value} {unit} {limit} {state}
    ack_required: bool = True
    confirm_required: bool = False
    enabled: bool = True
    # limit (HH/H/L/LL); deviation uses high/low as allowed distance above/below the setpoint
    high_high: Threshold | None = None
    high: Threshold | None = None
    low: Threshold | None = None
    low_low: Threshold | None = None
    deadband: Threshold | None = None  # a difference: 0.5 K on a °C point is 0.5 °C
    on_delay: float = 0.0
    off_delay: float = 0.0
    setpoint: str | None = None  # deviation: the setpoint point id
    values: tuple[Any, ...] = ()  # discrete: the values that mean alarm
    rate: Threshold | None = None  # rate: max change per second, in the point's unit per ``rate_per``
    rate_per: float = 1.0  # rate: seconds the rate is expressed over (2 K per 60 s: rate=2 K, rate_per=60)
    timeout: float | None = None  # stale: seconds without an update
    bad_for: float | None = None  # quality: seconds of Bad
    threshold: float | None = None  # anomaly: score threshold
    origin: Origin | None = None

    LEVELS: ClassVar[tuple[str, ...]] = ("high_high", "high", "low", "low_low")


@dataclass(frozen=True, slots=True)
class ClassRule:
    """An alarm rule applied to every point a selector picks (now, and those added at run time)."""

    selector: Selector
    rule: AlarmRule


DetectorName = Literal["seasonal", "hst"]
# Each detector's default score threshold (DetectorSpec.threshold None), tuned on labelled series (docs/analytics.md)
ANOMALY_THRESHOLDS: Mapping[str, float] = {"seasonal": 0.8, "hst": 0.9}


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """An anomaly detector on a point: its score is published as the derived point ``score_point``."""

    detector: DetectorName = "seasonal"
    threshold: float | None = None  # score above which an ANOMALY alarm is active (None: the detector's default)
    alarm: bool = True
    severity: int = 400
    season: float | None = 86_400.0  # seconds of the seasonal cycle (None: no seasonality)
    params: Mapping[str, Any] = field(default_factory=dict)
    score_point: str | None = None  # "<point id>_anomaly"; the loader adds it to the model for per-point detectors
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class ClassDetector:
    """A detector applied to every point a selector picks; score points are added at run time."""

    selector: Selector
    detector: DetectorSpec


@dataclass(frozen=True, slots=True)
class AnalyticsSettings:
    """The ``analytics:`` section."""

    state: str | None = None  # folder for detector and alarm states (None: next to twin.store, else temporary)
    journal_limit: int = 10_000  # alarm transitions kept in memory when there is no history store
    anomaly_queue: int = 100_000  # samples waiting for the detectors before the oldest are dropped (counted)


@dataclass
class AnalyticsModel:
    """Everything analytics runs, by point id (``TwinModel.analytics``; None when the mapping has none)."""

    settings: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    derived: dict[str, DerivedSpec] = field(default_factory=dict)
    alarms: dict[str, tuple[AlarmRule, ...]] = field(default_factory=dict)  # written on the point or profile
    class_alarms: list[ClassRule] = field(default_factory=list)
    anomaly: dict[str, DetectorSpec] = field(default_factory=dict)  # per point (score points already in the model)
    class_anomaly: list[ClassDetector] = field(default_factory=list)

    def empty(self) -> bool:
        """Whether there is nothing to run."""
        return not (self.derived or self.alarms or self.class_alarms or self.anomaly or self.class_anomaly)
