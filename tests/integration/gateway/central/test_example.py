"""examples/central-view.yaml run by ``twinbridge run`` (a mapping with only twin: and gateway:) against a real
Oxigraph server one edge gateway replicates into; and what a central view's mapping may not hold."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from bench._sparql_stores import OxigraphServer
from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "examples" / "central-view.yaml"
EDGE_TOKEN = "edge-operator-token-0123456789"
CENTRAL_TOKEN = "central-operator-token-0123456789"


def test_a_central_view_with_sources_of_its_own_is_refused_at_their_line() -> None:
    text = EXAMPLE.read_text() + "sources:\n  - {id: s1, kind: sim}\nassets:\n  - {id: a, type: site}\n"
    with pytest.raises(ConfigErrors) as caught:
        load_mappings(
            ["central.yaml"],
            texts={"central.yaml": text},
            env={"SITE_A_TOKEN": EDGE_TOKEN, "CENTRAL_TOKEN": CENTRAL_TOKEN},
        )
    lines = len(EXAMPLE.read_text().splitlines())
    messages = [str(e) for e in caught.value.errors]
    assert len(messages) == 2, messages
    assert any(m.startswith(f"central.yaml:{lines + 1}:") and "no sources of its own" in m for m in messages)
    assert any(m.startswith(f"central.yaml:{lines + 3}:") and "no assets of its own" in m for m in messages)


def test_a_central_view_computing_analytics_is_refused_at_the_line() -> None:
    text = EXAMPLE.read_text() + "alarms:\n  - {select: {class: brick:Temperature_Sensor}, high: 30}\n"
    with pytest.raises(ConfigErrors) as caught:
        load_mappings(
            ["central.yaml"],
            texts={"central.yaml": text},
            env={"SITE_A_TOKEN": EDGE_TOKEN, "CENTRAL_TOKEN": CENTRAL_TOKEN},
        )
    lines = len(EXAMPLE.read_text().splitlines())
    messages = [str(e) for e in caught.value.errors]
    assert any(m.startswith(f"central.yaml:{lines + 1}:") and "computes no alarms" in m for m in messages), messages


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def edge(oxigraph: OxigraphServer) -> AsyncIterator[Gateway]:
    doc = {
        "twin": {
            "name": "site-a",
            "base_iri": "http://company.example/",
            "replicate": [{**oxigraph.settings(), "flush_interval": "0.1s", "lease": "3s"}],
        },
        "gateway": {"http": {"port": 0, "tokens": [{"name": "central", "role": "operator", "token": EDGE_TOKEN}]}},
        "sources": [{"id": "sim1", "kind": "sim", "interval": "0.05s"}],
        "assets": [
            {"id": "site-a", "type": "site"},
            {"id": "site-a-ahu", "type": "brick:AHU", "parent": "site-a", "source": "sim1", "points": [
                {"id": "fan", "type": "setpoint", "unit": "PERCENT", "datatype": "float", "writable": True,
                 "min": 0, "max": 100, "address": {"signal": "constant", "initial": 50}}]},
        ],
    }  # fmt: skip
    gw = Gateway(load_mappings(["edge.yaml"], texts={"edge.yaml": yaml.safe_dump(doc)}))
    await gw.start()
    yield gw
    await gw.stop()


async def test_the_example_serves_and_routes_writes(oxigraph: OxigraphServer, edge: Gateway) -> None:
    port = _port()
    env = {
        **os.environ,
        "STORE_URL": oxigraph.settings()["url"],
        "SITE_A_URL": f"http://127.0.0.1:{edge.services['http'].port}",  # type: ignore[attr-defined]
        "SITE_A_TOKEN": EDGE_TOKEN,
        "CENTRAL_TOKEN": CENTRAL_TOKEN,
        "CENTRAL_HTTP_PORT": str(port),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "--log-level", "info", "run", str(EXAMPLE),
        cwd=ROOT, env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        log: list[str] = []
        while not any("twinbridge running" in line for line in log):
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            assert line, "".join(log)
            log.append(line)
        assert any("central view of " in line and "site-a" in line for line in log), "".join(log)
        headers = {"Authorization": f"Bearer {CENTRAL_TOKEN}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as http:
            points = {p["id"]: p for p in (await http.get("/points")).json()}
            assert points["site-a-ahu.fan"]["state"]["value"] == 50
            r = await http.put("/points/site-a-ahu.fan/value", json={"value": 72.5})
            assert r.status_code == 200 and r.json()["status"] == "Good", r.text
        await wait_for(lambda: edge.twin.state("site-a-ahu.fan").value == 72.5, 5, "the edge's device written")
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)
    assert proc.returncode == 0
