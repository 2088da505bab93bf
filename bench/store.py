"""Which RDF store for the twin: rdflib in memory vs rdflib on Oxigraph (oxrdflib) vs pyoxigraph directly.

The twinbridge row is measured twice in the same run: with the standard live terms (SOSA ``hasSimpleResult`` /
``resultTime`` and Brick ``lastKnownValue`` -> ``value``/``timestamp`` beside ``tb:value``, the default) and with
``twin.standard_values: false`` (tb: terms only), interleaved round by round, so the cost of the standard terms
is one row apart.

The workload is the twin's own: materialize a plant, then rounds of live updates in which a share of the points
change (several samples each between flushes, coalesced to one write per point), with typical SPARQL queries
between rounds. Every store gets the same coalesced writes; they differ only in how the writes and queries run.

    python -m bench store [--quick]
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

import rdflib
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from adapters.contract.sample import PointState, Quality, utcnow
from bench.common import median, pct, synthetic_model, table
from gateway.model import TwinModel
from gateway.twin.materialize import model_ntriples
from gateway.twin.twin import Twin
from gateway.twin.vocab import GATEWAY_TIME, QUALITY, QUALITY_IRIS, SOURCE_TIME, STATUS_CODE, VALUE, TwinIRIs

QUERIES = {
    "hot supply-air temps": """
        PREFIX tb: <https://w3id.org/twinbridge#> PREFIX brick: <https://brickschema.org/schema/Brick#>
        PREFIX qudt: <http://qudt.org/schema/qudt/> PREFIX unit: <http://qudt.org/vocab/unit/>
        SELECT ?p ?v ?eq WHERE { ?p a brick:Supply_Air_Temperature_Sensor ; qudt:hasUnit unit:DEG_C ;
          tb:value ?v ; brick:isPointOf ?eq . FILTER(?v > 60) }""",
    "points of one area": """
        PREFIX brick: <https://brickschema.org/schema/Brick#>
        SELECT ?p WHERE { ?p brick:isPointOf/brick:isPartOf <http://bench.local/asset/area3> }""",
    "count by quality": """
        PREFIX tb: <https://w3id.org/twinbridge#>
        SELECT ?q (COUNT(?p) AS ?n) WHERE { ?p tb:quality ?q } GROUP BY ?q""",
    "one point + address": """
        PREFIX tb: <https://w3id.org/twinbridge#> PREFIX ref: <https://brickschema.org/schema/Brick/ref#>
        SELECT ?v ?q ?src WHERE { <http://bench.local/point/ahu7.p0> tb:value ?v ; tb:quality ?q ;
          ref:hasExternalReference/tb:viaSource ?src }""",
}


def _rounds(n_points: int, rounds: int, share: float, samples_each: int, seed: int = 1) -> list[list[PointState]]:
    """Per round, the samples that arrive between two flushes."""
    rng = random.Random(seed)
    pids = [f"ahu{e}.p{i}" for e in range((n_points + 7) // 8) for i in range(8)][:n_points]
    pids = [p for p in pids if not p.endswith(".p4")]  # p4 is a bool status point
    out = []
    for _ in range(rounds):
        changed = rng.sample(pids, int(len(pids) * share))
        batch = []
        for pid in changed:
            for _ in range(samples_each):
                now = utcnow()
                batch.append(PointState(pid, rng.uniform(0, 100), now, now, Quality.GOOD, "Good", None))
        out.append(batch)
    return out


class _RdflibTwin:
    """The same twin on an rdflib Graph (in memory, or Oxigraph through oxrdflib)."""

    def __init__(self, store: str, model_nt: str, ids: TwinIRIs) -> None:
        self.g = rdflib.Graph(store=store)
        self.g.parse(data=model_nt, format="nt")
        self.ids = ids
        self.preds = [URIRef(p) for p in (VALUE, SOURCE_TIME, GATEWAY_TIME, QUALITY, STATUS_CODE)]
        self.qual = [URIRef(q) for q in QUALITY_IRIS]

    def write(self, states: dict[str, PointState]) -> None:
        g = self.g
        v, st, gt, q, sc = self.preds
        for pid, s in states.items():
            subj = URIRef(self.ids.point(pid))
            for p in self.preds:
                g.remove((subj, p, None))
            g.add((subj, v, Literal(s.value, datatype=XSD.double)))
            g.add((subj, st, Literal(s.source_ts)))
            g.add((subj, gt, Literal(s.gateway_ts)))
            g.add((subj, q, self.qual[s.quality]))
            g.add((subj, sc, Literal(s.status)))

    def query(self, q: str) -> int:
        r = self.g.query(q)
        return sum(1 for _ in r)


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _twinbridge_rows(variants: dict[str, TwinModel], workload: list[list[PointState]]) -> list[list[object]]:
    """One row per variant of the twin. The variants run interleaved, round by round and query by query, in
    alternating order, so a noisy machine weighs on each alike: compare these rows with each other."""
    twins: dict[str, Twin] = {}
    build: dict[str, float] = {}
    for label, model in variants.items():
        build[label] = _time(lambda label=label, model=model: twins.__setitem__(label, Twin(model)))
    for twin in twins.values():  # give every point a value first, as a running twin has
        for pid in list(twin.live.states):
            now = utcnow()
            value = 1.0 if not pid.endswith(".p4") else True
            twin.live.set(PointState(pid, value, now, now, Quality.GOOD, "Good", None))
        twin.flush()
    flush_times: dict[str, list[float]] = {label: [] for label in twins}
    busy: dict[str, float] = dict.fromkeys(twins, 0.0)
    order = list(twins)
    for batch in workload:
        for label in order:
            twin = twins[label]
            t0 = time.perf_counter()
            for s in batch:
                twin.live.set(s)
            flush_times[label].append(_time(twin.flush))
            busy[label] += time.perf_counter() - t0
        order.reverse()
    q_lat: dict[str, dict[str, list[float]]] = {label: {name: [] for name in QUERIES} for label in twins}
    for _ in range(5):
        for name, q in QUERIES.items():
            for label in order:
                twin = twins[label]
                q_lat[label][name].append(_time(lambda q=q, t=twin: list(t.query_sync(q))))
            order.reverse()
    total_samples = sum(len(b) for b in workload)
    return [
        [
            label,
            len(variants[label].points),
            f"{build[label]:.2f}",
            f"{total_samples / busy[label]:,.0f}",
            f"{median(flush_times[label]) * 1000:.1f}",
            *(f"{median(v) * 1000:.1f}" for v in q_lat[label].values()),
        ]
        for label in twins
    ]


def run(n_points: int, rounds: int, share: float, samples_each: int) -> list[list[object]]:
    model = synthetic_model(n_points)
    ids = TwinIRIs(model.settings.base_iri)
    nt = model_ntriples(model, ids)
    workload = _rounds(n_points, rounds, share, samples_each)
    rows: list[list[object]] = []

    # twinbridge: pyoxigraph + LiveTable coalescing + one SPARQL update per flush; with the standard live terms
    # (SOSA, Brick lastKnownValue: the default) and with tb: values only (twin.standard_values: false)
    lean = synthetic_model(n_points)
    lean.settings = lean.settings.model_copy(update={"standard_values": False})
    variants = {"pyoxigraph (twinbridge)": model, "pyoxigraph (twinbridge), standard_values off": lean}
    rows.extend(_twinbridge_rows(variants, workload))

    for label, store in (("rdflib Memory", "Memory"), ("rdflib + oxrdflib", "Oxigraph")):
        try:
            holder: list[_RdflibTwin] = []
            build = _time(lambda store=store, h=holder: h.append(_RdflibTwin(store, nt, ids)))
        except Exception as exc:  # oxrdflib missing
            rows.append([label, n_points, f"n/a ({exc})", "", "", *[""] * len(QUERIES)])
            continue
        rt = holder[0]
        flush_times = []
        total_samples = 0
        t_all = time.perf_counter()
        for batch in workload:
            coalesced = {s.point: s for s in batch}
            total_samples += len(batch)
            flush_times.append(_time(lambda c=coalesced, t=rt: t.write(c)))
        elapsed = time.perf_counter() - t_all
        q_lat = {name: [_time(lambda q=q, t=rt: t.query(q)) for _ in range(3)] for name, q in QUERIES.items()}
        rows.append(
            [
                label,
                n_points,
                f"{build:.2f}",
                f"{total_samples / elapsed:,.0f}",
                f"{median(flush_times) * 1000:.1f}",
                *(f"{median(v) * 1000:.1f}" for v in q_lat.values()),
            ]
        )
    return rows


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    sizes = [500] if quick else [5_000, 20_000]
    rounds = 2 if quick else 10
    headers = [
        "store",
        "points",
        "build s",
        "samples/s (coalesced)",
        "flush ms (p50)",
        *(f"{name} ms" for name in QUERIES),
    ]
    rows: list[list[object]] = []
    for n in sizes:
        rows.extend(run(n, rounds, share=0.2, samples_each=5))
    print(
        f"workload: per round 20% of points change, 5 samples each, one flush; {rounds} rounds; "
        "query latency = median of repeated runs incl. reading all rows"
    )
    print(table(headers, rows))
    _ = pct
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
