"""schemathesis against the OpenAPI spec of a running gateway process: no request may cause a server error."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.northbound.http.conftest import MAPPING, OPERATOR, READER

ROOT = Path(__file__).resolve().parents[5]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("st") is None, reason="needs the schemathesis CLI (st): pip install -e '.[test]'")
def test_no_server_errors(tmp_path: Path) -> None:
    port = _free_port()
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        MAPPING.replace("port: 0", f"port: {port}").replace(
            '      - {name: root, role: admin, token_sha256: "ADMIN_SHA"}\n', ""
        )
    )
    env = {**os.environ, "READER": READER, "OPERATOR": OPERATOR}
    gw = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "--log-level", "warning", "run", str(mapping)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        r = subprocess.run(
            [
                "st",
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "15",
                "-H",
                f"Authorization: Bearer {OPERATOR}",
                "--request-timeout",
                "10",
                "--exclude-path",
                "/stream",
            ],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(15)
        except subprocess.TimeoutExpired:
            gw.kill()
