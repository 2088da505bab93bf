"""SourceSupervisor.stop() always returns, and no sample reaches the twin after it began.

Python 3.11's ``asyncio.wait_for`` (inside aiomqtt's subscribe) returns normally instead of raising when the
awaited future completes just as the cancel arrives; the supervisor's task then went on into ``samples()`` and
``Gateway.stop()`` waited on it forever. These fakes swallow a cancel the same way (pure supervisor logic).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest

from adapters.contract.adapter import Adapter, AdapterContext
from adapters.contract.sample import Sample, utcnow
from gateway.ingest.pipeline import Pipeline
from gateway.ingest.supervisor import SourceSupervisor
from gateway.twin.twin import Twin
from tests.conftest import make_model, make_point, wait_for


class SwallowingAdapter(Adapter):
    """Waits (in start(), or in samples() after each sample) and swallows ``swallow`` cancels: returning as if
    the awaited result had come (``asyncio.wait_for``'s way), or, when ``keep_waiting``, waiting on."""

    kind = "fake"

    def __init__(self, *args: object, swallow: int, in_samples: bool = False, keep_waiting: bool = False) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.swallow = swallow
        self.in_samples = in_samples
        self.keep_waiting = keep_waiting
        self.release = asyncio.Event()  # set: start() returns without waiting for a cancel
        self.yielded = 0

    async def _stubborn_wait(self) -> None:
        while True:
            try:
                await self.release.wait()
                return
            except asyncio.CancelledError:
                if self.swallow <= 0:
                    raise
                self.swallow -= 1
                if not self.keep_waiting:
                    return  # as wait_for does when the result and the cancel meet

    async def start(self) -> None:
        if not self.in_samples:
            await self._stubborn_wait()

    async def stop(self) -> None:
        return None

    async def samples(self) -> AsyncIterator[Sample]:
        while True:
            self.yielded += 1
            yield Sample("a.p", float(self.yielded), utcnow())
            if self.in_samples:
                self.release.clear()
                await self._stubborn_wait()
            else:
                await asyncio.sleep(0.005)


Made = tuple[SourceSupervisor, SwallowingAdapter, Twin]


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., Made]]:
    """Builds a supervisor over a SwallowingAdapter; afterwards ends whatever a failing stop() left running."""
    made: list[Made] = []

    def build(swallow: int, **mode: bool) -> Made:
        model = make_model([make_point()])
        twin = Twin(model)
        source = model.sources["sim1"]
        context = AdapterContext(logging.getLogger("test"))
        sup = SourceSupervisor(source, model, twin, Pipeline(model.points.values()), lambda s: context)
        adapter = SwallowingAdapter(source, list(model.points.values()), context, swallow=swallow, **mode)
        sup.adapter = adapter
        sup.stop_timeout = 1.0
        made.append((sup, adapter, twin))
        return made[-1]

    yield build
    for _, adapter, twin in made:
        adapter.swallow = 0
        left = [t for t in asyncio.all_tasks() if t.get_name() == "source:sim1"]
        for t in left:
            t.cancel()
        if left:
            await asyncio.wait(left, timeout=2)
        twin.close()


async def _stop_timed(sup: SourceSupervisor) -> float:
    t0 = time.monotonic()
    # the test's own bound, far above the supervisor's; asyncio.wait, as wait_for would hang on a stuck stop()
    done, _ = await asyncio.wait([asyncio.ensure_future(sup.stop())], timeout=10)
    assert done, "stop() did not return within 10 s"
    return time.monotonic() - t0


async def test_stop_while_start_swallows_the_cancel_ends_without_a_sample(make: Callable[..., Made]) -> None:
    sup, adapter, twin = make(swallow=1)
    sup.start()
    await asyncio.sleep(0.05)  # inside start()
    assert await _stop_timed(sup) < 0.5
    assert adapter.yielded == 0 and sup.samples_in == 0  # it did not go on into samples()
    await asyncio.sleep(0.05)
    assert twin.state("a.p").value is None


async def test_stop_cancels_again_while_the_task_ignores_cancels(make: Callable[..., Made]) -> None:
    sup, adapter, _ = make(swallow=3, in_samples=True, keep_waiting=True)
    sup.start()
    await wait_for(lambda: sup.samples_in == 1, what="the first sample")
    assert await _stop_timed(sup) < 0.9  # three swallowed cancels, the fourth ends it
    assert adapter.swallow == 0


async def test_a_task_that_never_ends_is_abandoned_with_an_error(
    caplog: pytest.LogCaptureFixture, make: Callable[..., Made]
) -> None:
    sup, adapter, twin = make(swallow=10**9, in_samples=True, keep_waiting=True)
    sup.start()
    await wait_for(lambda: sup.samples_in == 1, what="the first sample")
    with caplog.at_level(logging.ERROR, logger="twinbridge.source.sim1"):
        took = await _stop_timed(sup)
    assert 0.9 <= took < 2.0
    assert any("source sim1" in r.getMessage() and "abandoned" in r.getMessage() for r in caplog.records)
    adapter.release.set()  # the abandoned task wakes up and yields once more: that sample is not applied
    await wait_for(lambda: adapter.yielded >= 2, what="a sample after stop")
    await asyncio.sleep(0.05)
    assert sup.samples_in == 1 and twin.state("a.p").value == 1.0
