"""The dashboard's files: every one ships in the wheel (pyproject package-data), every reference resolves to a
shipped file, nothing is fetched from elsewhere, and no script builds markup from strings or runs strings as code
(the CSP would block inline script anyway; this keeps the sources honest)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from gateway.northbound.dashboard.serve import STATIC

ROOT = Path(__file__).resolve().parents[5]
PACKAGE = STATIC.parent


def _shipped() -> set[Path]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    return {p for pattern in data["gateway.northbound.dashboard"] for p in PACKAGE.glob(pattern) if p.is_file()}


def _sources() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.is_file() and not p.is_relative_to(STATIC / "vendor"))


def test_every_file_of_the_page_ships_in_the_wheel() -> None:
    every = {p for p in STATIC.rglob("*") if p.is_file()}
    assert every - _shipped() == set(), "add a package-data pattern for these"


def test_every_reference_resolves_to_a_shipped_file() -> None:
    shipped = _shipped()
    html = (STATIC / "index.html").read_text()
    for ref in re.findall(r'(?:href|src)="(/ui/[^"]+)"', html):
        assert STATIC / ref.removeprefix("/ui/") in shipped, ref
    for js in STATIC.rglob("*.js"):
        text = js.read_text()
        for ref in re.findall(r"""["'](\.{1,2}/[^"']+\.(?:js|css|json))["']""", text):  # imports and view maps
            assert (js.parent / ref).resolve() in {p.resolve() for p in shipped}, f"{js.name}: {ref}"


def test_nothing_is_fetched_from_elsewhere_and_no_string_becomes_code_or_markup() -> None:
    for path in _sources():
        text = path.read_text()
        # where a page loads or sends something: fetch(), import, src/href, url() (namespace IRIs are only names)
        loads = re.findall(r"""(?:fetch\(|import\(?|from|src=|href=|url\()\s*["'`]?([^"'`)\s]*)""", text)
        assert not [u for u in loads if re.match(r"(https?:)?//", u)], f"{path.name}: an outside address"
        if path.suffix == ".js":
            for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
                assert banned not in text, f"{path.name} uses {banned}"
        if path.suffix == ".html":
            assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline script"
            assert not re.search(r"\sstyle=|\son[a-z]+=", text), "inline style or handler"


def test_the_vendored_chart_library_keeps_its_licence() -> None:
    vendor = STATIC / "vendor" / "uplot"
    assert "MIT License" in (vendor / "LICENSE").read_text()
    assert "uplot@1.6.32" in (vendor / "SOURCE.md").read_text()
