"""The PostgreSQL history backend as one more engine of ``python -m bench history``.

It starts its own throwaway cluster (``initdb`` + ``pg_ctl`` on a loopback port, as the tests do; as the
``postgres`` user when run as root), or uses the database ``TWINBRIDGE_BENCH_PG_URL`` names. The samples go in
through the store's own path: ``append_batch`` then ``flush`` (binary COPY), one flush per batch of 50,000.
``finish()`` is VACUUM ANALYZE (the visibility map lets index-only plans skip the heap) and a checkpoint; the
size is every relation of the gateway's schema, indexes included.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from array import array
from pathlib import Path
from typing import Any

from gateway.history.model import Aggregate, RowBatch

HOUR = 3_600_000_000
DAY = 24 * HOUR
URL_ENV = "TWINBRIDGE_BENCH_PG_URL"


class _Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder (tuned as a bench box would be: fsync on)."""

    def __init__(self) -> None:
        found = shutil.which("initdb") or max(glob.glob("/usr/lib/postgresql/*/bin/initdb"), default=None)
        if found is None:
            raise ImportError("PostgreSQL server binaries", name="postgresql (apt-get install postgresql)")
        self.bindir = Path(found).parent
        self.user = ("postgres" if _has_user("postgres") else "nobody") if os.geteuid() == 0 else None
        self.base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.password = secrets.token_urlsafe(12)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        (self.base / "pw").write_text(self.password + "\n")
        if self.user:
            info = pwd.getpwnam(self.user)
            for p in (self.base, self.base / "pw"):
                os.chown(p, info.pw_uid, info.pw_gid)
        data = str(self.base / "data")
        self._run("initdb", "-D", data, "-U", "bench", "--pwfile", str(self.base / "pw"), "-A", "scram-sha-256",
                  "-E", "UTF8", "--locale", "C", "--no-sync")  # fmt: skip
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c shared_buffers=512MB"
        self._run("pg_ctl", "-D", data, "-l", str(self.base / "log"), "-w", "-o", options, "start")
        self.url = f"postgresql://bench:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self.user, check=True, capture_output=True)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class Postgres:
    """twinbridge's PostgreSQL backend (gateway/history/postgres.py): partitioned table, binary COPY."""

    name = "PostgreSQL backend (COPY, day partitions)"

    def __init__(self, root: Path) -> None:
        from gateway.history.pg_connect import with_gateway
        from gateway.history.postgres import PostgresHistoryStore

        url = os.environ.get(URL_ENV)
        self.cluster = None if url else _Cluster()
        self.url = self.cluster.url if self.cluster else str(url)
        self.gateway = f"bench_{secrets.token_hex(4)}"
        self.store = PostgresHistoryStore(with_gateway(self.url, self.gateway), buffer_limit=10**8)
        assert self.store.writer.layout is not None, "the bench database is not reachable"
        self.schema = self.store.writer.layout.schema

    def ingest(self, d: Any, sl: slice) -> None:
        batch = RowBatch(
            [d.names[i] for i in d.point[sl].tolist()],
            array("q", d.source_us[sl].tobytes()),
            array("q", d.server_us[sl].tobytes()),
            d.value[sl].tolist(),
            array("I", bytes(4 * len(d.point[sl]))),
        )
        self.store.append_batch(batch)
        self.store.flush()

    def _sql(self, *statements: str) -> list[Any]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return [conn.execute(s).fetchall() if s.lstrip().upper().startswith("SELECT") else conn.execute(s)
                    for s in statements]  # fmt: skip

    def finish(self) -> None:
        self._sql(f"VACUUM ANALYZE {self.schema}.samples", "CHECKPOINT")

    def size(self) -> int:
        (rows,) = self._sql(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            f" JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{self.schema}' AND c.relkind = 'r'"
        )
        return int(rows[0][0])

    def raw_day(self, name: str, start: int) -> int:
        return len(self.store.read_raw(name, start, start + DAY, limit=100_000))

    def hourly(self, names: list[str], start: int, days: int, aggs: list[Aggregate]) -> int:
        return sum(len(self.store.read_processed(names, start, start + days * DAY, HOUR, a)) for a in aggs)

    def close(self) -> None:
        self.store.close()
        if self.cluster is not None:
            self.cluster.remove()
        else:
            self._sql(
                f"DROP SCHEMA IF EXISTS {self.schema} CASCADE",
                f"DELETE FROM twinbridge_history.gateways WHERE name = '{self.gateway}'",
            )
