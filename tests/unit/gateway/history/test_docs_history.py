"""docs/history.md's mapping example loads, and resolves to what the text says."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.config.loader import load_mappings

DOC = Path(__file__).parents[4] / "docs" / "history.md"


def test_the_mapping_example_resolves_as_documented(tmp_path: Path) -> None:
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    mapping = tmp_path / "m.yaml"
    mapping.write_text(block.group(1))
    model = load_mappings([mapping], env={})
    h = model.history
    assert h["boiler1.supply_temp"].mode == "all"
    assert (h["boiler1.return_temp"].mode, h["boiler1.return_temp"].deadband) == ("deadband", 0.2)
    assert h["boiler1.noise"] is None
    assert h["boiler1.supply_temp"].rollups == ((60.0, 31_557_600.0), (3600.0, None))
    assert model.settings.store == str(tmp_path / "data" / "twin")


def test_history_goes_next_to_the_twin_store_or_to_a_temporary_folder(tmp_path: Path) -> None:
    from gateway.history.service import History

    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    mapping = tmp_path / "m.yaml"
    mapping.write_text(block.group(1))
    model = load_mappings([mapping], env={})
    assert History(model).location().target == str(tmp_path / "data" / "twin-history")
    model.settings = model.settings.model_copy(update={"store": None})
    history = History(model)
    temp = Path(history.location().target)
    assert temp.is_dir() and "temporary" in history.describe()
    history.stop()
    assert not temp.exists()


def test_mode_off_everywhere_means_no_store_at_all(tmp_path: Path) -> None:
    from gateway.history.service import History

    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "twin: {history: {mode: off}}\nsources: [{id: s, kind: sim}]\n"
        "assets: [{id: a, source: s, points: [{id: t, unit: DEG_C, address: {signal: sine}}]}]\n"
    )
    history = History(load_mappings([mapping], env={}))
    assert not history.enabled and history.describe() == "history: off"
    mapping.write_text(mapping.read_text().replace("signal: sine}", "signal: sine}, history: {mode: all}"))
    assert History(load_mappings([mapping], env={})).enabled
