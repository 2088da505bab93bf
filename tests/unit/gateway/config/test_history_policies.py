"""History policies from mappings (gateway/config/history.py): precedence, defaults and file:line errors."""

from __future__ import annotations

from pathlib import Path

from gateway.config.history import DEFAULT, HistoryPolicy, twin_default
from gateway.config.loader import load_mappings
from tests.unit.gateway.config.conftest import SIM, Errors, Load

DAY = 86400.0


def _asset(history: str = "", points: str = "") -> str:
    return (
        "assets:\n  - id: b1\n    source: sim1\n"
        + (f"    history: {history}\n" if history else "")
        + "    points:\n"
        + (points or "      - {id: t, unit: DEG_C, address: {signal: sine}}\n")
    )


def test_a_point_without_any_history_key_gets_the_default(load: Load) -> None:
    model = load(SIM + _asset())
    assert model.history == {"b1.t": DEFAULT}
    assert HistoryPolicy("all", None, None, 30 * DAY, ((3600.0, None),)) == DEFAULT


def test_each_key_comes_from_the_most_specific_level_that_sets_it(load: Load) -> None:
    text = (
        "twin:\n  history: {mode: all, retention: 7d, rollups: [{interval: 1m, retention: 1y}]}\n"
        "sources:\n  - {id: sim1, kind: sim, history: {mode: interval, interval: 10s}}\n"
        "assets:\n  - id: site\n    history: {mode: deadband, deadband: 0.2}\n"
        "  - id: b1\n    parent: site\n    source: sim1\n    points:\n"
        "      - {id: x, unit: DEG_C, address: {signal: sine}, history: {interval: 5s, mode: interval}}\n"
        "      - {id: y, unit: DEG_C, address: {signal: sine}}\n"
        "      - {id: z, unit: DEG_C, address: {signal: sine}, history: {mode: off}}\n"
        "      - {id: w, unit: DEG_C, address: {signal: sine}, history: {retention: forever}}\n"
    )
    h = load(text).history
    year = 31_557_600.0
    assert h["b1.x"] == HistoryPolicy("interval", 0.2, 5.0, 7 * DAY, ((60.0, year),))
    assert h["b1.y"] == HistoryPolicy("deadband", 0.2, 10.0, 7 * DAY, ((60.0, year),))  # the ancestor asset wins
    assert h["b1.z"] is None
    assert h["b1.w"].retention is None and h["b1.w"].mode == "deadband"


def test_a_profile_sits_between_the_asset_and_the_source(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "meter.yaml").write_text(
        "profile: meter\nhistory: {mode: deadband, deadband: 5}\npoints:\n"
        "  - {id: kw, unit: KiloW, address: {signal: sine}}\n"
        "  - {id: kwh, unit: KiloW-HR, address: {signal: sine}, history: {mode: all}}\n"
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "sources:\n  - {id: sim1, kind: sim, history: {mode: interval, interval: 1m}}\n"
        "assets:\n  - {id: m1, profile: meter, source: sim1}\n"
        "  - {id: m2, profile: meter, source: sim1, history: {deadband: 1}}\n"
    )
    h = load_mappings([mapping], env={}).history
    assert (h["m1.kw"].mode, h["m1.kw"].deadband) == ("deadband", 5.0)
    assert h["m1.kwh"].mode == "all"
    assert (h["m2.kw"].mode, h["m2.kw"].deadband) == ("deadband", 1.0)  # the instance's asset over its profile


def test_bad_values_are_errors_at_their_line(errors: Errors) -> None:
    text = SIM + _asset(
        points=(
            "      - {id: a, unit: DEG_C, address: {signal: sine}, history: {mode: sometimes}}\n"
            "      - {id: b, unit: DEG_C, address: {signal: sine}, history: {mode: deadband}}\n"
            "      - {id: c, unit: DEG_C, address: {signal: sine}, history: {retention: 3x}}\n"
            "      - {id: d, unit: DEG_C, address: {signal: sine}, history: {interval: 10s, mode: interval, rollups: "
            "[{interval: 1h}], retention: 10m}}\n"
            "      - {id: e, unit: DEG_C, address: {signal: sine}, history: {modus: all}}\n"
        )
    )
    errs = errors(text)
    assert any(e.startswith("m.yaml:7:") and "history.mode" in e and "sometimes" in e for e in errs), errs
    assert any(e.startswith("m.yaml:8:") and "mode deadband needs deadband:" in e for e in errs), errs
    assert any(e.startswith("m.yaml:9:") and "history.retention" in e and "30d" in e for e in errs), errs
    assert any(e.startswith("m.yaml:10:") and "cannot be computed from raw samples kept only 600s" in e for e in errs)
    assert any(e.startswith("m.yaml:11:") and "modus" in e for e in errs), errs


def test_twin_history_settings_are_checked(errors: Errors) -> None:
    errs = errors("twin:\n  history: {backend: postgresql}\n" + SIM + _asset())
    assert any(e.startswith("m.yaml:2:") and "needs url:" in e for e in errs), errs
    errs = errors("twin:\n  history: {backend: embedded, url: postgresql://x/y}\n" + SIM + _asset())
    assert any("the embedded store takes path:" in e for e in errs), errs


def test_a_relative_history_path_is_relative_to_the_mapping_file(tmp_path: Path) -> None:
    mapping = tmp_path / "sub" / "m.yaml"
    mapping.parent.mkdir()
    mapping.write_text("twin:\n  history: {path: data/hist}\n" + SIM + _asset())
    model = load_mappings([mapping], env={})
    assert model.settings.history is not None
    assert model.settings.history["path"] == str((tmp_path / "sub" / "data" / "hist").resolve())


def test_discovered_points_get_the_twin_default_and_mode_off_turns_recording_off(load: Load) -> None:
    model = load("twin:\n  history: {mode: off}\n" + SIM + _asset())
    assert model.history == {"b1.t": None} and twin_default(model.settings) is None
    model = load("twin:\n  history: {mode: interval, interval: 2s}\n" + SIM + _asset())
    assert twin_default(model.settings) == HistoryPolicy("interval", None, 2.0, 30 * DAY, ((3600.0, None),))
