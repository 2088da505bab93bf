"""Running gateways record into one PostgreSQL historian, each in its own schema, the URL only in the environment."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from pg_cluster import PgServer, drop_gateway

from gateway.history.model import Aggregate, reader_of
from gateway.history.pg_schema import REGISTRY
from gateway.history.postgres import PostgresHistoryReader
from gateway.runtime import Gateway

pytestmark = pytest.mark.integration


def _mapping(folder: Path, name: str) -> Path:
    text = f"""\
twin:
  name: {name}
  base_iri: 'http://example.org/{name}/'
  history: {{backend: postgresql, url: '${{HISTORY_PG_URL}}', flush_interval: 200ms}}
sources: [{{id: sim1, kind: sim, interval: 50ms, seed: 1}}]
assets:
  - id: plant
    source: sim1
    points:
      - {{id: t0, unit: DEG_C, address: {{signal: random_walk, initial: 20, step: 0.1, min: 0, max: 50}}}}
      - {{id: t1, unit: DEG_C, address: {{signal: random_walk, initial: 30, step: 0.1, min: 0, max: 50}}}}
"""
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


async def _wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def test_two_gateways_record_into_one_postgresql_each_in_its_own_schema(
    pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HISTORY_PG_URL", pg_server.url)
    names = ["plant_north", "plant_south"]
    gateways = [Gateway.from_files([_mapping(tmp_path, n)]) for n in names]
    try:
        for gw in gateways:
            await gw.start(services=False)
        start = int(time.time() * 1e6) - 10_000_000
        end = start + 3_600_000_000
        readers = [reader_of(gw.view) for gw in gateways]
        assert all(isinstance(r, PostgresHistoryReader) for r in readers)
        for reader in readers:
            assert reader is not None
            await _wait_for(
                lambda r=reader: all(len(r.read_raw(p, start, end, limit=5)) >= 5 for p in ("plant.t0", "plant.t1"))
            )
        for gw in gateways:
            await gw.stop()
        for name in names:  # what each gateway recorded is in its own schema, read back by a fresh reader
            other = PostgresHistoryReader(f"{pg_server.url}?gateway={name}")
            rows = other.read_raw("plant.t0", start, end, limit=100_000)
            total = other.read_processed(["plant.t0"], start, end, end - start, Aggregate.COUNT)[0].value
            assert rows and total == len(rows) and all(r.status == 0 for r in rows)
            other.close()
        with psycopg.connect(pg_server.url) as conn:
            schemas = dict(conn.execute(f"SELECT name, schema_name FROM {REGISTRY}.gateways").fetchall())
        assert schemas["plant_north"] == "tbh_plant_north" and schemas["plant_south"] == "tbh_plant_south"
        logged = caplog.text
        password = urlsplit(pg_server.url).password
        assert password and password not in logged and pg_server.url not in logged
    finally:
        for gw in gateways:
            await gw.stop()
        for name in names:
            drop_gateway(pg_server.url, name)
