"""Benchmarks are not timed tests: the suite only checks that each one's ``--quick`` mode runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import areas

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("area", areas())
def test_quick_run(area: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = subprocess.run(
        [sys.executable, "-m", "bench", area, "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,  # under pytest's 120 s, so a hung area fails with its own output
        check=False,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["machine"]["cpus"] and data["areas"][area]["rows"], r.stdout[-2000:]
