"""``twinbridge discover echo VALUE...``: a draft mapping with one echo point per value."""

from __future__ import annotations

import sys

from adapters.contract.units import UnitCatalog


def main(argv: list[str], units: UnitCatalog) -> int:
    """Print the draft; the unit of every point is the one the core's catalog knows for UNECE code CEL."""
    unit = units.by_unece("CEL")[0]
    points = ", ".join(
        f"{{id: p{i}, unit: {unit}, datatype: double, address: {{value: {v}}}}}" for i, v in enumerate(argv)
    )
    sys.stdout.write(f"sources: [{{id: e1, kind: echo}}]\nassets: [{{id: a, source: e1, points: [{points}]}}]\n")
    return 0
