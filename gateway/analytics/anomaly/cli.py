"""``twinbridge anomaly replay FILE.csv [--detector NAME] [--out scores.csv]``: a detector, offline.

Reads ``timestamp,value`` rows, scores them in order as the running engine would (learning as it goes), and
writes ``timestamp,value,score,anomaly`` (anomaly 1 above the threshold) to ``--out`` or standard output; a
summary (rows, anomalous rows, alarms = runs of anomalous rows) goes to standard error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.analytics.anomaly.detectors import NAMES, DetectorError, make_detector
from gateway.analytics.anomaly.replay import ReplayError, format_scores, read_series, replay
from gateway.config.analytics_values import duration


def add_parser(sub: Any) -> None:
    """Register ``anomaly`` on the ``twinbridge`` sub-command parsers."""
    a = sub.add_parser("anomaly", help="anomaly detectors offline: replay a CSV through a detector")
    actions = a.add_subparsers(dest="action", required=True)
    r = actions.add_parser(
        "replay",
        help="score a timestamp,value CSV and write timestamp,value,score,anomaly",
        description="Replays a timestamp,value CSV (ISO 8601 or epoch-second timestamps, header optional) "
        "through a detector in time order, as the gateway would score the point live.",
    )
    r.add_argument("file", type=Path, help="the timestamp,value CSV")
    r.add_argument("--detector", default="seasonal", choices=NAMES, help="default: seasonal (needs no tuning)")
    r.add_argument("--out", type=Path, help="where to write the scores (default: standard output)")
    r.add_argument("--threshold", type=float, help="anomaly above this score (default: the detector's)")
    r.add_argument("--season", default="1d", help="the seasonal cycle, e.g. 1d, 7d, or none (default: 1d)")


def cmd_anomaly(args: argparse.Namespace) -> int:
    """Run ``twinbridge anomaly replay``; 0 on success, 2 on bad input (the message names file:line)."""
    try:
        season = None if args.season.lower() in ("none", "off", "0") else duration(args.season, "--season")
        if season is not None and season <= 0:
            raise ValueError("--season must be a positive duration, or none")
        detector = make_detector(args.detector, season)
        series = read_series(args.file)
    except (DetectorError, ReplayError, ValueError) as exc:
        print(f"twinbridge anomaly replay: {exc}", file=sys.stderr)
        return 2
    threshold = detector.default_threshold if args.threshold is None else args.threshold
    scores = replay(detector, series)
    lines = format_scores(series, scores, threshold)
    text = "\n".join(lines) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"twinbridge anomaly replay: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    flags = [s > threshold for s in scores]
    alarms = sum(1 for i, f in enumerate(flags) if f and (i == 0 or not flags[i - 1]))
    print(
        f"{len(series.values)} rows, {sum(flags)} anomalous, {alarms} alarm(s) "
        f"({args.detector}, threshold {threshold:g})",
        file=sys.stderr,
    )
    return 0
