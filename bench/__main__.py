"""Run benchmarks: ``python -m bench`` (every area) or ``python -m bench store sparql --quick``.

Each area prints its Markdown table(s); the runner also writes every figure, with the machine's CPU count and
the library versions, to a JSON file (``--json PATH``, default ``bench-results.json``).
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import io
import json
import os
import pkgutil
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

_LIBS = (
    "pyoxigraph",
    "rdflib",
    "asyncua",
    "pymodbus",
    "aiomqtt",
    "paho-mqtt",
    "fastapi",
    "uvicorn",
    "pydantic",
    "playwright",
)


def areas() -> list[str]:
    """Every benchmark module (each exposes ``main(argv) -> int``)."""
    here = Path(__file__).parent
    names = (m.name for m in pkgutil.iter_modules([str(here)]))
    return sorted(n for n in names if not n.startswith("_") and n != "common")


def parse_tables(text: str) -> list[dict[str, str]]:
    """Rows of every Markdown table in ``text`` as dicts keyed by the header cells."""
    rows: list[dict[str, str]] = []
    headers: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            headers = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if headers is None:
            headers = cells
        elif not all(set(c) <= {"-", ":"} for c in cells):
            rows.append(dict(zip(headers, cells, strict=False)))
    return rows


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase) -> None:
        self.streams = streams

    def write(self, s: str) -> int:
        for st in self.streams:
            st.write(s)
        return len(s)

    def flush(self) -> None:
        for st in self.streams:
            st.flush()


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    versions = {}
    for lib in _LIBS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[lib] = metadata.version(lib)
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": versions,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(argv: list[str]) -> int:
    json_path = Path("bench-results.json")
    if "--json" in argv:
        i = argv.index("--json")
        json_path = Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    flags = [a for a in argv if a.startswith("-")]
    chosen = [a for a in argv if not a.startswith("-")] or areas()
    unknown = [a for a in chosen if a not in areas()]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(areas())}", file=sys.stderr)
        return 2
    results: dict[str, object] = {"machine": machine(), "quick": "--quick" in flags, "areas": {}}
    if "--quick" in flags and len(chosen) == 1:
        # a smoke run takes seconds: one still going after 90 s is stuck, and says where before it is killed
        faulthandler.dump_traceback_later(90, exit=True)
    print(f"machine: {results['machine']}")
    rc = 0
    for area in chosen:
        print(f"\n## {area}\n", flush=True)
        buf = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(_Tee(sys.stdout, buf)):  # type: ignore[arg-type]
            try:
                code = importlib.import_module(f"bench.{area}").main(flags)
            except Exception as exc:  # one broken area must not hide the others' figures
                print(f"FAILED: {type(exc).__name__}: {exc}")
                code = 1
        rc |= code
        results["areas"][area] = {  # type: ignore[index]
            "exit": code,
            "seconds": round(time.perf_counter() - t0, 1),
            "rows": parse_tables(buf.getvalue()),
            "output": buf.getvalue(),
        }
    json_path.write_text(json.dumps(results, indent=2))
    print(f"\nall figures: {json_path}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
