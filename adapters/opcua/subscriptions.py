"""Monitored items, grouped into subscriptions, and the translation of data changes into samples.

Points are grouped by publishing interval and split into subscriptions of at most
``max_items_per_subscription`` items, so a source with thousands of points uses a handful of subscriptions
rather than one per point (servers limit subscriptions per session) or one huge one (a slow server then
delays everything). Each monitored item carries the point's sampling interval, queue size and optional
absolute/percent deadband filter. A monitored item the server refuses (``BadNodeIdUnknown``, an unsupported
filter...) makes only its own point Bad.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asyncua import Client, ua
from asyncua.common.subscription import DataChangeEvent, OverflowPolicy, StatusChangeEvent, Subscription

from adapters.contract.sample import Quality, Sample, utcnow
from adapters.contract.status import status_doc, status_name
from adapters.opcua.config import OpcUaSourceConfig
from adapters.opcua.resolve import Binding
from adapters.opcua.types import ValueProblem, from_ua

# asyncua's per-subscription queue between its publish loop and our forwarder; DROP_OLDEST keeps the newest
_SUB_QUEUE = 20_000


@dataclass
class Group:
    """The points of one subscription."""

    publishing_interval: float  # seconds
    bindings: list[Binding] = field(default_factory=list)
    subscription: Subscription | None = None
    items: int = 0  # monitored items the server accepted


def plan(bindings: Sequence[Binding], cfg: OpcUaSourceConfig) -> list[Group]:
    """Group subscribed points by publishing interval, at most ``max_items_per_subscription`` per group."""
    by_interval: dict[float, list[Binding]] = {}
    for b in bindings:
        interval = b.addr.publishing_interval or cfg.publishing_interval
        by_interval.setdefault(interval, []).append(b)
    groups: list[Group] = []
    n = cfg.max_items_per_subscription
    for interval in sorted(by_interval):
        members = by_interval[interval]
        for i in range(0, len(members), n):
            groups.append(Group(interval, members[i : i + n]))
    return groups


def _filter(b: Binding) -> ua.DataChangeFilter | None:
    db = b.addr.deadband
    if db is None:
        return None
    flt = ua.DataChangeFilter()
    flt.Trigger = ua.DataChangeTrigger.StatusValue
    if db.absolute is not None:
        flt.DeadbandType = ua.DeadbandType.Absolute
        flt.DeadbandValue = float(db.absolute)
    else:
        flt.DeadbandType = ua.DeadbandType.Percent
        flt.DeadbandValue = float(db.percent or 0.0)
    return flt


def item_request(b: Binding, handle: int, cfg: OpcUaSourceConfig) -> ua.MonitoredItemCreateRequest:
    """The monitored item of one point (no IndexRange: elements are picked client-side, see docs)."""
    addr = b.addr
    params = ua.MonitoringParameters()
    params.ClientHandle = handle
    sampling = addr.sampling_interval if addr.sampling_interval is not None else cfg.sampling_interval
    params.SamplingInterval = float(sampling) * 1000.0
    params.QueueSize = addr.queue_size if addr.queue_size is not None else cfg.queue_size
    params.DiscardOldest = True
    flt = _filter(b)
    if flt is not None:
        params.Filter = flt
    req = ua.MonitoredItemCreateRequest()
    req.ItemToMonitor = ua.ReadValueId(NodeId=b.node_id, AttributeId=ua.AttributeIds.Value)
    req.MonitoringMode = ua.MonitoringMode.Reporting
    req.RequestedParameters = params
    return req


async def create(
    client: Client,
    groups: list[Group],
    cfg: OpcUaSourceConfig,
    handles: dict[int, Binding],
) -> None:
    """Create the subscriptions and their monitored items; refused items become faults on their bindings."""
    next_handle = 1
    for g in groups:
        params = ua.CreateSubscriptionParameters()
        params.RequestedPublishingInterval = g.publishing_interval * 1000.0
        # keep-alives at least every ~5 s (or every 3 intervals when slower) so a stalled subscription shows
        params.RequestedMaxKeepAliveCount = max(3, int(5.0 / g.publishing_interval))
        params.RequestedLifetimeCount = params.RequestedMaxKeepAliveCount * 3
        params.MaxNotificationsPerPublish = 0
        params.PublishingEnabled = True
        params.Priority = 0
        g.subscription = await client.create_subscription(
            params, queue_maxsize=_SUB_QUEUE, overflow=OverflowPolicy.DROP_OLDEST
        )
        for i in range(0, len(g.bindings), cfg.max_nodes_per_request):
            part = g.bindings[i : i + cfg.max_nodes_per_request]
            requests = []
            for b in part:
                handles[next_handle] = b
                requests.append(item_request(b, next_handle, cfg))
                next_handle += 1
            results = await g.subscription.create_monitored_items(requests)
            for b, res in zip(part, results, strict=True):
                if isinstance(res, ua.StatusCode):
                    name = status_name(res.value)
                    why = (
                        "the server does not know this node" if name == "BadNodeIdUnknown" else "monitored item refused"
                    )
                    b.fail(name, why)
                else:
                    g.items += 1


def to_sample(b: Binding, dv: ua.DataValue | None, adapter: str, read_time: datetime | None = None) -> Sample:
    """A sample carrying the server's value, status code and source timestamp unchanged."""
    pid = b.point.id
    if dv is None:
        return Sample.bad(pid, "BadNoData", "the server sent no value", adapter=adapter)
    sc = dv.StatusCode
    code = sc.value if sc is not None else 0
    status = "Good" if code == 0 else status_name(code)
    ts = dv.SourceTimestamp or dv.ServerTimestamp or read_time or utcnow()
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    quality = Quality.of_status(status)
    if quality is Quality.BAD:  # OPC UA: the value of a Bad DataValue is to be ignored
        return Sample(pid, None, ts, quality, status, status_doc(code), adapter)
    raw = dv.Value.Value if dv.Value is not None else None
    try:
        value = from_ua(raw, b.addr.index) if raw is not None else None
    except ValueProblem as exc:
        return Sample(pid, None, ts, Quality.BAD, exc.status, f"{b.where}: {exc.reason}", adapter)
    if quality is Quality.GOOD and value is None:
        return Sample(pid, None, ts, Quality.BAD, "BadNoData", f"{b.where}: the server sent an empty value", adapter)
    return Sample(pid, value, ts, quality, status, None if code == 0 else status_doc(code), adapter)


async def forward(
    sub: Subscription,
    *,
    handles: dict[int, Binding],
    adapter: str,
    emit: Callable[[Sample], None],
    lost: Callable[[str, str], None],
    counters: dict[str, int | float],
) -> None:
    """Turn one subscription's events into samples until it ends; a Bad status change reports a lost session."""
    async for ev in sub:
        if isinstance(ev, DataChangeEvent):
            item = ev.data.monitored_item
            b = handles.get(item.ClientHandle)
            if b is not None:
                counters["datachanges"] += 1
                emit(to_sample(b, item.Value, adapter))
        elif isinstance(ev, StatusChangeEvent):
            code = ev.notification.Status.value if ev.notification.Status is not None else 0
            name = status_name(code)
            if not name.startswith("Good"):
                lost(name, f"subscription {sub.subscription_id} ended: {name}")
                return
