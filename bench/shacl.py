"""The SHACL check `twinbridge validate` runs: how long it takes per model size.

Baseline, same run: materializing the same model's triples (the check validates them, so it can never be
cheaper than that). The check itself is pyshacl on the model graph plus the ontology terms the shapes need.

    python -m bench shacl [--quick]
"""

from __future__ import annotations

import time

from bench.common import synthetic_model, table
from gateway.shacl import check_model
from gateway.twin.materialize import model_ntriples
from gateway.twin.vocab import TwinIRIs


def measure(n_points: int) -> tuple[float, float, int]:
    """Seconds to materialize, seconds to check, violations found (0 expected) for a synthetic model."""
    model = synthetic_model(n_points)
    t0 = time.perf_counter()
    model_ntriples(model, TwinIRIs(model.settings.base_iri))
    materialize_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    errors = check_model(model)
    return materialize_s, time.perf_counter() - t0, len(errors)


def main(argv: list[str]) -> int:
    sizes = [100, 300] if "--quick" in argv else [1_000, 5_000, 20_000]
    rows = []
    for n in sizes:
        materialize_s, check_s, violations = measure(n)
        rows.append([n, f"{materialize_s:.3f}", f"{check_s:.2f}", violations])
    print(table(["points", "baseline: materialize s", "SHACL check s", "violations"], rows))
    return 0
