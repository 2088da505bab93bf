"""How rows map onto the PostgreSQL columns and back; no database needed."""

from __future__ import annotations

import math

import pytest

from gateway.history.model import HistoryRow
from gateway.history.pg_values import copy_tuple, row_of, signed_status, unsigned_status, value_columns, value_of


@pytest.mark.parametrize(
    "value", [None, True, False, 0, -(2**63), 2**63 - 1, 2**63, 2**64 - 1, -(2**70), 1.25, -0.0, math.inf, "", "é✓"]
)
def test_every_value_comes_back_with_its_type(value: object) -> None:
    back = value_of(*value_columns(value))  # type: ignore[arg-type]
    assert type(back) is type(value) and back == value


def test_nan_and_what_postgresql_text_cannot_hold() -> None:
    assert math.isnan(value_of(*value_columns(math.nan)))  # type: ignore[arg-type]
    assert value_of(*value_columns("a\x00b\ud800c")) == "a\ufffdb\ufffdc"


@pytest.mark.parametrize("status", [0, 0x00A80000, 0x40A40000, 0x7FFFFFFF, 0x80000000, 0x808A0000, 0xFFFFFFFF])
def test_status_codes_fit_a_signed_column_bad_ones_negative(status: int) -> None:
    stored = signed_status(status)
    assert -(2**31) <= stored < 2**31
    assert (stored < 0) == bool(status & 0x80000000)
    assert unsigned_status(stored) == status


def test_a_row_goes_out_in_copy_order_and_comes_back() -> None:
    row = HistoryRow("a.x", 10, 12, 2**64 - 1, 0x808A0000)
    t = copy_tuple(row, 7)
    assert t[4] == 7 and t[0] == 10 and t[1] == 12
    assert row_of("a.x", (t[0], t[1], t[5], t[2], t[3], t[6], t[7])) == row
