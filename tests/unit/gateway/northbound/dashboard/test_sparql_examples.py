"""The SPARQL console's example queries (dashboard static/sparql-examples.json) are exactly the documented ones,
those of examples/queries.md that tests/e2e/test_example_queries.py runs on the demo: same prefixes, same
titles, same query text, same order. Docs and console cannot drift apart: after editing examples/queries.md run

    python tests/unit/gateway/northbound/dashboard/test_sparql_examples.py

to write the JSON again (the test says so when they differ)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[5]
DOC = ROOT / "examples" / "queries.md"
SHIPPED = ROOT / "gateway" / "northbound" / "dashboard" / "static" / "sparql-examples.json"
REGENERATE = f"python {Path(__file__).relative_to(ROOT)}"


def _plain(markdown: str) -> str:
    """A paragraph of Markdown as plain text for a tooltip: `code` and [links](...) keep their text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", markdown)
    return " ".join(text.replace("`", "").split())


def documented() -> dict[str, Any]:
    """The prefixes block and every example (title, first paragraph, query) of examples/queries.md."""
    text = DOC.read_text(encoding="utf-8")
    prefixes = text.split("```\n", 2)[1].split("```")[0]  # the unlabelled block, as the e2e test reads it
    examples = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, body = section.split("\n", 1)
        queries = re.findall(r"```sparql\n(.*?)```", body, re.S)
        assert len(queries) == 1, f"{DOC.name}: section {heading!r} should hold one query, has {len(queries)}"
        about = body.strip().split("\n\n", 1)[0]
        examples.append(
            {
                "title": re.sub(r"^\d+\.\s*", "", heading.strip()),
                "about": "" if about.startswith("```") else _plain(about),
                "query": queries[0],
            }
        )
    return {"source": "examples/queries.md", "prefixes": prefixes, "examples": examples}


def test_the_console_ships_the_documented_examples() -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert shipped == documented(), f"static/sparql-examples.json differs from {DOC.name}: run {REGENERATE}"


def test_they_are_the_queries_the_demo_answers() -> None:
    # the same text tests/e2e/test_example_queries.py runs on the demo plant (prefixes + query)
    text = DOC.read_text(encoding="utf-8")
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert [e["query"] for e in shipped["examples"]] == re.findall(r"```sparql\n(.*?)```", text, re.S)
    assert len(shipped["examples"]) == 12
    assert all(e["title"] and e["about"] for e in shipped["examples"])
    declared = re.findall(r"PREFIX (\w+):", shipped["prefixes"])
    assert {"tb", "brick", "qudt", "unit", "rdfs", "sosa", "xsd"} <= set(declared)


if __name__ == "__main__":
    SHIPPED.write_text(json.dumps(documented(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {SHIPPED.relative_to(ROOT)}")
