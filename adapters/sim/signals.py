"""Pure signal generators of the simulator: value of a point at time ``t`` (seconds since start)."""

from __future__ import annotations

import math
import random
from typing import Any

from adapters.sim.config import SimAddress


class Signal:
    """State of one simulated signal."""

    __slots__ = ("addr", "held", "overridden", "rng", "walk")

    def __init__(self, addr: SimAddress, rng: random.Random) -> None:
        self.addr = addr
        self.rng = rng
        self.walk = float(addr.initial) if isinstance(addr.initial, int | float) else addr.offset
        self.held: Any = addr.initial  # constant signals and written values
        self.overridden = False  # a written value holds until the next write

    def value(self, t: float) -> Any:
        """The signal's value at ``t``."""
        a = self.addr
        kind = a.signal
        if kind == "constant" or self.overridden:
            return self.held
        if kind == "sine":
            return a.offset + a.amplitude * math.sin(2 * math.pi * t / a.period + a.phase)
        if kind == "ramp":
            lo = a.min if a.min is not None else a.offset
            hi = a.max if a.max is not None else lo + a.amplitude
            return lo + (hi - lo) * ((t / a.period) % 1.0)
        if kind == "square":
            return (int(t / (a.period / 2)) % 2) == 0
        if kind == "step":
            return a.values[int(t / a.period) % len(a.values)]
        if kind == "counter":
            base = float(a.initial) if isinstance(a.initial, int | float) else 0.0
            return base + a.rate * t
        # random walk, reflected at the bounds
        self.walk += self.rng.gauss(0.0, a.step)
        if a.max is not None and self.walk > a.max:
            self.walk = 2 * a.max - self.walk
        if a.min is not None and self.walk < a.min:
            self.walk = 2 * a.min - self.walk
        return self.walk

    def write(self, value: Any) -> None:
        """Take a written value: the signal holds it from now on (it echoes back like a real setpoint)."""
        self.held = value
        self.overridden = True
