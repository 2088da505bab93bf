"""The ``modbus`` adapter: polls a device's points in coalesced block reads and writes values back.

A source is one device (or one unit id) on a shared ``Link`` (see ``transport``). Each poll interval is a
group of planned blocks (see ``blocks``); a cycle reads every block and yields one sample per point. A fault
marks only the points it touches: a timeout marks the unit's points ``BadTimeout`` (its other blocks are not
tried again that cycle, so a dead device on a bus costs one timeout per cycle), an exception response marks the
block's points with the exception's status, and an illegal-address refusal splits the block until the
missing registers are isolated. Only a lost connection ends ``samples()`` with ``AdapterDisconnected``; the
supervisor then reconnects with backoff. Faults are logged once when they start and once when they end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from adapters.contract.adapter import Adapter, AdapterContext, AdapterDisconnected, AdapterUnavailable, WriteResult
from adapters.contract.config import SourceConfig
from adapters.contract.model import Point
from adapters.contract.polling import next_due
from adapters.contract.sample import Quality, Sample, Value, utcnow
from adapters.contract.status import NO_COMMUNICATION
from adapters.modbus import binding, checks
from adapters.modbus.binding import Binding, PollGroup
from adapters.modbus.blocks import Block, Item, Limits, plan, split
from adapters.modbus.codec import EncodeError, decode
from adapters.modbus.config import TABLES, ModbusAddress, ModbusSourceConfig
from adapters.modbus.protocol import ExceptionReply, LinkConflict, LinkDown, ModbusFault, Request, RequestTimeout
from adapters.modbus.transport import Link, acquire, release

_GOLDEN = 0.6180339887  # spreads the first polls of the sources on one link evenly, whatever their number


class ModbusAdapter(Adapter):
    """Modbus TCP / RTU / RTU-over-TCP client with block reads, fault isolation and write-back."""

    kind = "modbus"
    config_model = ModbusSourceConfig
    address_model = ModbusAddress
    supports_write = True
    push_based = False

    config: ModbusSourceConfig

    def __init__(self, config: ModbusSourceConfig, points: Sequence[Point], context: AdapterContext) -> None:
        super().__init__(config, points, context)
        self._bindings: dict[str, Binding] = {}
        self._misconfigured: dict[str, str] = {}
        self._groups: dict[float, PollGroup] = {}
        self._link: Link | None = None
        self._running = False
        self._lost: str | None = None
        self._wake = asyncio.Event()
        self._reported: dict[str, tuple[str, str | None]] = {}  # last Bad status sent per point (no repeats)
        self._faults: dict[str, tuple[str, float]] = {}  # fault key -> (reason, since): logged once per change
        self._limits = Limits(config.max_registers, config.max_bits, config.max_gap, config.max_bit_gap)
        self.counters = dict.fromkeys(
            (
                "requests",
                "responses",
                "timeouts",
                "exceptions",
                "garbled",
                "stale_replies",
                "splits",
                "poll_cycles",
                "last_cycle_ms",
                "last_cycle_requests",
                "planned_requests",
                "samples",
                "bad_samples",
                "writes",
                "write_errors",
                "connects",
            ),
            0,
        )
        self._bind(points)

    # -- config-time checks ----------------------------------------------------------------------------------------
    @classmethod
    def check_point(cls, config: SourceConfig, point: Point) -> list[str]:
        """Encoding against datatype, request size limits."""
        assert isinstance(config, ModbusSourceConfig)
        return checks.check_point(config, point)

    @classmethod
    def check_source(cls, config: SourceConfig, points: Sequence[Point]) -> list[tuple[str | None, str]]:
        """Partly overlapping registers and points inside declared holes."""
        assert isinstance(config, ModbusSourceConfig)
        return checks.check_source(config, points)

    # -- binding and planning --------------------------------------------------------------------------------------
    def _bind(self, points: Sequence[Point]) -> None:
        for p in points:
            try:
                self._bindings[p.id] = binding.bind(self.config, p)
            except ValueError as exc:
                self._misconfigured[p.id] = str(exc)
        self._replan()

    def _replan(self) -> None:
        by_interval: dict[float, list[Item]] = {}
        for b in self._bindings.values():
            by_interval.setdefault(b.interval, []).append(b.item)
        old = self._groups
        self._groups = {
            iv: PollGroup(iv, plan(items, self._limits, self.config.holes), old[iv].due if iv in old else 0.0)
            for iv, items in by_interval.items()
        }
        self.counters["planned_requests"] = sum(len(g.blocks) for g in self._groups.values())

    def add_points(self, points: Sequence[Point]) -> None:
        """Poll points added at run time."""
        super().add_points(points)
        self._bind(points)
        self._wake.set()

    # -- lifecycle ------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Join (or open) the shared connection of this source's endpoint."""
        cfg = self.config
        self._lost = None
        self._reported.clear()
        try:
            link = acquire(cfg.link)
        except LinkConflict as exc:
            raise AdapterUnavailable(exc.reason, retryable=False, status=exc.status) from None
        if link.users == 1:
            link.reconnect_after = cfg.reconnect_after_timeouts
        link.frame_gap = max(link.frame_gap, cfg.frame_gap or 0.0)
        try:
            await link.open(cfg.connect_timeout)
        except LinkDown as exc:
            release(link)
            raise AdapterUnavailable(exc.reason) from None
        self._link = link
        link.listen(self._on_lost)
        self._running = True
        self.counters["connects"] += 1
        # stagger: the n-th source on a link starts its cycle a golden-ratio fraction of a second later
        phase = ((link.users - 1) * _GOLDEN) % 1.0
        now = time.monotonic()
        for g in self._groups.values():
            g.due = now + phase * min(g.interval, 1.0)

    async def stop(self) -> None:
        """Leave the shared connection (the last source closes it)."""
        self._running = False
        self._wake.set()
        link, self._link = self._link, None
        if link is not None:
            link.unlisten(self._on_lost)
            release(link)

    def _on_lost(self, reason: str) -> None:
        self._lost = reason
        self._wake.set()

    # -- polling --------------------------------------------------------------------------------------------------
    async def samples(self) -> AsyncIterator[Sample]:
        """Poll every group when due; a lost connection raises ``AdapterDisconnected``."""
        for pid, reason in self._misconfigured.items():
            yield self._bad(pid, "BadConfigurationError", reason)
        task = asyncio.current_task()
        while self._running:
            if task is not None and task.cancelling():
                # Python 3.11's wait_for (here and inside pymodbus) can swallow a cancellation that races with a
                # reply; at a 1 ms poll interval that happens, so a pending cancel is honoured here.
                raise asyncio.CancelledError
            if self._lost is not None:
                raise AdapterDisconnected(self._lost)
            now = time.monotonic()
            group = min(self._groups.values(), key=lambda g: g.due, default=None)
            delay = 3600.0 if group is None else group.due - now
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                self._wake.clear()
                continue
            assert group is not None
            group.due = next_due(group.due, group.interval, now)  # a late cycle skips slots, never bursts
            for sample in await self._poll(group):
                yield sample

    async def _poll(self, group: PollGroup) -> list[Sample]:
        link = self._link
        if link is None:
            raise AdapterDisconnected(f"source {self.name} is stopped")
        t0 = time.monotonic()
        requests0 = self.counters["requests"]
        out: list[Sample] = []
        silent: dict[int, str] = {}  # units that did not answer this cycle
        blocks = group.blocks
        i = 0
        while i < len(blocks):
            block = blocks[i]
            if block.unit in silent:
                self._bad_block(block, "BadTimeout", silent[block.unit], out)
            elif (halves := await self._read(link, block, silent, out)) is not None:
                blocks[i : i + 1] = halves  # the halves replace the block for good
                continue
            i += 1
        c = self.counters
        c["poll_cycles"] += 1
        c["last_cycle_requests"] = c["requests"] - requests0
        c["last_cycle_ms"] = round((time.monotonic() - t0) * 1000, 3)
        return out

    async def _read(self, link: Link, block: Block, silent: dict[int, str], out: list[Sample]) -> list[Block] | None:
        """Read one block into ``out``; the two halves to read instead when the device refused its addresses."""
        try:
            resp = await link.execute(
                Request(TABLES[block.table].read_fc, block.unit, block.start, block.count),
                timeout=max(self._bindings[it.point].timeout for it in block.items),
                retries=max(self._bindings[it.point].retries for it in block.items),
                counters=self.counters,
            )
        except LinkDown as exc:
            raise AdapterDisconnected(exc.reason) from None
        except ExceptionReply as exc:
            halves = split(block) if exc.code in (2, 3) else None
            if halves is not None:  # isolate the refused addresses
                self.counters["splits"] += 1
                self.counters["planned_requests"] += 1
                self.log.info(
                    "source %s: %s refused (%s); split into %s and %s",
                    self.name,
                    block.describe(),
                    exc.name,
                    halves[0].describe(),
                    halves[1].describe(),
                )
                return halves
            self._fault(f"block {block.describe()}", exc.status, self._where(exc.reason))
            self._bad_block(block, exc.status, self._where(exc.reason), out)
        except RequestTimeout as exc:
            reason = self._where(exc.reason)
            silent[block.unit] = self._where(f"unit {block.unit} did not reply to an earlier request this cycle")
            self._fault(f"unit {block.unit}", exc.status, reason)
            self._bad_block(block, exc.status, reason, out)
        except ModbusFault as exc:  # garbled reply: this block only
            self._fault(f"block {block.describe()}", exc.status, self._where(exc.reason))
            self._bad_block(block, exc.status, self._where(exc.reason), out)
        else:
            self._clear(f"unit {block.unit}")
            self._clear(f"block {block.describe()}")
            self._decode_block(block, resp.bits if TABLES[block.table].is_bit else resp.registers, out)
        return None

    def _decode_block(self, block: Block, data: Sequence[Any], out: list[Sample]) -> None:
        ts = utcnow()
        name = self.name
        bit_table = TABLES[block.table].is_bit
        for it in block.items:
            off = it.start - block.start
            try:
                value: Value = (
                    bool(data[off]) if bit_table else decode(self._bindings[it.point].spec, data[off : off + it.count])
                )
            except (ValueError, IndexError) as exc:  # defensive: a codec bug must not stop the others
                out.append(self._bad(it.point, "BadDecodingError", self._where(f"cannot decode: {exc}")))
                continue
            self._reported.pop(it.point, None)
            out.append(Sample(it.point, value, ts, Quality.GOOD, "Good", None, name))
        self.counters["samples"] += len(block.items)

    def _bad_block(self, block: Block, status: str, reason: str, out: list[Sample]) -> None:
        for it in block.items:
            if self._reported.get(it.point) != (status, reason):
                out.append(self._bad(it.point, status, reason))

    def _bad(self, pid: str, status: str, reason: str) -> Sample:
        self._reported[pid] = (status, reason)
        self.counters["bad_samples"] += 1
        return Sample.bad(pid, status, reason, adapter=self.name)

    def _where(self, reason: str) -> str:
        return f"{reason} ({self.config.link.url()})"

    def _fault(self, key: str, status: str, reason: str) -> None:
        known = self._faults.get(key)
        if known is None or known[0] != reason:
            self.log.warning("source %s: %s: %s", self.name, status, reason)
            self._faults[key] = (reason, known[1] if known else time.monotonic())

    def _clear(self, key: str) -> None:
        known = self._faults.pop(key, None)
        if known is not None:
            self.log.info("source %s: %s recovered after %.1f s", self.name, key, time.monotonic() - known[1])

    # -- write-back -----------------------------------------------------------------------------------------------
    async def write(self, point: Point, value: Value) -> WriteResult:
        """Encode ``value`` (raw, already inverse-transformed) and write it with FC5/6/15/16."""
        b = self._bindings.get(point.id)
        if b is None:
            reason = self._misconfigured.get(point.id, "not a point of this source")
            return WriteResult(
                "BadNodeIdUnknown" if point.id not in self._misconfigured else "BadConfigurationError", reason
            )
        if not TABLES[b.table].writable:
            return WriteResult("BadNotWritable", f"{point.id} is a read-only {b.table.value} point")
        link = self._link
        if link is None or not self._running or self._lost is not None:
            return WriteResult(NO_COMMUNICATION, self._where(f"source {self.name} is not connected"))
        try:
            await binding.write(link, b, value, self.counters)
        except EncodeError as exc:
            self.counters["write_errors"] += 1
            return WriteResult(exc.status, f"{point.id}: {exc.reason}")
        except LinkDown as exc:
            self.counters["write_errors"] += 1
            self._on_lost(exc.reason)
            return WriteResult("BadCommunicationError", exc.reason)
        except ModbusFault as exc:
            self.counters["write_errors"] += 1
            return WriteResult(exc.status, self._where(exc.reason))
        self.counters["writes"] += 1
        group = self._groups.get(b.interval)
        if group is not None:  # read it back soon so the twin shows the device's value
            group.due = min(group.due, time.monotonic())
            self._wake.set()
        return WriteResult("Good")

    # -- introspection --------------------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Connection, request plan and current faults."""
        return {
            "endpoint": self.config.link.url(),
            "link": self._link.describe() if self._link is not None else None,
            "groups": [
                {"interval": g.interval, "requests": len(g.blocks), "blocks": [b.describe() for b in g.blocks]}
                for g in self._groups.values()
            ],
            "faults": {k: v[0] for k, v in self._faults.items()},
            "misconfigured": dict(self._misconfigured),
        }
