"""The import contracts of pyproject's [tool.importlinter] fail on a deliberate violation.

Each case copies the packages and pyproject.toml into a temporary folder, adds one forbidden import to one
module, and runs ``lint-imports`` there on the contract that must catch it (CI runs every contract on the real
tree). A type-only import counts like any other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TYPE_ONLY = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import {target}\n"

CASES = [
    ("adapters-no-gateway", "adapters/sim/adapter.py", "gateway.units", "adapters.sim.adapter -> gateway.units"),
    (
        "protocols-below",
        "protocols/sparkplug/codec.py",
        "adapters.mqtt.sparkplug",
        "protocols.sparkplug.codec -> adapters.mqtt.sparkplug",
    ),
    ("contract-alone", "adapters/contract/sample.py", "adapters.modbus", "adapters.contract.sample -> adapters.modbus"),
    ("adapters-independent", "adapters/sim/adapter.py", "adapters.mqtt", "adapters.sim.adapter -> adapters.mqtt"),
    ("twin-inward", "gateway/twin/live.py", "gateway.config.loader", "gateway.twin.live -> gateway.config.loader"),
    (
        "northbound-narrow",
        "gateway/northbound/http/routes/system.py",
        "gateway.runtime",
        "routes.system -> gateway.runtime",
    ),
    ("layers", "gateway/model.py", "gateway.config.models", "gateway.model -> gateway.config.models"),
]


def _lint(tree: Path, contract: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the copy, not the installed packages
    cli = "from importlinter.cli import lint_imports_command; lint_imports_command()"  # the lint-imports script
    return subprocess.run(
        [sys.executable, "-c", cli, "--no-cache", "--contract", contract],
        check=False,
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.ttl", "*.pyc")
    for pkg in ("gateway", "adapters", "protocols"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize(("contract", "module", "target", "reported"), CASES, ids=[c[0] for c in CASES])
def test_a_forbidden_import_breaks_its_contract(
    tree: Path, contract: str, module: str, target: str, reported: str
) -> None:
    path = tree / module
    path.write_text(path.read_text() + "\n" + TYPE_ONLY.format(target=target))
    result = _lint(tree, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and reported in result.stdout, result.stdout


def test_every_contract_has_a_case() -> None:
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {c["id"] for c in contracts} == {c[0] for c in CASES}
