"""The sim adapter's signals and its adapter behaviour (samples, writes, outage)."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from adapters.contract.adapter import AdapterContext, AdapterDisconnected, AdapterUnavailable
from adapters.sim.adapter import SimAdapter
from adapters.sim.config import SimAddress, SimSourceConfig
from adapters.sim.signals import Signal
from tests.conftest import make_point


def sig(**kw: object) -> Signal:
    return Signal(SimAddress.model_validate(kw), random.Random(1))


def test_signal_shapes() -> None:
    assert sig(signal="sine", offset=10, amplitude=2, period=4).value(1.0) == pytest.approx(12.0)
    assert sig(signal="ramp", min=0, max=10, period=10).value(5.0) == pytest.approx(5.0)
    assert sig(signal="square", period=2).value(0.5) is True
    assert sig(signal="square", period=2).value(1.5) is False
    assert sig(signal="step", values=[1, 2, 3], period=1).value(2.5) == 3
    assert sig(signal="counter", rate=2).value(3) == pytest.approx(6.0)
    walk = sig(signal="random_walk", initial=5, min=4, max=6, step=0.5)
    values = [walk.value(t) for t in range(1000)]
    assert all(4 <= v <= 6 for v in values) and len(set(values)) > 100


def test_written_value_holds() -> None:
    s = sig(signal="sine", amplitude=5)
    s.write(42)
    assert s.value(3.0) == 42


def _adapter(**points: dict[str, object]) -> SimAdapter:
    cfg = SimSourceConfig(id="sim1", interval=0.01, seed=3)
    pts = [make_point(f"a.{k}", address=v, writable=True) for k, v in points.items()]  # type: ignore[arg-type]
    return SimAdapter(cfg, pts, AdapterContext(logger=logging.getLogger("t")))


async def test_samples_writes_and_outage() -> None:
    ad = _adapter(x={"signal": "constant", "initial": 1.5}, ro={"signal": "constant", "writable": False})
    await ad.start()
    it = ad.samples()
    first = [await anext(it) for _ in range(2)]
    assert {s.point for s in first} == {"a.x", "a.ro"} and first[0].adapter == "sim1"
    assert (await ad.write(ad.points["a.x"], 7.0)).ok
    assert (await ad.write(ad.points["a.ro"], 7.0)).status == "BadNotWritable"
    echoed = await asyncio.wait_for(anext(it), 1)
    assert echoed.point == "a.x" and echoed.value == 7.0
    ad.simulate_outage(0.2, "test")
    with pytest.raises(AdapterDisconnected):
        for _ in range(100):
            await asyncio.wait_for(anext(it), 1)
    with pytest.raises(AdapterUnavailable):
        await ad.start()
    await asyncio.sleep(0.25)
    await ad.start()
    await ad.stop()
