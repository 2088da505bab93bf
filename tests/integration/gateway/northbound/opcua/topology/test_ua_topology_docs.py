"""docs/opcua-server.md's topology example, run as written: its mapping excerpt served, its client code run."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from tests.integration.gateway.northbound.opcua.conftest import client, endpoint, opcua_section, running, twin_header
from tests.integration.gateway.northbound.opcua.topology.conftest import ns_of

DOC = Path(__file__).parents[6] / "docs" / "opcua-server.md"
SOURCES = "sources:\n  - {id: sim1, kind: sim, interval: 50ms}\n"


def _blocks() -> tuple[str, str]:
    """The topology section's YAML mapping excerpt and Python client code."""
    text = DOC.read_text()
    section = text[text.index("## Topology") :]
    section = section[: section.index("\n## ", 1)]
    yaml_block = re.search(r"```yaml\n(.*?)```", section, re.S)
    python_block = re.search(r"```python\n(.*?)```", section, re.S)
    assert yaml_block and python_block
    return yaml_block.group(1), python_block.group(1)


async def test_the_documented_client_sees_what_the_documented_mapping_says(tmp_path: Path) -> None:
    mapping, code = _blocks()
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # the doc's code, as a reader would paste it
    expected = [line.split("  # ", 1)[1] for line in code.splitlines() if "print(" in line]
    out = io.StringIO()
    text = twin_header("plant") + opcua_section(tmp_path) + SOURCES + mapping
    async with running(text) as gw, client(endpoint(gw)) as c:
        with contextlib.redirect_stdout(out):
            await namespace["tour"](c, await ns_of(c))  # type: ignore[operator]
    assert out.getvalue().splitlines() == expected
