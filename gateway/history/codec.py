"""Columnar encoding of history blocks: one point's rows sorted by time, packed to a few bits per sample.

Each integer column is transformed so that its numbers are small (source times: delta of delta over their
common divisor; server times: the latency after the source time; decimal values: scaled to integers, then
deltas), then frame-of-reference bit-packed in chunks of 128 values, each chunk with the width its largest
number needs: a slowly varying analog point costs a few bits per column per sample, an outlier only widens
its own chunk. What does not fit (values that are not short decimals, strings, very large integers) falls back
to XOR-with-previous bit-packing or zlib'd JSON. Everything is NumPy: no per-sample Python on the hot paths.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.history.model import HistoryValue

I64 = npt.NDArray[np.int64]
_VERSION = 1
# value kinds, one byte per row
K_NONE, K_FLOAT, K_INT, K_BOOL, K_OTHER = 0, 1, 2, 3, 4
_MAX_EXACT = 2**53


# -- bit packing ------------------------------------------------------------------------------------------
# Patched frame of reference: every number minus the column's minimum is packed with one width w, chosen so that
# the bits saved outweigh storing the few numbers wider than w apart ("exceptions": their index and value), so a
# gap in the timestamps or a step in the value does not widen the whole column. Numbers of w bits go 64 // w to
# a 64-bit word: shifting whole arrays keeps packing vectorized (a few bits of a word may stay unused).
_POW2 = np.array([1 << k for k in range(64)], dtype=np.uint64)
_PACK_HEAD = struct.Struct("<IqBI")  # count, base, width, exceptions
_EXCEPTION_BITS = 96  # an exception costs its 32-bit index and 64-bit value


def _lanes(w: int) -> tuple[int, npt.NDArray[np.uint64]]:
    k = 64 // w
    return k, (np.arange(k, dtype=np.uint64) * np.uint64(w))


def pack_ints(x: I64) -> bytes:
    """Integers as: count, base (the minimum), width, exception count, the packed words, then the exceptions."""
    n = len(x)
    if n == 0:
        return _PACK_HEAD.pack(0, 0, 0, 0)
    base, top = int(x.min()), int(x.max())
    if base == top:  # a constant column (statuses, kinds, a regular poll's times): the header says it all
        return _PACK_HEAD.pack(n, base, 0, 0)
    u = x.view(np.uint64) - np.uint64(base % 2**64)  # modular: right for any range that fits 64 bits
    # each number's bit length: frexp's exponent is exact below 2**53
    exact = top - base < 2**53
    bits = np.frexp(u.astype(np.float64))[1] if exact else np.searchsorted(_POW2, u, side="right")
    counts = np.bincount(bits, minlength=65)
    wider = n - np.cumsum(counts)  # how many numbers need more than w bits, for w = 0..64
    w = int(np.argmin(np.arange(65) * n + wider * _EXCEPTION_BITS))
    exc = np.flatnonzero(bits > w).astype(np.uint32)
    parts = [_PACK_HEAD.pack(n, base, w, len(exc))]
    if w:
        k, shifts = _lanes(w)
        low = u & np.uint64((1 << w) - 1) if w < 64 else u
        lanes = np.concatenate([low, np.zeros((-n) % k, np.uint64)]).reshape(-1, k)
        parts.append(np.bitwise_or.reduce(lanes << shifts, axis=1).tobytes())
    if len(exc):
        parts += [exc.tobytes(), u[exc].tobytes()]
    return b"".join(parts)


def unpack_ints(buf: memoryview | bytes, offset: int = 0) -> tuple[I64, int]:
    """The integers ``pack_ints`` wrote at ``offset``, and the offset after them."""
    n, base, w, n_exc = _PACK_HEAD.unpack_from(buf, offset)
    offset += _PACK_HEAD.size
    if w == 0:
        out = np.zeros(n, np.uint64)
    else:
        k, shifts = _lanes(w)
        nwords = -(-n // k)
        words = np.frombuffer(buf, np.uint64, nwords, offset)
        offset += 8 * nwords
        mask = np.uint64((1 << w) - 1) if w < 64 else np.uint64(2**64 - 1)
        out = ((words[:, None] >> shifts) & mask).reshape(-1)[:n]
    if n_exc:
        idx = np.frombuffer(buf, np.uint32, n_exc, offset)
        out = out.copy() if not out.flags.writeable else out
        out[idx] = np.frombuffer(buf, np.uint64, n_exc, offset + 4 * n_exc)
        offset += 12 * n_exc
    return (out + np.uint64(base % 2**64)).view(np.int64), offset


# -- column transforms ------------------------------------------------------------------------------------
def _times(t: I64) -> tuple[int, int, int, I64]:
    """(first, first delta, step, delta of delta) with deltas over their common divisor: regular sampling
    packs to almost nothing (the first two are kept apart so that they do not widen the first chunk)."""
    if len(t) < 2:
        return (int(t[0]) if len(t) else 0), 0, 1, np.zeros(0, np.int64)
    d = np.diff(t)
    step = int(np.gcd.reduce(d)) or 1
    if step > 1:
        d = d // step
    return int(t[0]), int(d[0]), step, np.diff(d)


def _untimes(first: int, d0: int, step: int, dd: I64, n: int) -> I64:
    if n < 2:
        return np.full(n, first, np.int64)
    d = np.cumsum(np.concatenate([np.array([d0], np.int64), dd])) * step
    return np.concatenate([np.array([first], np.int64), first + np.cumsum(d)])


def _decimals(v: npt.NDArray[np.float64]) -> tuple[int, I64] | None:
    """(k, integers) with ``integers / 10**k == v`` exactly, for the smallest k up to 6; None when none fits."""
    if not np.all(np.isfinite(v)) or np.any(np.abs(v) >= _MAX_EXACT / 10**6):
        return None
    signs = np.signbit(v)
    for k in range(7):
        scaled = np.round(v * 10.0**k)
        if np.array_equal(scaled / 10.0**k, v) and np.array_equal(np.signbit(scaled / 10.0**k), signs):
            return k, scaled.astype(np.int64)
    return None


@dataclass(frozen=True, slots=True)
class Columns:
    """Decoded rows of one block (or segment): parallel arrays, sorted by time in a block."""

    source_us: I64
    server_us: I64
    kinds: npt.NDArray[np.uint8]
    numbers: npt.NDArray[np.float64]  # float, int and bool values as float64 (0 where kind is none/other)
    others: dict[int, HistoryValue]  # row -> value for strings and integers beyond 2**53
    status: npt.NDArray[np.uint32]

    def __len__(self) -> int:
        return len(self.source_us)

    def values(self) -> list[HistoryValue]:
        """The values as Python objects, in row order."""
        kinds = self.kinds
        out: list[HistoryValue] = self.numbers.tolist()
        if len(kinds) and kinds.min() == kinds.max() == K_FLOAT and not self.others:
            return out
        for i in np.flatnonzero(kinds != K_FLOAT).tolist():
            k = kinds[i]
            if k == K_NONE:
                out[i] = None
            elif k == K_INT:
                out[i] = int(out[i])  # type: ignore[arg-type]
            elif k == K_BOOL:
                out[i] = bool(out[i])
            else:
                out[i] = self.others[i]
        return out

    def take(self, idx: npt.NDArray[np.intp] | slice) -> Columns:
        """A subset of rows (others re-keyed to their new positions)."""
        others: dict[int, HistoryValue] = {}
        if self.others:
            rows = np.arange(len(self.kinds))[idx]
            others = {j: self.others[int(r)] for j, r in enumerate(rows.tolist()) if int(r) in self.others}
        return Columns(
            self.source_us[idx], self.server_us[idx], self.kinds[idx], self.numbers[idx], others, self.status[idx]
        )


def split_values(
    values: Sequence[HistoryValue],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64], dict[int, HistoryValue]]:
    """Kinds, numbers and the others of Python values (the recorder's and ``append``'s input)."""
    n = len(values)
    kinds = np.empty(n, np.uint8)
    numbers = np.zeros(n, np.float64)
    others: dict[int, HistoryValue] = {}
    if all(type(v) is float for v in values):  # the common case
        numbers[:] = values
        kinds[:] = K_FLOAT
        return kinds, numbers, others
    for i, v in enumerate(values):
        if v is None:
            kinds[i] = K_NONE
        elif isinstance(v, bool):
            kinds[i], numbers[i] = K_BOOL, float(v)
        elif isinstance(v, float):
            kinds[i], numbers[i] = K_FLOAT, v
        elif isinstance(v, int) and -_MAX_EXACT <= v <= _MAX_EXACT:
            kinds[i], numbers[i] = K_INT, float(v)
        else:
            kinds[i], numbers[i] = K_OTHER, 0.0
            others[i] = v
    return kinds, numbers, others


# -- blocks ------------------------------------------------------------------------------------------------
_HEAD = struct.Struct("<BIBqqqq")  # version, rows, value encoding, first time, first delta, step, first value


def encode_block(c: Columns) -> bytes:
    """One point's rows (sorted by source time, then server time) as compact bytes."""
    first, d0, step, dd = _times(c.source_us)
    parts = [b"", pack_ints(dd), pack_ints(c.server_us - c.source_us)]
    parts.append(pack_ints(c.status.astype(np.int64)))
    parts.append(pack_ints(c.kinds.astype(np.int64)))
    dec = _decimals(c.numbers)
    if dec is not None:  # short decimals: integer deltas
        k, ints = dec
        enc, v0 = 1 + k, int(ints[0]) if len(ints) else 0
        parts.append(pack_ints(np.diff(ints)))
    else:  # anything else: XOR with the previous value's bits
        bits = c.numbers.view(np.int64)
        enc, v0 = 0, int(bits[0]) if len(bits) else 0
        parts.append(pack_ints(bits[1:] ^ bits[:-1]))
    others = json.dumps([[i, v] for i, v in c.others.items()]).encode() if c.others else b""
    parts.append(struct.pack("<I", len(others)) + (zlib.compress(others, 6) if others else b""))
    parts[0] = _HEAD.pack(_VERSION, len(c), enc, first, d0, step, v0)
    return b"".join(parts)


def decode_block(data: bytes | memoryview) -> Columns:
    """The rows ``encode_block`` wrote."""
    buf = memoryview(data)
    version, n, enc, first, d0, step, v0 = _HEAD.unpack_from(buf, 0)
    if version != _VERSION:
        raise ValueError(f"history block version {version} is not supported (this build reads {_VERSION})")
    off = _HEAD.size
    dd, off = unpack_ints(buf, off)
    lat, off = unpack_ints(buf, off)
    status, off = unpack_ints(buf, off)
    kinds, off = unpack_ints(buf, off)
    deltas, off = unpack_ints(buf, off)
    source = _untimes(first, d0, step, dd, n)
    head = np.array([v0], np.int64)[:n]
    if enc:
        numbers = np.concatenate([head, v0 + np.cumsum(deltas)]) / 10.0 ** (enc - 1)
    else:
        numbers = _unxor(np.concatenate([head, deltas])).view(np.float64)
    (olen,) = struct.unpack_from("<I", buf, off)
    others: dict[int, HistoryValue] = {}
    if olen:
        others = {int(i): v for i, v in json.loads(zlib.decompress(buf[off + 4 :]))}
    return Columns(source, source + lat, kinds.astype(np.uint8), numbers, others, status.astype(np.uint32))


def _unxor(x: I64) -> I64:
    # prefix XOR: each value is the XOR of every delta so far
    return np.bitwise_xor.accumulate(x.view(np.uint64)).view(np.int64)


# -- segments (the write buffer: one per flush, every point, rows as they came) -----------------------------
_SEG = struct.Struct("<BI")


def encode_segment(point_ids: npt.NDArray[np.uint32], c: Columns) -> bytes:
    """A flush's rows as plain arrays (no packing: segments live minutes, and readers slice them in place)."""
    others = json.dumps([[i, v] for i, v in c.others.items()]).encode() if c.others else b""
    return b"".join(
        [
            _SEG.pack(_VERSION, len(c)),
            point_ids.astype(np.uint32).tobytes(),
            c.source_us.astype(np.int64).tobytes(),
            c.server_us.astype(np.int64).tobytes(),
            c.numbers.astype(np.float64).tobytes(),
            c.status.astype(np.uint32).tobytes(),
            c.kinds.astype(np.uint8).tobytes(),
            others,
        ]
    )


def decode_segment(data: bytes) -> tuple[npt.NDArray[np.uint32], Columns]:
    """The point ids and rows ``encode_segment`` wrote."""
    version, n = _SEG.unpack_from(data, 0)
    if version != _VERSION:
        raise ValueError(f"history segment version {version} is not supported (this build reads {_VERSION})")
    off = _SEG.size
    ids = np.frombuffer(data, np.uint32, n, off)
    off += 4 * n
    src = np.frombuffer(data, np.int64, n, off)
    srv = np.frombuffer(data, np.int64, n, off + 8 * n)
    nums = np.frombuffer(data, np.float64, n, off + 16 * n)
    off += 24 * n
    status = np.frombuffer(data, np.uint32, n, off)
    off += 4 * n
    kinds = np.frombuffer(data, np.uint8, n, off)
    off += n
    others = {int(i): v for i, v in json.loads(data[off:])} if off < len(data) else {}
    return ids, Columns(src, srv, kinds, nums, others, status)


def concat(parts: Sequence[Columns]) -> Columns:
    """Rows of several column sets, one after the other."""
    if len(parts) == 1:
        return parts[0]
    others: dict[int, HistoryValue] = {}
    at = 0
    for p in parts:
        others.update({at + i: v for i, v in p.others.items()})
        at += len(p)
    return Columns(
        np.concatenate([p.source_us for p in parts]) if parts else np.zeros(0, np.int64),
        np.concatenate([p.server_us for p in parts]) if parts else np.zeros(0, np.int64),
        np.concatenate([p.kinds for p in parts]) if parts else np.zeros(0, np.uint8),
        np.concatenate([p.numbers for p in parts]) if parts else np.zeros(0, np.float64),
        others,
        np.concatenate([p.status for p in parts]) if parts else np.zeros(0, np.uint32),
    )


def sort_rows(c: Columns) -> Columns:
    """Rows ordered by (source time, server time)."""
    if len(c) < 2 or (np.all(np.diff(c.source_us) > 0)):
        return c
    return c.take(np.lexsort((c.server_us, c.source_us)))
