"""The ``opcua`` adapter: one OPC UA client session bringing server variables into the twin.

``start()`` opens a secured session (see ``session.py``), resolves every point's node once (``resolve.py``),
then subscribes (``subscriptions.py``) or polls the points. Samples carry the server's StatusCode name and
SourceTimestamp unchanged. A point whose node is unknown or unreadable as mapped is reported Bad with the
reason and never stops the others. When the session is lost (socket closed, keep-alive read failing, a
subscription ending) ``samples()`` raises ``AdapterDisconnected``; the supervisor then calls ``stop()`` and,
after its backoff, ``start()`` again, which rebuilds session, subscriptions and monitored items.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState

from adapters.contract.adapter import Adapter, AdapterContext, AdapterDisconnected, AdapterUnavailable, WriteResult
from adapters.contract.config import SourceConfig
from adapters.contract.model import Point
from adapters.contract.polling import DropOldestQueue, LogOnce, next_due
from adapters.contract.sample import Sample, Value, utcnow
from adapters.contract.status import NO_COMMUNICATION, status_doc, status_name
from adapters.opcua.config import OpcUaAddress, OpcUaSourceConfig
from adapters.opcua.nodeids import NodeIdError
from adapters.opcua.resolve import Binding, Resolution, resolve, summarize_faults
from adapters.opcua.session import SessionInfo, SessionOpener
from adapters.opcua.subscriptions import Group, create, forward, plan, to_sample
from adapters.opcua.types import BUILTIN, ValueProblem, to_variant

_QUEUE_MAX = 100_000
_WAKE = object()  # wakes samples() after a loss or stop
_COUNTERS = ("samples", "datachanges", "polls", "read_errors", "dropped", "writes", "write_errors", "connects")
_SESSION_COUNTERS = ("subscriptions", "monitored_items", "faulted_points")


class OpcUaAdapter(Adapter):
    """OPC UA client: subscriptions or polling, secure sessions, write-back."""

    kind = "opcua"
    config_model = OpcUaSourceConfig
    address_model = OpcUaAddress
    supports_write = True
    push_based = True
    discovery = "adapters.opcua.discover:main"  # twinbridge discover opcua: browse a server into a draft

    config: OpcUaSourceConfig

    def __init__(self, config: OpcUaSourceConfig, points: Sequence[Point], context: AdapterContext) -> None:
        super().__init__(config, points, context)
        self._opener = SessionOpener(config, context.base_dir, self.log)
        self._client: Client | None = None
        self._info: SessionInfo | None = None
        self._resolution: Resolution | None = None
        self._bindings: dict[str, Binding] = {}
        self._handles: dict[int, Binding] = {}
        self._groups: list[Group] = []
        self._poll_groups: dict[float, list[Binding]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._queue: DropOldestQueue[Any] = DropOldestQueue(maxsize=_QUEUE_MAX)
        self._running = False
        self._lost: tuple[str, str] | None = None
        self._log_once = LogOnce(self.log)  # unit mismatches, once each
        self.counters = dict.fromkeys(_COUNTERS + _SESSION_COUNTERS, 0)

    # -- config-time checks ------------------------------------------------------------------------
    @classmethod
    def check_point(cls, config: SourceConfig, point: Point) -> list[str]:
        """Browse-path prefixes must be declared; deadbands need numeric points."""
        assert isinstance(config, OpcUaSourceConfig)
        addr = point.address
        assert isinstance(addr, OpcUaAddress)
        problems: list[str] = []
        try:
            path = addr.path
        except NodeIdError as exc:  # already reported by the address model; keep the message
            return [str(exc)]
        if path is not None:
            for prefix in sorted(path.prefixes() - set(config.namespaces)):
                known = ", ".join(sorted(config.namespaces)) or "none declared"
                problems.append(
                    f"browse path uses namespace prefix '{prefix}' which source {config.id} does not declare in "
                    f"namespaces: (declared: {known})"
                )
        if addr.deadband is not None and not point.datatype.is_numeric:
            problems.append(f"a deadband needs a numeric point (this one is {point.datatype.value})")
        mode = addr.mode or config.mode
        if mode == "poll" and addr.deadband is not None:
            problems.append("a deadband only applies to subscribed points (this one is polled)")
        return problems

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the session, resolve nodes, create subscriptions and pollers."""
        self._queue = DropOldestQueue(maxsize=_QUEUE_MAX)
        self._lost = None
        client, info = await self._opener.open()
        try:
            res = await resolve(client, self.config, self.points.values(), self.context.units)
            self._client, self._info, self._resolution = client, info, res
            self._bindings = dict(res.bindings)
            self._report_mismatches(res.mismatches)
            await self._acquire(client, list(res.bindings.values()))
        except (ua.UaError, OSError, TimeoutError, ConnectionError) as exc:
            await self._close(client)
            self._client = None
            status = status_name(exc.code) if isinstance(exc, ua.UaStatusCodeError) else "BadCommunicationError"
            raise AdapterUnavailable(
                f"{self.config.url}: setting up nodes failed: {exc or type(exc).__name__}", status=status
            ) from None
        self._running = True
        self.counters["connects"] += 1
        client.connection_lost_callback = self._connection_lost
        self._spawn(self._watch_state(client), "state")
        self._emit_faults(self._bindings.values())

    async def _acquire(self, client: Client, bindings: list[Binding]) -> None:
        """Subscribe or poll every servable binding (called at start and for points added at run time)."""
        cfg = self.config
        subscribed = [b for b in bindings if b.fault is None and (b.addr.mode or cfg.mode) == "subscribe"]
        polled = [b for b in bindings if b.fault is None and (b.addr.mode or cfg.mode) == "poll"]
        groups = plan(subscribed, cfg)
        await create(client, groups, cfg, self._handles)
        self._groups += groups
        for g in groups:
            assert g.subscription is not None
            self._spawn(
                forward(
                    g.subscription,
                    handles=self._handles,
                    adapter=self.name,
                    emit=self._emit,
                    lost=self._mark_lost,
                    counters=self.counters,
                ),
                f"subscription {g.subscription.subscription_id}",
            )
        new_intervals: dict[float, list[Binding]] = {}
        for b in polled:
            new_intervals.setdefault(b.addr.poll_interval or cfg.poll_interval, []).append(b)
        for interval, members in new_intervals.items():
            self._poll_groups.setdefault(interval, []).extend(members)
            self._spawn(self._poll(client, members, interval), f"poll {interval:g}s")
        self.counters["subscriptions"] = len(self._groups)
        self.counters["monitored_items"] = sum(g.items for g in self._groups)
        self.counters["faulted_points"] = sum(1 for b in self._bindings.values() if b.fault is not None)

    async def stop(self) -> None:
        """Cancel pollers and forwarders, close the session; idempotent."""
        self._running = False
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        client, self._client = self._client, None
        if client is not None:
            client.connection_lost_callback = None
            if self._lost is not None:
                # the peer is gone or silent: close the transport first so closing the session fails fast
                # (asyncua's disconnect_socket() is a no-op once its watchdog marked the client disconnected)
                proto = client.uaclient.protocol
                if proto is not None:
                    proto.disconnect_socket()
            await self._close(client)
        self._groups, self._handles, self._poll_groups = [], {}, {}
        self._wake()

    async def _close(self, client: Client) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), timeout=min(3.0, self.config.request_timeout))
        except Exception as exc:  # the server may be gone already; nothing to clean up remotely then
            self.log.debug("source %s: disconnect: %s", self.name, exc)

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"opcua:{self.name}:{name}"))

    # -- samples -----------------------------------------------------------------------------------
    async def samples(self) -> AsyncIterator[Sample]:
        """Yield samples until stopped; raise ``AdapterDisconnected`` when the session is lost."""
        while True:
            if self._lost is not None:
                status, reason = self._lost
                raise AdapterDisconnected(reason, status=status)
            if not self._running:
                return
            item = await self._queue.get()
            if item is not _WAKE:
                yield item

    def _emit(self, sample: Sample) -> None:
        if self._queue.offer(sample):
            self.counters["dropped"] += 1
        self.counters["samples"] += 1

    def _wake(self) -> None:
        self._queue.put_nowait(_WAKE)  # room is made when full: the reader must wake

    def _mark_lost(self, status: str, reason: str) -> None:
        if self._lost is None and self._running:
            self._lost = (status, f"{reason} ({self.config.url})")
            self._wake()

    async def _connection_lost(self, exc: Exception) -> None:
        status = "BadTimeout" if isinstance(exc, TimeoutError | asyncio.TimeoutError) else "BadCommunicationError"
        what = (
            "keep-alive read timed out" if status == "BadTimeout" else f"connection lost: {exc or type(exc).__name__}"
        )
        self._mark_lost(status, what)

    async def _watch_state(self, client: Client) -> None:
        async with client.subscribe_state() as states:
            while self._running:
                if client.state in (UaClientState.DISCONNECTED, UaClientState.DISCONNECTING):
                    self._mark_lost("BadCommunicationError", "connection closed by the server")
                    return
                await states.next_change()

    def _emit_faults(self, bindings: Any) -> None:
        now = utcnow()
        for b in bindings:
            if b.fault is not None:
                status, reason = b.fault
                self._emit(Sample.bad(b.point.id, status, reason, adapter=self.name, source_ts=now))

    def _report_mismatches(self, mismatches: list[str]) -> None:
        for m in mismatches:
            self._log_once(m, "source %s: %s", self.name, m)

    # -- polling -----------------------------------------------------------------------------------
    async def _poll(self, client: Client, bindings: list[Binding], interval: float) -> None:
        chunk = self.config.max_nodes_per_request
        parts = [bindings[i : i + chunk] for i in range(0, len(bindings), chunk)]
        due = time.monotonic()
        while self._running:
            for part in parts:
                params = ua.ReadParameters()
                params.MaxAge = 0
                params.TimestampsToReturn = ua.TimestampsToReturn.Both
                params.NodesToRead = [ua.ReadValueId(NodeId=b.node_id, AttributeId=ua.AttributeIds.Value) for b in part]
                read_time = utcnow()
                try:
                    results = await client.uaclient.read(params)
                except ua.UaStatusCodeError as exc:
                    self._poll_failed(part, status_name(exc.code), f"read refused: {status_name(exc.code)}")
                    continue
                except TimeoutError:
                    self._poll_failed(
                        part, "BadTimeout", f"no answer to the read within {self.config.request_timeout:g} s"
                    )
                    continue
                except (ConnectionError, OSError) as exc:
                    self._mark_lost("BadCommunicationError", f"read failed: {exc or type(exc).__name__}")
                    return
                self.counters["polls"] += 1
                for b, dv in zip(part, results, strict=True):
                    self._emit(to_sample(b, dv, self.name, read_time))
            now = time.monotonic()
            due = next_due(due, interval, now)  # a slow server: skip missed cycles instead of bursting
            await asyncio.sleep(due - now)

    def _poll_failed(self, part: list[Binding], status: str, reason: str) -> None:
        self.counters["read_errors"] += 1
        for b in part:
            self._emit(Sample.bad(b.point.id, status, f"{b.where}: {reason}", adapter=self.name))

    # -- write-back --------------------------------------------------------------------------------
    async def write(self, point: Point, value: Value) -> WriteResult:
        """Write the node with its own DataType; the server's status name comes back verbatim."""
        client = self._client
        if client is None or not self._running or self._lost is not None:
            return WriteResult(NO_COMMUNICATION, f"source {self.name} is not connected to {self.config.url}")
        b = self._bindings.get(point.id)
        if b is None:
            return WriteResult("BadNodeIdUnknown", f"source {self.name} does not serve point {point.id}")
        if b.fault is not None:
            return WriteResult(*b.fault)
        self.counters["writes"] += 1
        try:
            variant = await self._variant(client, b, value)
            wv = ua.WriteValue(
                NodeId=b.node_id, AttributeId=ua.AttributeIds.Value, Value=ua.DataValue(variant, StatusCode=None)
            )
            results = await client.uaclient.write(ua.WriteParameters(NodesToWrite=[wv]))
        except ValueProblem as exc:
            self.counters["write_errors"] += 1
            return WriteResult(exc.status, f"{b.where}: {exc.reason}")
        except ua.UaStatusCodeError as exc:
            self.counters["write_errors"] += 1
            return WriteResult(status_name(exc.code), f"{b.where}: the server refused the write")
        except TimeoutError:
            self.counters["write_errors"] += 1
            return WriteResult("BadTimeout", f"{b.where}: no answer within {self.config.request_timeout:g} s")
        except (ConnectionError, OSError) as exc:
            self.counters["write_errors"] += 1
            return WriteResult("BadCommunicationError", f"{b.where}: {exc or type(exc).__name__}")
        code = results[0].value
        if code & 0xC0000000:
            self.counters["write_errors"] += 1
            return WriteResult(status_name(code), f"{b.where}: {status_doc(code) or 'refused by the server'}")
        return WriteResult(status_name(code))

    async def _variant(self, client: Client, b: Binding, value: Value) -> ua.Variant:
        """The Variant for ``value``: the node's built-in type, or the type of its current value when abstract."""
        assert b.builtin is not None
        if b.addr.index is None and b.builtin.variant is not None:
            return to_variant(value, b.builtin)
        current = await self._read_value(client, b)
        vt = current.VariantType
        elem = BUILTIN.get(vt.value)
        if elem is None or elem.variant is None:
            raise ValueProblem("BadTypeMismatch", f"cannot write the node's current type {vt.name}")
        if b.addr.index is None:
            return to_variant(value, elem)
        # one element of an array: read-modify-write of the whole array (see docs/opcua-client.md)
        items = list(current.Value or [])
        if b.addr.index >= len(items):
            raise ValueProblem("BadIndexRangeNoData", f"the array has {len(items)} elements")
        items[b.addr.index] = to_variant(value, elem).Value
        return ua.Variant(items, vt, is_array=True)

    async def _read_value(self, client: Client, b: Binding) -> ua.Variant:
        params = ua.ReadParameters()
        params.NodesToRead = [ua.ReadValueId(NodeId=b.node_id, AttributeId=ua.AttributeIds.Value)]
        dv = (await client.uaclient.read(params))[0]
        if dv.StatusCode is not None and not dv.StatusCode.is_good():
            raise ValueProblem(status_name(dv.StatusCode.value), "cannot read the node's current value to write it")
        if dv.Value is None or dv.Value.Value is None:
            raise ValueProblem("BadTypeMismatch", "the node has no value to learn its type from")
        return dv.Value

    # -- run-time additions and reporting ----------------------------------------------------------
    def add_points(self, points: Sequence[Point]) -> None:
        """Serve points added at run time: resolved and subscribed on the current session, if any."""
        super().add_points(points)
        client = self._client
        if client is not None and self._running:
            self._spawn(self._add_running(client, list(points)), "add points")

    async def _add_running(self, client: Client, points: list[Point]) -> None:
        try:
            res = await resolve(client, self.config, points, self.context.units)
            self._bindings.update(res.bindings)
            self._report_mismatches(res.mismatches)
            await self._acquire(client, list(res.bindings.values()))
            self._emit_faults(res.bindings.values())
        except (ua.UaError, OSError, TimeoutError, ConnectionError) as exc:
            self._mark_lost("BadCommunicationError", f"subscribing new points failed: {exc}")

    def describe(self) -> dict[str, Any]:
        """Session, subscriptions, faulted points and unit mismatches (no credentials)."""
        info = self._info
        out: dict[str, Any] = {"url": self.config.url, "connected": self._running and self._lost is None}
        if info is not None:
            out["security"] = f"{info.policy}/{info.mode}"
            out["identity"] = info.identity
            out["server_uri"] = info.server_uri
            out["server_certificate"] = info.server_certificate
            out["client_certificate"] = info.client_certificate
        out["subscriptions"] = [
            {
                "id": g.subscription.subscription_id if g.subscription else None,
                "publishing_interval": g.publishing_interval,
                "items": g.items,
            }
            for g in self._groups
        ]
        out["polled"] = {f"{k:g}s": len(v) for k, v in self._poll_groups.items()}
        out["faulted_points"] = summarize_faults(self._bindings)
        out["unit_mismatches"] = list(self._resolution.mismatches) if self._resolution else []
        return out
