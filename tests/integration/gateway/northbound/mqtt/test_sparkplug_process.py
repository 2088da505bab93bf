"""The documentation's Sparkplug example run as ``twinbridge run`` processes, seen by an independent host: a
gateway killed with SIGKILL is declared dead by its will (NDEATH with the bdSeq of its NBIRTH), the restarted one
goes on with the next bdSeq (kept on disk), takes a DCMD write, and says NDEATH itself when stopped cleanly.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.adapters.mqtt.mqtt_helpers import Broker
from tests.integration.gateway.northbound.mqtt.sparkplug_host import SparkplugHost

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[5] / "docs" / "mqtt-north.md"
G, N = "plant", "twinbridge1"


def docs_example() -> dict[str, Any]:
    """The mapping of the docs' "Sparkplug B edge node" section."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Sparkplug B edge node") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    data = yaml.safe_load(block.group(1))
    assert isinstance(data, dict)
    return data


def _start(mapping: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "gateway.cli", "--log-level", "warning", "run", str(mapping)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_a_killed_gateway_is_declared_dead_with_its_bdseq_and_the_next_one_goes_on(
    tmp_path: Path, broker: Broker
) -> None:
    data = docs_example()
    [entry] = data["gateway"]["mqtt"]["brokers"]
    assert entry["sparkplug"]["primary_host"] == "ignition"
    entry["url"] = broker.url
    entry["buffer"] = {"path": str(tmp_path / "buffer")}  # where bdSeq is kept across restarts
    mapping = tmp_path / "plant.yaml"
    mapping.write_text(yaml.safe_dump(data, sort_keys=False))
    host = SparkplugHost(broker.port, "ignition", G)
    host.start()
    node = host.node(G, N)
    proc = _start(mapping)
    try:
        await host.wait(lambda: node.online and "boiler1" in node.devices, 30, "the first gateway's births")
        born = node.devices["boiler1"].metrics
        assert born["supply_temp"].properties["engUnit"] == (12, "°C") and born["supply_sp"].alias is not None
        first = node.bdseq
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        await host.wait(lambda: node.deaths == [first], 10, "NDEATH from the killed gateway's will")
        assert not node.online and not node.devices["boiler1"].online

        proc = _start(mapping)
        await host.wait(lambda: node.online, 30, "the restarted gateway's births")
        assert node.bdseq == (first or 0) + 1  # the next session, numbered from disk
        await host.wait(lambda: "boiler1" in node.devices, 5, "DBIRTH")
        host.write(G, N, "boiler1", "supply_sp", 70.0)  # commands: true in the example
        await host.wait(lambda: host.values(G, N, "boiler1", "supply_sp")[-1:] == [70.0], 10, "the write in DDATA")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        await host.wait(lambda: node.deaths == [first, node.bdseq], 10, "NDEATH on a clean stop")
        assert node.problems == [] and node.stale_deaths == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        host.close()
