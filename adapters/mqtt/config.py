"""Settings of an ``mqtt`` source (one broker connection), its topic rules and each point's MQTT address.

Secure by default: ``mqtts://`` verifies the broker's certificate and host name (against ``tls.ca_file`` or the
system's CAs); passwords come from ``${VAR}`` and are held as ``SecretStr`` so they never reach logs or the API.
Every field below is documented with its default in docs/mqtt.md.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, model_validator

from adapters.contract.config import Address, SourceConfig, StrictModel
from adapters.contract.rdf import IRI, MQV, TB
from adapters.contract.status import looks_like_status
from adapters.contract.types import Duration, Id
from adapters.mqtt.payload import PathError, TimestampFormat, parse_path
from adapters.mqtt.topics import TopicError, TopicTemplate, check_filter, check_topic, placeholders
from protocols.mqtt.broker import BrokerSettings
from protocols.sparkplug.codec import SPARKPLUG_NS

# its QoS individuals (mqv:QualityOfService); "qualitfy" is how the W3C ontology spells the IRIs
MQV_QOS = "https://www.w3.org/2019/wot/mqtt/qualitfyOfService#"

Qos = Literal[0, 1, 2]
PayloadFormat = Literal["plain", "json", "sparkplug"]
# names filled when a command is published, not when a profile is instantiated
COMMAND_PLACEHOLDERS = frozenset({"value", "text", "point", "point_id", "asset", "topic", "timestamp"})
DEFAULT_EXCLUDES = ("Node Control/*", "Device Control/*", "Properties/*", "bdSeq")


def _status_name(v: str) -> str:
    if not looks_like_status(v):
        raise ValueError(f"'{v}' is not an OPC UA status name (Good, BadSensorFailure, Uncertain...)")
    return v


class _RuleBase(StrictModel):
    id: Id = Field(description="name of the rule, used in counters (bad_messages.<id>) and logs")
    parent: str | None = Field(None, description="template of the parent asset id; that asset is created if missing")
    parent_type: Literal["site", "area", "line", "equipment"] = Field(
        "area", description="level of a parent asset created by the rule"
    )
    type: str | list[str] | None = Field(None, description="asset type(s); default: the profile's type")
    label: str | None = Field(None, description="template of the asset label")
    location: str | None = Field(
        None, description="template of the id of the location the asset is in, e.g. '{area}' (under locations:)"
    )
    vars: dict[str, str | int | float] = Field({}, description="constants for {name} placeholders of the profile")
    qos: Qos | None = Field(None, description="QoS of the rule's subscription; default: the source's qos")

    def _check_templates(self, names: set[str]) -> None:
        known = names | set(self.vars)
        for key in ("asset", "label", "parent", "location"):
            text = getattr(self, key, None)
            if text is None:
                continue
            unknown = placeholders(text) - known
            if unknown:
                raise ValueError(
                    f"{key} '{text}' uses {{{', '.join(sorted(unknown))}}} which the rule does not bind "
                    f"(bound: {', '.join(sorted(known)) or 'nothing'})"
                )


class TopicRule(_RuleBase):
    """Maps every topic matching a template to an asset made from a profile (JSON or plain payloads)."""

    topic: str = Field(description="topic template: literal levels, {name} levels, + and a final #")
    payload: Literal["json", "plain"] = "json"
    profile: str = Field(description="device profile whose points each matched asset gets")
    asset: str | None = Field(None, description="template of the asset id; default: the bound names joined by -")
    point: str | None = Field(
        None, description="'{name}': the level naming the profile point a message feeds (one topic per point)"
    )

    @model_validator(mode="after")
    def _templates(self) -> Self:
        try:
            tpl = TopicTemplate.parse(self.topic)
        except TopicError as exc:
            raise ValueError(str(exc)) from None
        names = set(tpl.variables)
        if not names and self.asset is None:
            raise ValueError("a topic without {name} levels needs asset: (the id of the one asset it feeds)")
        if self.point is not None:
            var = self.point[1:-1] if self.point.startswith("{") and self.point.endswith("}") else None
            if var is None or var not in names:
                raise ValueError(f"point must be one bound level such as '{{measurement}}' (bound: {sorted(names)})")
            if tpl.multi:
                raise ValueError("a rule with point: cannot end in # (each point needs one topic)")
        self._check_templates(names)
        return self

    @property
    def template(self) -> TopicTemplate:
        """The parsed topic template."""
        return TopicTemplate.parse(self.topic)

    @property
    def asset_template(self) -> str:
        """The asset id template (explicit or the bound names joined by -)."""
        if self.asset is not None:
            return self.asset
        names = [n for n in self.template.variables if f"{{{n}}}" != self.point]
        return "-".join(f"{{{n}}}" for n in names)


class SparkplugRule(_RuleBase):
    """Maps Sparkplug B edge nodes and devices to assets; births define their points."""

    payload: Literal["sparkplug"]
    group: str = Field("+", description="group id, or + for every group")
    node: str = Field("+", description="edge node id, or + for every node")
    profile: str | None = Field(None, description="profile of device assets; default: one point per birth metric")
    node_profile: str | None = Field(None, description="profile of node assets; default: one point per metric")
    asset: str = Field("{node}-{device}", description="template of a device's asset id ({group}, {node}, {device})")
    node_asset: str = Field("{node}", description="template of a node's asset id ({group}, {node})")
    node_metrics: bool = Field(True, description="map the node's own metrics (NBIRTH/NDATA) too")
    exclude: list[str] = Field(list(DEFAULT_EXCLUDES), description="metric names (fnmatch patterns) never mapped")
    writable: bool = Field(False, description="points made from birth metrics accept writes (sent as DCMD/NCMD)")
    rebirth: bool = Field(True, description="request a rebirth (NCMD Node Control/Rebirth) on a gap or unknown alias")

    @model_validator(mode="after")
    def _ids(self) -> Self:
        for key in ("group", "node"):
            v = getattr(self, key)
            if v != "+" and ("/" in v or "#" in v or "+" in v or not v):
                raise ValueError(f"{key} must be one Sparkplug id or + (got '{v}')")
        names = {"group", "node", "device"}
        self._check_templates(names)
        if "device" in placeholders(self.node_asset):
            raise ValueError("node_asset cannot use {device}")
        return self

    @property
    def filter(self) -> str:
        """The subscription: every message type of the matching nodes."""
        return f"{SPARKPLUG_NS}/{self.group}/+/{self.node}/#"


def _rule_kind(v: Any) -> str:
    p = v.get("payload") if isinstance(v, dict) else getattr(v, "payload", None)
    return "sparkplug" if p == "sparkplug" else "topic"


# payload: sparkplug selects the Sparkplug rule model; anything else (or nothing) is a topic rule
Rule = Annotated[
    Annotated[TopicRule, Tag("topic")] | Annotated[SparkplugRule, Tag("sparkplug")], Discriminator(_rule_kind)
]


class MqttSourceConfig(SourceConfig, BrokerSettings):
    """One MQTT broker connection with its subscriptions and topic rules."""

    kind: Literal["mqtt"] = "mqtt"
    client_id: str | None = Field(
        None,
        description="client identifier; default twinbridge-<source id>-<random> (persistent sessions: "
        "twinbridge-<source id>, stable)",
    )
    qos: Qos = Field(1, description="default QoS of subscriptions")
    rules: list[Rule] = Field([], description="topic rules creating assets and points at run time")
    on_bad_message: Literal["bad", "uncertain"] = Field(
        "bad", description="a point fed a bad message turns Bad, or keeps its last value as Uncertain"
    )
    max_discovered_assets: int = Field(10000, ge=0, description="cap on assets the rules may create")
    queue_size: int = Field(100000, ge=1, description="incoming messages buffered before the oldest are dropped")
    rebirth_interval: Duration = Field(5.0, ge=0, description="least time between two rebirth requests to a node")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [r.id for r in self.rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate rule id(s): {', '.join(dupes)}")
        return self

    def make_client_id(self) -> str:
        """The client id of one adapter instance: ``client_id`` when set.

        Else ``twinbridge-<source id>-<6 random hex digits>``, so two gateways (or two demos) running the same
        mapping on one broker do not take each other's connection: a broker drops the older of two clients with
        one id. A persistent session (``clean_session: false``) is found again by its client id, so there the
        default is the stable ``twinbridge-<source id>`` (give each gateway its own ``client_id`` then).
        """
        if self.client_id:
            return self.client_id
        if not self.clean_session:
            return f"twinbridge-{self.id}"
        return f"twinbridge-{self.id}-{secrets.token_hex(3)}"

    def endpoint(self) -> str:
        """``mqtt://host:port`` (never with credentials)."""
        return BrokerSettings.endpoint(self)


class MqttAddress(Address):
    """Where one point's value is published, how to read it, and where writes go."""

    ref_class = TB + "MqttReference"

    topic: str | None = Field(None, description="concrete topic (rule-made points: the matched topic)")
    payload: PayloadFormat | None = Field(None, description="plain, json or sparkplug; default json when json_path")
    json_path: str | None = Field(None, description="JSONPath subset to the value, e.g. $.sensors[0].temp")
    timestamp_path: str | None = Field(None, description="JSON path to the source timestamp")
    timestamp_format: TimestampFormat = Field("auto", description="auto, iso8601 or epoch_s/_ms/_us/_ns")
    quality_path: str | None = Field(None, description="JSON path to a quality field")
    quality_map: dict[str, str] = Field({}, description="quality field value -> OPC UA status name")
    qos: Qos | None = Field(None, description="QoS of this topic's subscription")
    group: str | None = Field(None, description="Sparkplug group id")
    node: str | None = Field(None, description="Sparkplug edge node id")
    device: str | None = Field(None, description="Sparkplug device id (absent: a node metric)")
    metric: str | None = Field(None, description="Sparkplug metric name")
    command_topic: str | None = Field(None, description="where writes are published ({asset}, {point}, {topic})")
    command_payload: str = Field("{value}", description="payload template of writes: {value} JSON, {text} plain")
    command_qos: Qos = 1
    command_retain: bool = False

    @model_validator(mode="after")
    def _format(self) -> Self:
        fmt = self.payload or (
            "sparkplug"
            if self.metric is not None or self.group is not None
            else "json"
            if self.json_path is not None
            else "plain"
        )
        if fmt != self.payload:
            object.__setattr__(self, "payload", fmt)
        for key in ("json_path", "timestamp_path", "quality_path"):
            text = getattr(self, key)
            if text is not None:
                if fmt != "json":
                    raise ValueError(f"{key} needs payload: json")
                try:
                    parse_path(text)
                except PathError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        for v in self.quality_map.values():
            _status_name(v)
        if fmt == "sparkplug":
            if not (self.group and self.node and self.metric):
                raise ValueError("a sparkplug address needs group, node and metric")
            if self.topic is not None or self.command_topic is not None:
                raise ValueError("a sparkplug address takes no topic/command_topic (they follow from group/node)")
            for key in ("group", "node", "device"):
                v = getattr(self, key)
                if v is not None and any(c in v for c in "/+#"):
                    raise ValueError(f"{key} '{v}' cannot contain /, + or #")
        else:
            if self.topic is None:
                raise ValueError(f"a {fmt} address needs topic")
            if any(getattr(self, k) is not None for k in ("group", "node", "device", "metric")):
                raise ValueError("group/node/device/metric need payload: sparkplug")
            try:
                check_topic(self.topic)
                if self.command_topic is not None:
                    check_filter(self.command_topic)
                    if "+" in self.command_topic or "#" in self.command_topic:
                        raise TopicError("command_topic cannot contain wildcards")
            except TopicError as exc:
                raise ValueError(str(exc)) from None
        return self

    @property
    def path_keys(self) -> tuple[str | int, ...]:
        """The compiled value path ($ when absent)."""
        return parse_path(self.json_path or "$")

    def writable(self) -> bool:
        """Writable when a command topic is set, or for Sparkplug metrics (DCMD/NCMD)."""
        return self.payload == "sparkplug" or self.command_topic is not None

    def sparkplug_topic(self, message_type: str) -> str:
        """``spBv1.0/<group>/<type>/<node>[/<device>]`` for this metric's node or device."""
        tail = f"/{self.device}" if self.device else ""
        return f"{SPARKPLUG_NS}/{self.group}/{message_type}/{self.node}{tail}"

    def rdf(self) -> list[tuple[str, Any]]:
        """W3C WoT MQTT ontology properties (mqv:) plus twinbridge's payload description (tb:).

        The TD form terms ``mqv:topic``/``qos``/``retain``/``controlPacket`` are JSON-LD names; the binding's
        context maps them onto the RDF properties written here (``hasTopicName``, ``hasQoSFlag``...).
        """
        out: list[tuple[str, Any]] = [(TB + "payloadFormat", self.payload)]
        if self.payload == "sparkplug":
            out.append((MQV + "hasTopicName", self.sparkplug_topic("DDATA" if self.device else "NDATA")))
            out.append((TB + "sparkplugMetric", self.metric))
        else:
            out.append((MQV + "hasTopicName", self.topic))
        if self.qos is not None:
            out.append((MQV + "hasQoSFlag", IRI(f"{MQV_QOS}{self.qos}")))
        if self.json_path:
            out.append((TB + "jsonPath", self.json_path))
        if self.timestamp_path:
            out.append((TB + "timestampPath", self.timestamp_path))
        if self.quality_path:
            out.append((TB + "qualityPath", self.quality_path))
        if self.command_topic:
            out.append((TB + "commandTopic", self.command_topic))
            out.append((MQV + "hasRetainFlag", self.command_retain))
        out.append((MQV + "sendsControlPacket", IRI(MQV + "SUBSCRIBE")))
        return out

    def target(self, source: SourceConfig) -> str:
        """``mqtt://host:port/<topic>`` (a Sparkplug metric's DATA topic, with the metric as fragment)."""
        base = source.endpoint() or "mqtt://"
        if self.payload == "sparkplug":
            return f"{base}/{self.sparkplug_topic('DDATA' if self.device else 'NDATA')}#{self.metric}"
        return f"{base}/{self.topic}"

    def key(self) -> str:
        """Topic (or Sparkplug node/device/metric) plus the value path."""
        if self.payload == "sparkplug":
            return f"{self.sparkplug_topic('DATA')}#{self.metric}"
        return f"{self.topic}|{self.json_path or '$'}"
