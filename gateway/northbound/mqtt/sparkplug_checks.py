"""Load-time checks of a broker's ``sparkplug:`` settings against the model (reported at file:line by the loader).

Sparkplug hosts such as Ignition keep devices and metrics in case-insensitive tag paths, and the specification
says an edge node SHOULD NOT publish ids or metric names that differ only in case: such pairs are errors here,
like ids that collide once sanitized, and points whose datatype Sparkplug cannot carry.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from gateway.northbound.mqtt.selection import check_selection, picked_at_load
from gateway.northbound.mqtt.sparkplug_births import sanitize_id, sparkplug_code
from gateway.northbound.registry import ServiceIssue
from gateway.northbound.roles import allows

if TYPE_CHECKING:
    from gateway.model import TwinModel
    from gateway.northbound.mqtt.config import SparkplugSettings


def check(index: int, settings: SparkplugSettings, model: TwinModel) -> list[ServiceIssue]:
    """What would make broker ``index``'s edge node ambiguous or lossy with this model."""
    base: tuple[str | int, ...] = ("brokers", index, "sparkplug")
    selection_issues = check_selection(settings.select, model)
    issues = [ServiceIssue((*base, "select", *path), msg) for path, msg in selection_issues]
    if settings.commands and not allows(settings.command_role, "operator"):
        issues.append(
            ServiceIssue(
                (*base, "command_role"),
                f"role '{settings.command_role}' may not write: give operator or admin, or commands: false",
            )
        )
    if selection_issues:
        return issues  # what a broken selection picks is unknown
    where = (*base, "select") if settings.select is not None else base
    picked = [model.points[p] for p in sorted(picked_at_load(settings.select, model)) if p in model.points]

    devices: dict[str, set[str]] = defaultdict(set)  # lower-cased device id -> asset ids
    metrics: dict[tuple[str, str], set[str]] = defaultdict(set)  # (asset, lower-cased name) -> point ids
    for point in picked:
        if sparkplug_code(point) is None:
            issues.append(ServiceIssue(where, f"point '{point.id}': Sparkplug has no datatype for {point.datatype}"))
            continue
        devices[sanitize_id(point.asset).lower()].add(point.asset)
        metrics[(point.asset, (point.local_id or point.id).lower())].add(point.id)
    for device, assets in sorted(devices.items()):
        if len(assets) > 1:
            names = ", ".join(f"'{a}'" for a in sorted(assets))
            issues.append(
                ServiceIssue(
                    where,
                    f"assets {names} would be the same Sparkplug device '{device}' (device ids are compared "
                    "without case and with / + # and spaces made _); select only one of them or rename one",
                )
            )
    for (asset, name), ids in sorted(metrics.items()):
        if len(ids) > 1:
            listed = ", ".join(f"'{p}'" for p in sorted(ids))
            issues.append(
                ServiceIssue(
                    where,
                    f"points {listed} of asset '{asset}' would be Sparkplug metrics whose names differ only in "
                    f"case ('{name}'); hosts such as Ignition cannot tell them apart",
                )
            )
    return issues
