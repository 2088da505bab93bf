"""docs/dashboard.md shows one screenshot of each view, each a copy of one the browser tests save (so a view
the tests no longer photograph cannot keep a picture in the docs), and names every view the page routes to."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
DOC = ROOT / "docs" / "dashboard.md"
PNG = b"\x89PNG\r\n\x1a\n"


def test_every_picture_in_the_docs_is_a_screenshot_the_tests_take() -> None:
    pictures = re.findall(r"!\[[^\]]+\]\((img/dashboard/[^)]+\.png)\)", DOC.read_text())
    taken = {
        name
        for path in (ROOT / "tests" / "browser").glob("test_*.py")
        for name in re.findall(r'\.shot\("([^"]+)"\)', path.read_text())
    }
    assert len(pictures) >= 8
    for picture in pictures:
        path = DOC.parent / picture
        assert path.read_bytes()[:8] == PNG, picture
        assert path.stem in taken, f"{picture}: no browser test saves it"


def test_every_view_is_documented() -> None:
    app = (ROOT / "gateway" / "northbound" / "dashboard" / "static" / "js" / "app.js").read_text()
    views = set(re.findall(r"^  (\w+): \"\./\w+\.js\",$", app, re.M))
    assert views >= {"plant", "trends", "alarms", "sparql", "sources", "graph"}
    text = DOC.read_text()
    for view in views:
        assert f"#/{view}" in text, view
