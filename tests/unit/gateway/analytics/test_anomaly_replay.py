"""``twinbridge anomaly replay``: CSV in, ``timestamp,value,score,anomaly`` out; bad rows named by file:line."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.analytics.anomaly.replay import ReplayError, parse_time, read_series
from gateway.analytics.anomaly.synthetic import generate, write_csv
from gateway.cli import main


def test_replay_flags_the_injected_faults_and_little_else(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    series = generate(days=10)
    source = write_csv(series, tmp_path / "supply.csv")
    out = tmp_path / "scores.csv"
    assert main(["anomaly", "replay", str(source), "--out", str(out)]) == 0
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["timestamp", "value", "score", "anomaly"]
    assert len(rows) == len(series.values)
    assert rows[0]["timestamp"] == "2024-01-01T00:00:00Z" and float(rows[0]["value"]) == series.values[0]
    times = [parse_time(r["timestamp"]) for r in rows]
    flags = [r["anomaly"] == "1" for r in rows]
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)
    windows = series.windows()
    for fault, (lo, hi) in zip(series.faults, windows, strict=True):
        assert any(f for t, f in zip(times, flags, strict=True) if lo <= t <= hi), f"{fault.kind} not flagged"
    inside = sum(f for t, f in zip(times, flags, strict=True) if any(lo <= t <= hi for lo, hi in windows))
    assert sum(flags) - inside <= 0.01 * len(flags)  # outside the faults: at most 1 % of the rows
    # the summary docs/analytics.md shows for this series
    assert "14400 rows, 486 anomalous, 12 alarm(s) (seasonal, threshold 0.8)" in capsys.readouterr().err


def test_replay_writes_to_standard_output_with_a_chosen_detector_and_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "s.csv"
    source.write_text("1700000000,1.5\n1700000060,\n1700000120,1.6\n", encoding="utf-8")  # no header, a gap
    assert main(["anomaly", "replay", str(source), "--threshold", "0.5", "--season", "none"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "timestamp,value,score,anomaly",
        "1700000000,1.5,0.000000,0",
        "1700000060,,,",
        "1700000120,1.6,0.000000,0",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timestamp,value\n2024-01-01T00:00:00Z,1\nsoon,2\n", "s.csv:3: 'soon' is not a timestamp"),
        ("timestamp,value\n2024-01-01T00:00:00Z,warm\n", "s.csv:2: value 'warm' is not a number"),
        ("time,reading\n2024-01-01T00:00:00Z,1\n", "s.csv:1: the header needs 'timestamp' and 'value'"),
        ("timestamp,value\n2024-01-02,1\n2024-01-01,2\n", "s.csv:3: timestamps must not go back in time"),
        ("timestamp,value\n2024-01-02\n", "s.csv:2: expected timestamp and value columns"),
        ("timestamp,value\n", "no rows"),
    ],
)
def test_bad_input_is_an_error_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    source = tmp_path / "s.csv"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(ReplayError, match=message.replace("s.csv", ".*s.csv")):
        read_series(source)
    assert main(["anomaly", "replay", str(source)]) == 2
    assert message in capsys.readouterr().err


def test_an_unknown_detector_or_missing_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["anomaly", "replay", "x.csv", "--detector", "magic"])
    assert main(["anomaly", "replay", str(tmp_path / "none.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["anomaly", "replay", str(tmp_path / "none.csv"), "--season", "weekly"]) == 2
    assert "--season" in capsys.readouterr().err


def test_timestamps_are_utc_unless_they_say_otherwise() -> None:
    utc = datetime(2014, 4, 1, tzinfo=UTC).timestamp()
    assert parse_time("2014-04-01 00:00:00") == utc
    assert parse_time("2014-04-01T00:00:00Z") == utc
    assert parse_time("2014-04-01T02:00:00+02:00") == utc
    assert parse_time(str(utc)) == utc
