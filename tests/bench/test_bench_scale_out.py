"""``bench scale_out``'s instruments measure what they claim: the generated sites change 5 % a second spread over
the period, the end-to-end probe reads a lag that is the real one, the edge-versus-store check catches a stale or
missing value, and the cross-site query sums each site's power sensors once (Virtuoso answers the property path
with every pair twice). Against a real Virtuoso, the store whose quirks the bench works around."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bench._scale_out_sites import BASE, site_mapping
from bench._scale_out_store import CROSS_SITE_GRAPHS, LagProbe, Store, auth_of, live_graph, same_values, timed_query
from bench._sparql_stores import StoreNotInstalled, VirtuosoServer
from gateway.config.loader import load_mappings

pytestmark = pytest.mark.integration
BRICK = "https://brickschema.org/schema/Brick#"
TB = "https://w3id.org/twinbridge#"
XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtuosoServer]:
    try:
        server = VirtuosoServer(tmp_path_factory.mktemp("virtuoso"))
    except StoreNotInstalled as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}: .ci/run should have installed it")
        pytest.skip(exc.install)
    server.start()
    yield server
    server.remove()


def _until(done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.02)


def test_a_site_changes_five_percent_a_second_spread_over_the_period(tmp_path: Path) -> None:
    doc = site_mapping("s1", 2_500, period=20.0, sources=20, replicate=None)
    path = tmp_path / "s1.yaml"
    path.write_text(yaml.safe_dump(doc))
    model = load_mappings([path])
    assert len(model.points) == 2_500
    power = [p for p in model.points.values() if p.classes[0].endswith("#Electric_Power_Sensor")]
    assert len(power) == 250
    delays = sorted(s.connect_delay for s in model.sources.values())  # type: ignore[attr-defined]
    assert delays == [float(k) for k in range(20)]  # one source starting each second
    per_source = [len(model.points_of_source(sid)) for sid in model.sources]
    assert sum(per_source) == 2_500 and all(120 <= n <= 130 for n in per_source)  # 5 % each, whole equipment
    assert all(s.interval == 20.0 for s in model.sources.values())  # type: ignore[attr-defined]
    assert all(a.id.startswith("s1") for a in model.assets.values())  # unique across sites sharing a base IRI


def _state(point: str, value: float, at: datetime) -> str:
    s = f"<{BASE}point/{point}>"
    return (
        f'{s} <{TB}value> "{value!r}"^^<{XSD}double> .\n{s} <{TB}gatewayTime> "{at.isoformat()}"^^<{XSD}dateTime> .\n'
    )


def test_probe_check_and_cross_site_query_on_virtuoso(virtuoso: VirtuosoServer) -> None:
    settings = virtuoso.settings()
    store = Store(settings)
    graph = live_graph("t1")
    start = datetime.now(UTC)
    try:
        store.update(f"INSERT DATA {{ GRAPH <{graph}> {{ {_state('t1-a.p6', 21.123456789, start)} }} }}")
        probe = LagProbe(settings, [(graph, f"{BASE}point/t1-a.p6")], every=0.05).start()
        _until(lambda: probe.reads >= 1)  # its first reading: the value already there, not a lag
        at = datetime.now(UTC) - timedelta(seconds=0.5)  # a value the gateway got half a second ago
        store.update(
            f"DELETE WHERE {{ GRAPH <{graph}> {{ ?s <{TB}gatewayTime> ?t }} }} ;"
            f" INSERT DATA {{ GRAPH <{graph}> {{ <{BASE}point/t1-a.p6> <{TB}gatewayTime> "
            f'"{at.isoformat()}"^^<{XSD}dateTime> }} }}'
        )
        _until(lambda: len(probe.lags) >= 1)
        lags = probe.stop()
        assert len(lags) == 1 and 0.5 <= lags[0] < 0.8, lags

        # the check: equal to Virtuoso's 6 printed digits, and a stale time or a missing point is caught
        theirs = store.live_values(graph)
        assert same_values({f"{BASE}point/t1-a.p6": (21.123456789, at.isoformat())}, theirs) == (0, 0)
        stale = (21.123456789, (at - timedelta(seconds=1)).isoformat())
        assert same_values({f"{BASE}point/t1-a.p6": stale}, theirs) == (1, 0)
        assert same_values({f"{BASE}point/other": stale}, theirs) == (1, 1)

        # two sites: area > site, two power sensors and a temperature under each
        for site, values in (("t1", (10.0, 2.5)), ("t2", (1.0, 4.0))):
            model = [
                f"<{BASE}asset/{site}> a <{TB}Site> .",
                f"<{BASE}asset/{site}-ar> <{BRICK}isPartOf> <{BASE}asset/{site}> .",
            ]
            live = []
            for i, v in enumerate((*values, 99.0)):
                p = f"<{BASE}point/{site}-x{i}>"
                cls = "Electric_Power_Sensor" if i < 2 else "Temperature_Sensor"
                model += [f"{p} a <{BRICK}{cls}> .", f"{p} <{BRICK}isPointOf> <{BASE}asset/{site}-eq> ."]
                live.append(f'{p} <{TB}value> "{v}"^^<{XSD}double> .')
            model.append(f"<{BASE}asset/{site}-eq> <{BRICK}isPartOf> <{BASE}asset/{site}-ar> .")
            store.update(f"INSERT DATA {{ GRAPH <{BASE}gateway/{site}/model> {{ {' '.join(model)} }} }}")
            store.update(f"INSERT DATA {{ GRAPH <{BASE}gateway/{site}/live> {{ {' '.join(live)} }} }}")
        times, rows = timed_query(settings["url"], CROSS_SITE_GRAPHS, auth_of(settings), runs=2)
        totals = {r["site"]["value"]: (float(r["kw"]["value"]), int(r["sensors"]["value"])) for r in rows}
        assert totals == {f"{BASE}asset/t1": (12.5, 2), f"{BASE}asset/t2": (5.0, 2)}
        assert len(times) == 2 and all(t > 0 for t in times)
    finally:
        store.close()
