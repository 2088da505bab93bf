"""A gateway with recorded history and its HTTP API on an ephemeral port; a reader client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.runtime import Gateway
from tests.integration.gateway.northbound.history_plant import history_gateway

READER = "reader-token-history-16"
HTTP = """\
gateway:
  http:
    port: 0
    query_timeout: 10s
    tokens:
      - {name: apps, role: reader, token: "${READER}"}
"""


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with history_gateway(tmp_path, HTTP, env={"READER": READER}) as gw:
        yield gw


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    base = f"http://127.0.0.1:{gateway.services['http'].port}"  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {READER}"}, timeout=30) as c:
        yield c
