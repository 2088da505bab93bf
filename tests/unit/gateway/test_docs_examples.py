"""Every YAML block in README.md and docs/*.md is a mapping that validates, or is marked a fragment.

A block whose first line is a ``# fragment`` comment (``# fragment: entries of assets:``) is a piece of a
mapping shown on its own; it must still parse as YAML. Every other block is validated like
``twinbridge validate --allow-missing-env`` (each file on its own, ``${VAR}``s as placeholders, then the SHACL
shapes), so a key renamed in the code cannot stay in the documentation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from gateway.config.errors import ConfigError, ConfigErrors
from gateway.config.loader import load_mappings
from gateway.shacl import check_model

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```ya?ml[ \t]*\n(.*?)^```", re.S | re.M)


def yaml_blocks(path: Path) -> list[tuple[int, str]]:
    """(line of the block's first line, text) of every ```yaml block in a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(text[: m.start(1)].count("\n") + 1, m.group(1)) for m in BLOCK.finditer(text)]


def is_fragment(block: str) -> bool:
    return block.lstrip().startswith("# fragment")


BLOCKS = [(p, line, text) for p in DOCS for line, text in yaml_blocks(p)]
IDS = [f"{p.relative_to(ROOT)}:{line}" for p, line, _ in BLOCKS]


def check_block(name: str, line: int, text: str) -> list[str]:
    """Every problem ``twinbridge validate --allow-missing-env`` reports for ``text``, as lines whose positions
    are those in the Markdown file ``name`` (the block starts on ``line``)."""
    notes: list[ConfigError] = []
    try:
        model = load_mappings([name], texts={name: "\n" * (line - 1) + text}, notes=notes)
    except ConfigErrors as exc:
        return [str(e) for e in exc.errors]
    return [str(e) for e in check_model(model)]


def test_the_documentation_has_mapping_blocks() -> None:
    assert sum(not is_fragment(t) for _, _, t in BLOCKS) >= 5
    assert any(p.name == "README.md" and not is_fragment(t) for p, _, t in BLOCKS)


@pytest.mark.parametrize(("path", "line", "text"), BLOCKS, ids=IDS)
def test_yaml_block_validates_or_is_a_marked_fragment(path: Path, line: int, text: str) -> None:
    data = yaml.safe_load(text)  # fragments too must be YAML
    if is_fragment(text):
        return
    assert isinstance(data, dict), "a block that is no whole mapping must start with '# fragment'"
    problems = check_block(str(path.relative_to(ROOT)), line, text)
    assert problems == []


def test_a_stale_block_is_caught(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("intro\n\n```yaml\nsources:\n  - {id: s, kind: sim, interval: fast}\n```\n", encoding="utf-8")
    [(line, text)] = yaml_blocks(doc)
    assert line == 4 and not is_fragment(text)
    assert check_block("doc.md", line, text) == [
        "doc.md:5:24: sources[0].interval: expected a duration such as 500ms, 2s or 1m (got 'fast')"
    ]
    assert is_fragment("# fragment: entries of assets:\n  - {id: a}\n")
