"""Block and segment encoding (gateway/history/codec.py): lossless for every kind of value, small for analog ones."""

from __future__ import annotations

import numpy as np

from gateway.history.codec import (
    Columns,
    decode_block,
    decode_segment,
    encode_block,
    encode_segment,
    pack_ints,
    split_values,
    unpack_ints,
)


def columns(src: np.ndarray, values: list[object], status: list[int] | None = None) -> Columns:
    kinds, numbers, others = split_values(values)
    st = np.array(status if status is not None else [0] * len(values), np.uint32)
    return Columns(src.astype(np.int64), src.astype(np.int64) + 137, kinds, numbers, others, st)


def test_pack_ints_round_trips_any_int64() -> None:
    rng = np.random.default_rng(1)
    for x in (
        rng.integers(-(2**62), 2**62, 1000),
        np.array([-(2**63), 2**63 - 1, 0]),
        np.arange(1000) * 2**40,
        np.array([7]),
        np.zeros(0, np.int64),
    ):
        out, _ = unpack_ints(pack_ints(x.astype(np.int64)))
        assert np.array_equal(out, x)


def test_block_round_trips_mixed_values_exactly() -> None:
    values: list[object] = [1.5, None, 3, True, "text", 2**60, -0.0, float("nan"), 1e300, 21.37]
    c = columns(np.arange(len(values)) * 1_000_003 + 1_700_000_000_000_000, values, [0, 0x80000000] * 5)
    d = decode_block(encode_block(c))
    got = d.values()
    assert got[:7] == values[:7] and got[8:] == values[8:] and np.isnan(got[7])  # type: ignore[arg-type]
    assert [type(v) for v in got[:5]] == [float, type(None), int, bool, str]
    assert np.signbit(got[6])  # -0.0 keeps its sign
    assert np.array_equal(d.source_us, c.source_us) and np.array_equal(d.server_us, c.server_us)
    assert d.status.tolist() == c.status.tolist()


def test_slowly_varying_two_decimal_values_on_a_regular_poll_take_about_a_byte_per_sample() -> None:
    rng = np.random.default_rng(2)
    n = 4096
    src = 1_700_000_000_000_000 + np.arange(n) * 1_000_000
    values = np.round(20 + np.cumsum(rng.normal(0, 0.05, n)), 2).tolist()
    c = columns(src, values)
    data = encode_block(c)
    assert len(data) / n < 1.5
    assert decode_block(data).values() == values


def test_segment_round_trips_point_ids_and_rows() -> None:
    c = columns(np.array([5, 3, 9]), [1.0, "x", None])
    ids, d = decode_segment(encode_segment(np.array([2, 1, 2], np.uint32), c))
    assert ids.tolist() == [2, 1, 2] and d.values() == [1.0, "x", None] and d.source_us.tolist() == [5, 3, 9]
