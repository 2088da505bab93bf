"""Time windows over one point's values, kept in memory and updated per sample in O(1) amortized.

Times are seconds since the epoch (the samples' source times). A value holds until the next one (step
interpolation, like a meter that reports on change), so the time-weighted average over a window is its
integral divided by its length; an integral is in the point's unit times seconds (kW x s), which the expression
language converts into the target's unit (kWh). Each function is defined at ``now``, the end of the window:

- ``avg``: time-weighted average over ``[now - W, now]``; the value holding at the window start counts from there.
- ``min`` / ``max``: extremes of the values holding at some time in the window (monotonic deques).
- ``integral``: the area under the held values over the window (value unit x seconds).
- ``delta``: the last value minus the value holding at the window start (the oldest one when the history is
  shorter than the window).
- ``rate`` (windowed): ``delta`` divided by the time between that start value's sample and the newest sample.
- ``rate`` (no window): the slope between the last two samples.
- ``integral`` (no window): ``RunningIntegral``, the total since it started; a Bad state ends a stretch (the time
  a source was down is not counted), and ``snapshot``/``restore`` carry it across restarts.
- ``last_change``: seconds since the value last changed.
"""

from __future__ import annotations

from collections import deque
from typing import Any


class EmptyWindow(LookupError):
    """No value in the window yet."""


class SeriesWindow:
    """The samples of one point whose held value overlaps the last ``seconds`` (avg, min, max, integral, delta,
    windowed rate). ``track_min``/``track_max`` keep monotonic deques only when an expression asks for them."""

    __slots__ = (
        "_area",
        "_expired",
        "_max",
        "_min",
        "_monos",
        "_samples",
        "_seq",
        "seconds",
        "tracks_max",
        "tracks_min",
    )

    def __init__(self, seconds: float, *, track_min: bool = False, track_max: bool = False) -> None:
        self.seconds = float(seconds)
        self._samples: deque[tuple[float, float, int]] = deque()  # (time, value, sequence number)
        self._area = 0.0  # sum of value x duration between consecutive samples in the deque
        self._seq = 0
        self._expired = 0
        self._min: deque[tuple[float, int]] | None = deque() if track_min else None
        self._max: deque[tuple[float, int]] | None = deque() if track_max else None
        self.tracks_min, self.tracks_max = track_min, track_max
        self._monos = tuple(m for m in (self._min, self._max) if m is not None)

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, t: float, value: float) -> None:
        """Append a sample (a sample older than the newest one is taken at the newest one's time)."""
        samples = self._samples
        if samples:
            last_t, last_v, _ = samples[-1]
            t = max(t, last_t)
            self._area += last_v * (t - last_t)
        self._seq += 1
        seq = self._seq
        samples.append((t, value, seq))
        mins = self._min
        if mins is not None:
            while mins and mins[-1][0] >= value:
                mins.pop()
            mins.append((value, seq))
        maxs = self._max
        if maxs is not None:
            while maxs and maxs[-1][0] <= value:
                maxs.pop()
            maxs.append((value, seq))
        self._expire(t - self.seconds)

    def _expire(self, start: float) -> None:
        """Drop samples whose held value ended before ``start`` (keep the one holding at ``start``)."""
        samples = self._samples
        if len(samples) < 2 or samples[1][0] > start:
            return
        while len(samples) >= 2 and samples[1][0] <= start:
            t0, v0, _ = samples.popleft()
            self._area -= v0 * (samples[0][0] - t0)
            self._expired += 1
        first_seq = samples[0][2]
        for mono in self._monos:
            while mono and mono[0][1] < first_seq:
                mono.popleft()
        if self._expired > len(samples) + 64:  # re-add now and then: subtractions drift
            self._expired = 0
            self._area = sum(a[1] * (b[0] - a[0]) for a, b in zip(samples, list(samples)[1:], strict=False))

    def _require(self) -> deque[tuple[float, float, int]]:
        if not self._samples:
            raise EmptyWindow("no value in the window yet")
        return self._samples

    def integral(self, now: float) -> float:
        """The area under the held values over ``[now - seconds, now]``."""
        samples = self._require()
        self._expire(now - self.seconds)
        start = now - self.seconds
        t0, v0, _ = samples[0]
        t_last, v_last, _ = samples[-1]
        tail = v_last * max(now - t_last, 0.0)
        head = v0 * (start - t0) if t0 < start else 0.0
        return self._area + tail - head

    def average(self, now: float) -> float:
        """The time-weighted average over the window (the last value when no time has passed)."""
        samples = self._require()
        self._expire(now - self.seconds)
        begin = max(now - self.seconds, samples[0][0])
        span = now - begin
        if span <= 0:
            return samples[-1][1]
        return self.integral(now) / span

    def minimum(self, now: float) -> float:
        """The smallest value held in the window."""
        self._require()
        self._expire(now - self.seconds)
        if self._min is None:
            return min(s[1] for s in self._samples)
        return self._min[0][0]

    def maximum(self, now: float) -> float:
        """The largest value held in the window."""
        self._require()
        self._expire(now - self.seconds)
        if self._max is None:
            return max(s[1] for s in self._samples)
        return self._max[0][0]

    def delta(self, now: float) -> float:
        """The last value minus the value holding at the window start."""
        samples = self._require()
        self._expire(now - self.seconds)
        return samples[-1][1] - samples[0][1]

    def rate(self, now: float) -> float:
        """Change per second across the window (0 with a single sample)."""
        samples = self._require()
        self._expire(now - self.seconds)
        t0, v0, _ = samples[0]
        t1, v1, _ = samples[-1]
        return (v1 - v0) / (t1 - t0) if t1 > t0 else 0.0


class LastTwo:
    """The slope between the last two samples (``rate(p)`` without a window)."""

    __slots__ = ("_last", "_prev")

    def __init__(self) -> None:
        self._prev: tuple[float, float] | None = None
        self._last: tuple[float, float] | None = None

    def add(self, t: float, value: float) -> None:
        self._prev, self._last = self._last, (t, value)

    def rate(self) -> float:
        if self._last is None:
            raise EmptyWindow("no value yet")
        if self._prev is None or self._last[0] <= self._prev[0]:
            return 0.0
        return (self._last[1] - self._prev[1]) / (self._last[0] - self._prev[0])


class RunningIntegral:
    """The area under the held values since it started (``integral(p)``), persisted across restarts."""

    __slots__ = ("_last", "started", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self._last: tuple[float, float] | None = None
        self.started = False  # whether any value was ever integrated (before that the result is missing)

    def add(self, t: float, value: float) -> None:
        last = self._last
        if last is not None and t > last[0]:
            self.total += last[1] * (t - last[0])
        self._last = (max(t, last[0]) if last is not None else t, value)
        self.started = True

    def gap(self, t: float) -> None:
        """The source went Bad at ``t``: count the last value up to then, and nothing until the next value."""
        last = self._last
        if last is not None and t > last[0]:
            self.total += last[1] * (t - last[0])
        self._last = None

    def value(self, now: float) -> float:
        if not self.started:
            raise EmptyWindow("no value integrated yet")
        last = self._last
        tail = last[1] * (now - last[0]) if last is not None and now > last[0] else 0.0
        return self.total + tail

    def snapshot(self, now: float) -> dict[str, Any]:
        """What ``restore`` needs: the total up to ``now`` (the stretch since the last sample included)."""
        return {"total": self.value(now) if self.started else 0.0, "at": now, "started": self.started}

    def restore(self, saved: dict[str, Any]) -> None:
        """Continue from a snapshot; the time between the snapshot and the next sample is not counted."""
        try:
            self.total = float(saved.get("total", 0.0))
        except (TypeError, ValueError):
            return
        self.started = bool(saved.get("started", True))
        self._last = None


class LastChange:
    """When the value last changed (``last_change(p)``: seconds since then)."""

    __slots__ = ("_changed_at", "_value")

    def __init__(self) -> None:
        self._value: object = None
        self._changed_at: float | None = None

    def add(self, t: float, value: object) -> None:
        if self._changed_at is None or value != self._value:
            self._value = value
            self._changed_at = t

    def seconds_since(self, now: float) -> float:
        if self._changed_at is None:
            raise EmptyWindow("no value yet")
        return max(now - self._changed_at, 0.0)


class _PointWindows:
    """Every window one input point feeds."""

    __slots__ = ("change", "integral", "last_two", "series")

    def __init__(self) -> None:
        self.series: list[SeriesWindow] = []
        self.last_two: LastTwo | None = None
        self.integral: RunningIntegral | None = None
        self.change: LastChange | None = None


class WindowSet:
    """The windows a set of expressions use, built from their window keys (``function``, ``point``, ``seconds``).

    Keys over the same point and length share one ``SeriesWindow``; ``feed`` is the per-sample update.
    """

    SERIES_FUNCTIONS = ("avg", "min", "max", "integral", "delta", "rate")

    def __init__(self, keys: Any) -> None:
        self._by_point: dict[str, _PointWindows] = {}
        self._compute: dict[Any, Any] = {}
        self.series: dict[tuple[str, float], SeriesWindow] = {}
        self.integrals: dict[str, RunningIntegral] = {}
        self.add(keys)

    def add(self, keys: Any) -> list[Any]:
        """Take more keys (derived points added at run time); returns the keys that were new.

        A new key over a point and length that already has a series window gets a fresh one when it needs
        min/max tracking the existing window does not keep (it fills from then on)."""
        fresh = [k for k in dict.fromkeys(keys) if k not in self._compute]
        flags: dict[tuple[str, float], set[str]] = {}
        for k in fresh:
            if k.seconds is not None and k.function in self.SERIES_FUNCTIONS:
                flags.setdefault((k.point, float(k.seconds)), set()).add(k.function)
        for (point, seconds), functions in flags.items():
            old = self.series.get((point, seconds))
            has_min, has_max = old is not None and old.tracks_min, old is not None and old.tracks_max
            wants_min, wants_max = "min" in functions, "max" in functions
            if old is not None and (has_min or not wants_min) and (has_max or not wants_max):
                continue
            w = SeriesWindow(seconds, track_min=wants_min or has_min, track_max=wants_max or has_max)
            pw = self._windows(point)
            if old is not None:
                pw.series.remove(old)
                for k in [k for k in self._compute if k.point == point and k.seconds == seconds]:
                    fresh.append(k)  # rebound to the new window below
            self.series[(point, seconds)] = w
            pw.series.append(w)
        for k in fresh:
            self._compute[k] = self._function(k)
        return fresh

    def _windows(self, point: str) -> _PointWindows:
        return self._by_point.setdefault(point, _PointWindows())

    def _function(self, k: Any) -> Any:
        fn, pw = k.function, self._windows(k.point)
        if k.seconds is not None and fn in self.SERIES_FUNCTIONS:
            w = self.series[(k.point, float(k.seconds))]
            return {
                "avg": w.average,
                "min": w.minimum,
                "max": w.maximum,
                "integral": w.integral,
                "delta": w.delta,
                "rate": w.rate,
            }[fn]
        if fn == "rate":
            pw.last_two = pw.last_two or LastTwo()
            last_two = pw.last_two
            return lambda now: last_two.rate()
        if fn == "integral":
            pw.integral = pw.integral or RunningIntegral()
            self.integrals[k.point] = pw.integral
            return pw.integral.value
        if fn == "last_change":
            pw.change = pw.change or LastChange()
            return pw.change.seconds_since
        raise ValueError(f"window function {fn}({k.point}) needs a window length")

    def points(self) -> set[str]:
        """The input points that feed a window."""
        return set(self._by_point)

    def feed(self, point: str, t: float, value: object, bad: bool) -> None:
        """One applied state of an input point (Bad values are not taken; a running integral stops counting)."""
        pw = self._by_point.get(point)
        if pw is None:
            return
        if bad:
            if pw.integral is not None:
                pw.integral.gap(t)
            return
        if pw.change is not None:
            pw.change.add(t, value)
        if isinstance(value, int | float):
            x = float(value)
            for w in pw.series:
                w.add(t, x)
            if pw.last_two is not None:
                pw.last_two.add(t, x)
            if pw.integral is not None:
                pw.integral.add(t, x)

    def value(self, key: Any, now: float) -> float:
        """A window function's value at ``now`` (``EmptyWindow`` when it has no value yet)."""
        return float(self._compute[key](now))
