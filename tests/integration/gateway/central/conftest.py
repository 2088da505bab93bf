"""A real Oxigraph server for the central view's tests, on an ephemeral loopback port, killable and restartable."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

INSTALL = "pip install oxigraph"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OxigraphServer:
    """``oxigraph serve`` on a data folder; ``kill`` and ``start`` again keep the port and the data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, Any]:
        """StoreSettings fields for this server."""
        return {
            "url": f"{self.base}/query",
            "update_url": f"{self.base}/update",
            "graph_store_url": f"{self.base}/store",
        }

    def start(self) -> None:
        binary = shutil.which("oxigraph")
        assert binary is not None
        self.proc = subprocess.Popen(
            [binary, "serve", "--location", str(self.folder), "--bind", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/query", params={"query": "ASK {}"}, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("oxigraph serve did not answer within 20 s")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def oxigraph(tmp_path: Path) -> Iterator[OxigraphServer]:
    if shutil.which("oxigraph") is None:
        if os.environ.get("CI"):
            pytest.fail(f"the oxigraph server is missing in CI: .ci/run should have run '{INSTALL}'")
        pytest.skip(INSTALL)
    server = OxigraphServer(tmp_path / "oxigraph")
    server.start()
    yield server
    server.kill()
