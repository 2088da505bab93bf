"""A small twinbridge client: one SPARQL query, then the live stream of changes.

python examples/client.py http://127.0.0.1:8000 [TOKEN]
"""

from __future__ import annotations

import json
import sys

import httpx

QUERY = """PREFIX tb: <https://w3id.org/twinbridge#> PREFIX qudt: <http://qudt.org/schema/qudt/>
SELECT ?point ?value ?unit WHERE { ?point tb:value ?value . OPTIONAL { ?point qudt:hasUnit ?unit } }
ORDER BY ?point LIMIT 20"""


def main(base: str, token: str | None = None, changes: int = 10) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        r = http.get("/sparql", params={"query": QUERY}, headers={"Accept": "application/sparql-results+json"})
        r.raise_for_status()
        for row in r.json()["results"]["bindings"]:
            unit = row.get("unit", {}).get("value", "").rsplit("/", 1)[-1]
            print(f"{row['point']['value']:60} {row['value']['value']:>12} {unit}")
        print(f"\nfollowing the next {changes} changes (GET /stream)...")
        with http.stream("GET", "/stream", timeout=None) as stream:
            seen = 0
            for line in stream.iter_lines():
                if line.startswith("data: {"):
                    change = json.loads(line[6:])
                    print(f"{change['gateway_time']}  {change['point']:30} {change['value']!s:>12} {change['quality']}")
                    seen += 1
                    if seen >= changes:
                        break


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000", sys.argv[2] if len(sys.argv) > 2 else None)
