"""Detection quality of the anomaly detectors on labelled series, against a static-threshold baseline.

Series: the NAB development set in ``../shared/datasets/nab/`` (when that folder exists: ``data/*.csv`` and
``windows.json``) and a generated supply temperature with injected faults (spike, stuck sensor, drift, pump
failure; ``gateway.analytics.anomaly.synthetic``), labelled with each fault's time plus 15 minutes.

Scoring follows the dataset's README: an *alarm* is the onset of a run of anomalous samples (an alarm engine
raises it once); a window counts as found when at least one alarm falls inside it; an alarm outside every window
is a false positive. Precision = alarms inside windows / all alarms, recall = windows found / windows, F1 over
the totals of all series; delay = first alarm in a window minus the window's start (median over found windows).

The baseline is a static threshold: mean ± 3 standard deviations of the first 15 % of the series (which a
detector also gets to learn from; the first 15 % are not scored for either). Run it:
``python -m bench._analytics_quality [--quick]`` (H's ``python -m bench analytics`` calls ``quality_table``).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.analytics.anomaly.detectors import make_detector
from gateway.analytics.anomaly.replay import parse_time, read_series
from gateway.analytics.anomaly.synthetic import generate

NAB = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "nab"
LEARN = 0.15  # share of each series the static baseline learns from (and that is not scored)


@dataclass(frozen=True, slots=True)
class Labelled:
    name: str
    times: list[float]
    values: list[float]
    windows: list[tuple[float, float]]


@dataclass
class Outcome:
    """One detector on one series."""

    series: str
    detector: str
    windows: int
    found: int
    alarms: int
    true_alarms: int
    delays: list[float]

    @property
    def false_positives(self) -> int:
        return self.alarms - self.true_alarms


def labelled_series(quick: bool = False) -> list[Labelled]:
    """The NAB series (when the folder is there; only two with ``quick``) and the generated one."""
    out: list[Labelled] = []
    windows_file = NAB / "windows.json"
    if windows_file.is_file():
        windows = json.loads(windows_file.read_text(encoding="utf-8"))
        names = sorted(windows)[:: 4 if quick else 1]
        for name in names:
            series = read_series(NAB / "data" / name)
            spans = [(parse_time(a), parse_time(b)) for a, b in windows[name]]
            out.append(Labelled(name.removesuffix(".csv"), series.times, series.values, spans))
    gen = generate(days=6 if quick else 10)
    out.append(Labelled(gen.name, gen.times, gen.values, gen.windows()))
    return out


def onsets(times: Sequence[float], flags: Sequence[bool], start: int) -> list[float]:
    """The times at which runs of flagged samples begin, from index ``start`` on."""
    out: list[float] = []
    previous = False
    for i in range(start, len(flags)):
        if flags[i] and not previous:
            out.append(times[i])
        previous = flags[i]
    return out


def evaluate(series: Labelled, detector: str, flags: Sequence[bool]) -> Outcome:
    """Windows found, alarms inside and outside windows, and delays, for one detector's anomaly flags."""
    start = int(len(series.times) * LEARN)
    alarms = onsets(series.times, flags, start)
    scored = [(a, b) for a, b in series.windows if b >= series.times[start]]
    inside = [a for a in alarms if any(lo <= a <= hi for lo, hi in scored)]
    delays = []
    for lo, hi in scored:
        hits = [a for a in alarms if lo <= a <= hi]
        if hits:
            delays.append(hits[0] - lo)
    return Outcome(series.name, detector, len(scored), len(delays), len(alarms), len(inside), delays)


def static_flags(values: Sequence[float]) -> list[bool]:
    """The baseline: outside mean ± 3 sd of the first ``LEARN`` share."""
    head = [v for v in values[: max(2, int(len(values) * LEARN))] if not math.isnan(v)]
    mean, sd = statistics.fmean(head), statistics.pstdev(head)
    return [not (mean - 3 * sd <= v <= mean + 3 * sd) for v in values]


def detector_flags(name: str, series: Labelled, threshold: float | None = None) -> list[bool]:
    """The default-configured detector's anomaly flags (its default threshold unless one is given)."""
    det = make_detector(name)
    limit = det.default_threshold if threshold is None else threshold
    return [s > limit for s in det.score(series.times, series.values)]


def outcomes(quick: bool = False, detectors: Sequence[str] = ("seasonal",)) -> list[Outcome]:
    """Every series with each detector and the static baseline."""
    out: list[Outcome] = []
    for series in labelled_series(quick):
        for name in detectors:
            out.append(evaluate(series, name, detector_flags(name, series)))
        out.append(evaluate(series, "static 3 sd", static_flags(series.values)))
    return out


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _delay(delays: Sequence[float]) -> str:
    return "-" if not delays else f"{statistics.median(delays) / 60:.0f} min"


def quality_table(quick: bool = False, detectors: Sequence[str] = ("seasonal",)) -> list[list[str]]:
    """Table rows (``HEADERS``): per series and detector, then a total per detector."""
    results = outcomes(quick, detectors)
    rows: list[list[str]] = []
    for o in results:
        rows.append(_row(o.series, o.detector, [o]))
    for name in (*detectors, "static 3 sd"):
        mine = [o for o in results if o.detector == name]
        rows.append(_row("**all**", name, mine))
    return rows


HEADERS = ["series", "detector", "windows found", "alarms (false)", "precision", "recall", "F1", "median delay"]


def _row(series: str, detector: str, results: Sequence[Outcome]) -> list[str]:
    windows = sum(o.windows for o in results)
    found = sum(o.found for o in results)
    alarms = sum(o.alarms for o in results)
    true = sum(o.true_alarms for o in results)
    precision, recall = _ratio(true, alarms), _ratio(found, windows)
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if alarms else None)
    delays = [d for o in results for d in o.delays]
    return [
        series,
        detector,
        f"{found}/{windows}",
        f"{alarms} ({alarms - true})",
        _fmt(precision),
        _fmt(recall),
        _fmt(f1),
        _delay(delays),
    ]


def markdown(rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    detectors = ["seasonal"]
    if "--hst" in args:
        detectors.append("hst")
    print(markdown(quality_table("--quick" in args, detectors)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
