"""Run benchmarks: ``python -m bench`` (all areas) or ``python -m bench store sparql --quick``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def areas() -> list[str]:
    """Every benchmark module (each exposes ``main(argv) -> int``)."""
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    flags = [a for a in argv if a.startswith("-")]
    chosen = [a for a in argv if not a.startswith("-")] or areas()
    unknown = [a for a in chosen if a not in areas()]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(areas())}", file=sys.stderr)
        return 2
    rc = 0
    for area in chosen:
        print(f"\n## {area}\n", flush=True)
        rc |= importlib.import_module(f"bench.{area}").main(flags)
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
