"""Load-time checks of the ``gateway: mqtt:`` section against the model, reported by the loader at file:line.

UNS: the topic template and prefix, the ``select:``, the command settings, and the topics themselves (two points,
a point and an asset's ``_meta``, or a point and another's command topic on one topic). Sparkplug: the edge
node's own checks (``sparkplug_checks.check``). Points added at run time that would collide are handled by the
channel (logged once, counted, the second one not published).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.northbound.mqtt.selection import check_selection, picked_at_load
from gateway.northbound.mqtt.uns_topics import Namespace, TemplateError, TopicTemplate, check_prefix
from gateway.northbound.registry import ServiceIssue
from gateway.northbound.roles import allows

if TYPE_CHECKING:
    from gateway.model import TwinModel
    from gateway.northbound.mqtt.config import MqttNorthConfig, UnsSettings

MAX_COLLISIONS = 5  # reported one by one; the rest as a count (a template without {point} collides everything)
_FIX_META = "add a level that tells the assets apart (e.g. {asset}) to topic:, or meta: false"
_FIX = "add a level that tells them apart (e.g. {asset} or {equipment}) to topic:, or narrow select:"


def check_model(config: MqttNorthConfig, model: TwinModel) -> list[ServiceIssue]:
    """Every problem of the section with this model."""
    if not config.enabled:
        return []
    issues: list[ServiceIssue] = []
    for i, broker in enumerate(config.brokers):
        if broker.uns is not None and broker.uns.enabled:
            issues += check_uns(i, broker.uns, model)
        if broker.sparkplug is not None and broker.sparkplug.enabled:
            issues += _sparkplug(i, broker.sparkplug, model)
    return issues


def check_uns(index: int, uns: UnsSettings, model: TwinModel) -> list[ServiceIssue]:
    """Problems of broker ``index``'s ``uns:`` settings."""
    base: tuple[str | int, ...] = ("brokers", index, "uns")
    issues: list[ServiceIssue] = []
    template = prefix = None
    try:
        template = TopicTemplate.parse(uns.topic)
    except TemplateError as exc:
        issues.append(ServiceIssue((*base, "topic"), str(exc)))
    try:
        prefix = check_prefix(uns.prefix)
    except TemplateError as exc:
        issues.append(ServiceIssue((*base, "prefix"), str(exc)))
    selection = check_selection(uns.select, model)
    issues += [ServiceIssue((*base, "select", *path), message) for path, message in selection]
    if uns.commands and not allows(uns.command_role, "operator"):
        issues.append(
            ServiceIssue(
                (*base, "command_role"),
                f"role '{uns.command_role}' may not write: give operator or admin, or commands: false",
            )
        )
    if not uns.commands and "command_role" in uns.model_fields_set:
        issues.append(ServiceIssue((*base, "command_role"), "command_role takes effect with commands: true only"))
    if template is None or prefix is None or selection:
        return issues  # no topics to compare without a template, nor a selection to take them from
    namespace = Namespace(template, prefix, model, meta=uns.meta, commands=uns.commands)
    picked = picked_at_load(uns.select, model)
    collisions = []
    for pid, point in model.points.items():  # mapping order, as the channel adds them
        if pid in picked:
            collisions += namespace.add_point(point)[1]
    where = (*base, "topic")
    issues += [ServiceIssue(where, f"{c}: {_FIX_META if c.meta else _FIX}") for c in collisions[:MAX_COLLISIONS]]
    if len(collisions) > MAX_COLLISIONS:
        more = len(collisions) - MAX_COLLISIONS
        issues.append(ServiceIssue(where, f"... and {more} more topic collision(s) of this template"))
    return issues


def _sparkplug(index: int, settings: Any, model: TwinModel) -> list[ServiceIssue]:
    try:  # the Sparkplug edge node's own checks (its module may be absent while it is being written)
        from gateway.northbound.mqtt import sparkplug_checks
    except ImportError:
        return []
    issues: list[ServiceIssue] = sparkplug_checks.check(index, settings, model)
    return issues
