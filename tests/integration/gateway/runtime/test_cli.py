"""The twinbridge command end to end, in subprocesses."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[4]
DEMO = ROOT / "examples" / "sim-plant.yaml"


def tb(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=ROOT,
    )


def test_validate_reports_every_error_with_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sources:\n  - {id: s, kind: sim}\nassets:\n  - id: a\n    source: s\n    points:\n"
        "      - {id: t, unit: DEGC, datatype: float}\n      - {id: u, unit: DEG_C, datatype: flaot}\n"
    )
    r = tb("validate", str(bad))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert any(line.startswith(f"{bad}:7:") and "unknown unit 'DEGC'" in line for line in lines), r.stderr
    assert any(line.startswith(f"{bad}:8:") and "flaot" in line for line in lines), r.stderr
    assert "2 error(s); nothing started" in r.stderr


def test_validate_ok_on_demo() -> None:
    r = tb("validate", str(DEMO))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok:")


def test_graph_formats() -> None:
    r = tb("graph", str(DEMO), "--format", "nt")
    assert r.returncode == 0, r.stderr
    store = ox.Store()
    store.load(r.stdout.encode(), format=ox.RdfFormat.N_TRIPLES)
    q = "ASK { <http://demo.twinbridge.local/point/boiler1.supply_temp> <http://qudt.org/schema/qudt/hasUnit> ?u }"
    assert bool(store.query(q))
    ttl = tb("graph", str(DEMO), "--format", "turtle")
    assert ttl.returncode == 0 and "@prefix brick:" in ttl.stdout
    store2 = ox.Store()
    store2.load(ttl.stdout.encode(), format=ox.RdfFormat.TURTLE)
    assert len(store2) == len(store)
    js = tb("graph", str(DEMO), "--format", "jsonld")
    assert js.returncode == 0
    json.loads(js.stdout)


def test_run_starts_logs_summary_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "--log-level", "info", "run", str(DEMO), "--no-services"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if "twinbridge running" in line:
            break
    else:
        proc.kill()
        raise AssertionError("".join(seen))
    log = "".join(seen)
    assert "source boiler-sim (sim)" in log and "points" in log and "assets" in log
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0, rest
    assert "stopped" in rest


def test_run_refuses_invalid_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - {id: s, kind: nope}\n")
    r = tb("run", str(bad))
    assert r.returncode == 1
    assert f"{bad}:2:" in r.stderr and "unknown adapter kind 'nope'" in r.stderr


def test_graph_nquads_honours_the_graph() -> None:
    base = "http://demo.twinbridge.local/graph/"
    r = tb("graph", str(DEMO), "--format", "nquads", "--graph", "model")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines and all(line.endswith(f"<{base}model> .") for line in lines)
    every = tb("graph", str(DEMO), "--format", "nquads", "--graph", "all")
    graphs = {line.rsplit(" ", 2)[-2] for line in every.stdout.splitlines()}
    assert graphs == {f"<{base}{g}>" for g in ("model", "ontology", "live")}
    assert sum(line.endswith(f"<{base}model> .") for line in every.stdout.splitlines()) == len(lines)


async def test_graph_reads_the_store_of_a_running_gateway(tmp_path: Path) -> None:
    import asyncio

    from adapters.contract.sample import Quality
    from gateway.config.loader import load_mappings
    from gateway.runtime import Gateway
    from tests.conftest import wait_for
    from tests.integration.gateway.runtime.test_gateway_sim import MAPPING

    db = tmp_path / "db"
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("flush_interval: 50ms}", f"flush_interval: 50ms, store: '{db}'}}"))
    gw = Gateway(load_mappings([mapping]))
    await gw.start(services=False)
    raw_value = '<http://t.local/point/boiler1.raw> <https://w3id.org/twinbridge#value> "100'
    try:
        await wait_for(lambda: gw.twin.state("boiler1.raw").quality is Quality.GOOD)
        gw.twin.flush()
        # the gateway holds the store's lock: graph reads a snapshot instead of crashing on it
        r = await asyncio.to_thread(tb, "graph", str(mapping), "--format", "nquads", "--graph", "live")
        assert r.returncode == 0, r.stderr
        assert "in use by a running gateway" in r.stderr and "Traceback" not in r.stderr
        assert raw_value in r.stdout and "#Good>" in r.stdout
    finally:
        await gw.stop()
    before = ox.Store(str(db)).dump(format=ox.RdfFormat.N_QUADS)
    r = tb("graph", str(mapping), "--format", "nquads", "--graph", "live")
    assert r.returncode == 0 and raw_value in r.stdout and "in use" not in r.stderr
    assert ox.Store(str(db)).dump(format=ox.RdfFormat.N_QUADS) == before  # graph never writes the store
