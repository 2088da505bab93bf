"""Store-and-forward for one (broker, channel): publish the twin's changes live, or buffer them, and replay in order.

The forwarder follows the twin's changes of its channel's points through a ``drop_oldest`` subscription (every
change is kept, none conflated away; what the twin has to drop when the forwarder falls that far behind is
counted). It publishes a change live only when the link is connected, the channel is ready and nothing waits in
the buffer; otherwise the change goes to the buffer, behind everything already there. When it may publish again
it replays the buffer oldest first (``channel.encode(..., historical=True)``) at ``replay_rate`` values/s, deleting
rows only once the broker acknowledged them, and then continues live. Values that arrive during the replay go
behind the backlog, so each point's values reach the broker in the order the twin saw them.

Batches sent live and not yet acknowledged when the link drops come back from the link (``lost``) and are
buffered before anything newer: while live batches are in flight, new values wait in memory (in the
subscription) until they are acknowledged or come back. QoS 0 messages are not acknowledged; what the socket held
at a drop is lost (MQTT's "at most once").

Buffer I/O (SQLite) runs on one thread per forwarder, so a slow disk never stalls the event loop, and in the order
it was asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from adapters.contract.sample import PointState
from gateway.northbound.mqtt.buffer import StateBuffer
from gateway.northbound.mqtt.channel import Channel
from gateway.northbound.mqtt.link import Batch, BrokerLink

if TYPE_CHECKING:
    from gateway.twin.events import Subscription
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.mqtt_north")

CHUNK = 500  # states encoded and sent together (one socket write, one acknowledgement batch)
QUEUE_SIZE = 1_000_000  # changes the twin keeps for a forwarder that waits (for acknowledgements, the disk)
PURGE_EVERY = 5.0  # seconds between checks for values older than max_age


class Forwarder:
    """Moves one channel's changes to its broker, through the on-disk buffer when it cannot publish."""

    def __init__(
        self,
        link: BrokerLink,
        channel: Channel,
        buffer: StateBuffer,
        view: TwinView,
        *,
        replay_rate: float = 20_000,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.link = link
        self.channel = channel
        self.buffer = buffer
        self.view = view
        self.replay_rate = replay_rate
        self.queue_size = queue_size
        self.name = f"{link.name}/{channel.name}"
        self.counters = {"published": 0, "buffered": 0, "replayed": 0, "encode_failed": 0}
        self.last_replay: dict[str, float] = {}  # values, seconds, values/s of the last completed replay
        self._io = ThreadPoolExecutor(1, thread_name_prefix=f"mqtt-buffer-{self.name}")
        self._pending: list[PointState] = []  # taken from the subscription, neither sent nor stored yet
        self._backlog = buffer.count > 0  # rows the replay has not read yet
        self._gen = 0  # appends asked for (a replay that saw the end is only done if none came since)
        self._epoch = 0  # drops seen: a replay step begun before one is stale
        # the UNS sends every current value after each reconnect (a broker without persistence lost its retained)
        self._republish = bool(getattr(channel, "republish_on_connect", False))
        self._connects_seen = 0  # the link's connects when last looked at: more means a reconnect
        self._snapshot_due = False
        self._cursor = 0  # the last row sent by the replay
        self._ahead: tuple[int, int, int, Future[Any]] | None = None  # (cursor, epoch, gen, read) of the next rows
        self._live_inflight = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._wake = asyncio.Event()
        self._sub: Subscription | None = None
        self._known: set[str] = set()  # the points subscribed to
        self._getter: asyncio.Future[list[PointState]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._dropped_before = 0  # changes dropped by subscriptions since replaced
        self._replay_at = 0.0  # when the next replay chunk is due (pacing)
        self._replay_start: tuple[float, int] | None = None
        self._purged_at = 0.0
        self._io_failed = False

    # -- state ----------------------------------------------------------------------------------------
    @property
    def dropped_queue(self) -> int:
        """Changes the twin dropped because this forwarder fell ``queue_size`` behind."""
        return self._dropped_before + (self._sub.dropped if self._sub is not None else 0)

    def dropped(self) -> dict[str, int]:
        """Values lost, by reason: the buffer full or too old, the twin's queue overflowing, not encodable."""
        full, old = self.buffer.dropped_full, self.buffer.dropped_age
        return {
            "buffer_full": full,
            "too_old": old,
            "queue": self.dropped_queue,
            "encode": self.counters["encode_failed"],
        }

    def can_publish(self) -> bool:
        """Whether the link and the channel take values now."""
        return self.link.connected and self.channel.ready()

    @property
    def state(self) -> str:
        """``live``, ``replaying`` (the buffer is being sent) or ``buffering`` (cannot publish)."""
        return "buffering" if not self.can_publish() else "replaying" if self._backlog else "live"

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Subscribe to the channel's points and run; with an empty buffer, their current values go first."""
        self._known = set(self.channel.points)
        self._sub = self.view.subscribe(self._known, maxsize=self.queue_size, overflow="drop_oldest")
        self._connects_seen = self.link.counters["connects"]
        self._pending = [] if self._backlog else self._snapshot()
        self._snapshot_due = self._republish and self._backlog  # with a backlog: the unchanged values after it
        self.channel.on_ready_change = self._ready_changed
        self.link.add_listener(self.wake)
        self._task = asyncio.create_task(self._run(), name=f"mqtt-forward-{self.name}")

    def _snapshot(self) -> list[PointState]:
        current = self.view.states()
        return [s for p in sorted(self._known) if (s := current.get(p)) is not None and s.source_ts]

    def _republish_after_connect(self) -> None:
        """After a reconnect, queue every current value once more (UNS): first what the subscription holds, so no
        older change comes after the snapshot; then pending goes live, or behind the backlog when there is one."""
        connects = self.link.counters["connects"]
        if self._connects_seen and connects != self._connects_seen:  # not the first connect: start() saw to it
            self._snapshot_due = self._republish
        self._connects_seen = connects
        if not self._snapshot_due or not self.can_publish() or self._sub is None:
            return
        self._snapshot_due = False
        self._pending += [*self._sub.get_nowait(), *self._snapshot()]  # no getter is out between two waits

    def _follow_points(self) -> None:
        """The channel publishes more points (added at run time, as its selection picks them): subscribe to them
        too, their current values first (changes before the channel took them were not ours to see)."""
        old = self._sub
        if old is None or len(self.channel.points) == len(self._known):
            return
        new = set(self.channel.points) - self._known
        self._known = set(self.channel.points)
        self._take_getter()
        self._pending.extend(old.get_nowait())
        self._dropped_before += old.dropped
        self._sub = self.view.subscribe(self._known, maxsize=self.queue_size, overflow="drop_oldest")
        old.close()
        for pid in sorted(new):
            with contextlib.suppress(KeyError):
                state = self.view.state(pid)
                if state.source_ts is not None:
                    self._pending.append(state)

    async def pause(self) -> None:
        """Stop sending (before the link stops); what was taken stays pending for ``close``."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._take_getter()

    async def close(self) -> None:
        """Buffer what is still pending or queued (after the link stopped and handed back its unacknowledged
        batches), then close the buffer."""
        sub, self._sub = self._sub, None
        if sub is not None:
            self._pending.extend(sub.get_nowait())
            self._dropped_before += sub.dropped
            sub.close()
        states, self._pending = self._pending, []
        if states:
            self._append(states)
        with contextlib.suppress(Exception):
            await asyncio.wrap_future(self._io.submit(self.buffer.close))
        self._io.shutdown(wait=False)

    def wake(self) -> None:
        """Look at the link and channel again (connected, dropped, ready)."""
        self._wake.set()

    def _ready_changed(self, ready: bool) -> None:
        self.wake()

    def _take_getter(self) -> None:
        getter, self._getter = self._getter, None
        if getter is None:
            return
        if getter.done() and not getter.cancelled():
            self._pending.extend(getter.result())
        else:
            getter.cancel()  # it took nothing: Subscription.get only takes once it resumes

    # -- the loop -------------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                self._republish_after_connect()
                if self._backlog and self.can_publish():
                    await self._replay_chunk()
                    continue
                await self._wait_input()
                if not self._pending:
                    continue
                if not self._backlog and self.can_publish():
                    await self._publish_live()
                else:
                    await self._store_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mqtt %s: the forwarder failed; going on", self.name)
                await asyncio.sleep(1.0)

    async def _wait_input(self) -> None:
        self._follow_points()
        sub = self._sub
        assert sub is not None
        if sub.pending:
            self._pending.extend(sub.get_nowait())
            return
        if self._pending:
            return
        if self._getter is None:
            self._getter = asyncio.ensure_future(sub.get())
        getter = self._getter
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((getter, waker), timeout=PURGE_EVERY, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waker.cancel()
        self._wake.clear()
        # no getter outlives the wait: one left waiting would take the next changes in the background while the
        # replay takes later ones with get_nowait, and hand them over out of order
        self._take_getter()
        self._purge_now_and_then()

    async def _publish_live(self) -> None:
        link = self.link
        while self._pending:
            if self._backlog or not self.can_publish():
                await self._store_pending()
                return
            chunk = self._pending[:CHUNK]
            messages = self._encode(chunk, historical=False)
            if messages is None:
                del self._pending[: len(chunk)]
                continue
            if not await link.wait_window(sum(1 for m in messages if m.qos)):
                continue  # dropped while waiting: buffered on the next turn
            if self._backlog or not self.can_publish():
                continue
            self._live_inflight += 1
            self._settled.clear()
            if not link.send(messages, Batch(self, chunk)):
                self._live_finished(1)
                continue
            del self._pending[: len(chunk)]

    async def _store_pending(self) -> None:
        """Put the pending states at the end of the buffer, once no live batch can still come back before them
        (each is acknowledged, or handed back when the link drops)."""
        while self._live_inflight:
            await self._settled.wait()
        states, self._pending = self._pending, []
        if states:
            await asyncio.wrap_future(self._append(states))

    async def _replay_chunk(self) -> None:
        """Send the next rows of the buffer (paced at ``replay_rate``); arrivals meanwhile go behind them."""
        epoch = self._epoch
        if self._replay_start is None:
            self._replay_start = (time.monotonic(), self.counters["replayed"])
            log.info("mqtt %s: replaying %d buffered value(s)", self.name, self.buffer.count)
        limit = max(1, min(CHUNK, int(self.replay_rate / 10) or 1))
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[:2] == (self._cursor, epoch):
            gen, reading = ahead[2], ahead[3]  # read while the previous chunk was sent
        else:
            gen, reading = self._gen, self._io.submit(self.buffer.read, self._cursor, limit)
        rows = await asyncio.wrap_future(reading)
        if epoch != self._epoch or not self.can_publish():
            return  # the link dropped meanwhile: read again from the head next time
        if not rows:
            if gen == self._gen:
                self._replay_done()
            return
        states = [s for _, s in rows]
        messages = self._encode(states, historical=True)
        if not await self.link.wait_window(0 if messages is None else sum(1 for m in messages if m.qos)):
            return
        if epoch != self._epoch or not self.can_publish():
            return
        batch = Batch(self, states, replay=True, first=rows[0][0], last=rows[-1][0])
        self._cursor = rows[-1][0]
        if messages is None:
            self.acked(batch)  # could not be encoded: counted, and removed so it does not block the rest
        elif not self.link.send(messages, batch):
            return
        if len(rows) < limit and gen == self._gen:
            self._replay_done()
            return
        # the next rows are read on the buffer's thread while this chunk is paced and acknowledged
        self._ahead = (self._cursor, epoch, self._gen, self._io.submit(self.buffer.read, self._cursor, limit))
        await self._pace(len(rows))

    async def _pace(self, sent: int) -> None:
        now = time.monotonic()
        self._replay_at = max(self._replay_at, now) + sent / self.replay_rate
        sub = self._sub
        if sub is not None and sub.pending:
            self._pending.extend(sub.get_nowait())
            await self._store_pending()
        delay = self._replay_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def _replay_done(self) -> None:
        self._backlog = False
        if self._replay_start is not None:
            began, before = self._replay_start
            took = max(time.monotonic() - began, 1e-6)
            n = self.counters["replayed"] - before  # acknowledged so far; the last batches may be in flight
            self.last_replay = {"values": float(n), "seconds": took, "rate": n / took}
            log.info("mqtt %s: replay done, back to live (%d value(s) in %.1f s)", self.name, n, took)
            self._replay_start = None

    def _encode(self, states: list[PointState], *, historical: bool) -> list[Any] | None:
        try:
            return self.channel.encode(states, historical=historical)
        except Exception:
            self.counters["encode_failed"] += len(states)
            log.exception(
                "mqtt %s: the %s channel could not encode %d value(s)", self.name, self.channel.name, len(states)
            )
            return None

    # -- what the link reports ------------------------------------------------------------------------
    def acked(self, batch: Batch) -> None:
        """All of a batch's messages reached the broker."""
        if batch.replay:
            self.counters["replayed"] += len(batch.states)
            self._submit(self.buffer.delete, batch.first, batch.last)
        else:
            self.counters["published"] += len(batch.states)
            self._live_finished(1)

    def lost(self, batches: list[Batch]) -> None:
        """The link dropped before these were acknowledged: live ones go to the buffer before anything newer (the
        forwarder stored nothing newer while they were in flight); replayed ones are still in it."""
        self._epoch += 1
        self._cursor = 0
        live = [s for b in batches if not b.replay for s in b.states]
        if live:
            self._append(live)
        if any(b.replay for b in batches):
            self._backlog = True
        self._live_finished(sum(1 for b in batches if not b.replay))
        self.wake()

    def _live_finished(self, n: int) -> None:
        self._live_inflight = max(0, self._live_inflight - n)
        if not self._live_inflight:
            self._settled.set()

    # -- buffer I/O -----------------------------------------------------------------------------------
    def _append(self, states: list[PointState]) -> Future[Any]:
        self._gen += 1
        self._backlog = True
        self.counters["buffered"] += len(states)
        return self._submit(self.buffer.append, states)

    def _submit(self, fn: Any, *args: Any) -> Future[Any]:
        fut = self._io.submit(fn, *args)
        fut.add_done_callback(self._io_done)
        return fut

    def _io_done(self, fut: Future[Any]) -> None:
        exc = fut.exception()
        if exc is not None and not self._io_failed:
            self._io_failed = True  # one line, not one per batch (a full disk fails them all)
            log.error("mqtt %s: the buffer %s failed: %s", self.name, self.buffer.path, exc)

    def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._purged_at >= PURGE_EVERY and self.buffer.count:
            self._purged_at = now
            self._submit(self.buffer.purge_expired)
