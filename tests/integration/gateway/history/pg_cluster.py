"""A real PostgreSQL cluster for the history tests: ``initdb`` + ``pg_ctl`` in a temporary folder on a loopback port.

Where the server binaries are absent, a cluster given by URL (``TWINBRIDGE_TEST_PG_URL``) stands in; tests that
must kill the server then skip. Without either, the tests skip with the install line. CI installs the binaries
(.ci/run), so there it never skips.

PostgreSQL refuses to run as root: when the tests run as root the cluster runs as the ``postgres`` user (Debian's
server package creates it), else as ``nobody``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from bench._sparql_stores import free_port
from tests.conftest import skip_unless_ci  # one helper for every server the tests start on a fixed port

if TYPE_CHECKING:
    from gateway.history.postgres import PostgresHistoryStore

INSTALL_LINE = "apt-get install postgresql"
URL_ENV = "TWINBRIDGE_TEST_PG_URL"
USER = "twinbridge"


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else Debian's /usr/lib/postgresql/<v>/bin (newest)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl", path=str(Path(on_path).parent)):
        return Path(on_path).parent
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [d for d in found if (d / "pg_ctl").exists()]
    return max(found, key=lambda d: _version_key(d.parent.name)) if found else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def _run_as() -> str | None:
    """The user to run the server as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


class PgCluster:
    """One throwaway cluster: ``start()``, ``stop()``, ``kill()`` (immediate stop) and a password URL."""

    def __init__(self, bindir: Path, database: str = "history") -> None:
        self.bindir = bindir
        self.database = database
        self.password = secrets.token_urlsafe(12)
        self.port = free_port()
        self.user = _run_as()
        self.base = Path(tempfile.mkdtemp(prefix="tb-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self._initdb()

    @property
    def url(self) -> str:
        """The database URL with its password (what a mapping's ``url: ${HISTORY_PG_URL}`` holds)."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql://{USER}:{quote(self.password)}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]], user=self.user, capture_output=True, text=True, check=check
        )

    def _initdb(self) -> None:
        pwfile = self.base / "pw"
        pwfile.write_text(self.password + "\n")
        (self.base / "sock").mkdir()
        if self.user:
            info = pwd.getpwnam(self.user)
            for path in (self.base, pwfile, self.base / "sock"):
                os.chown(path, info.pw_uid, info.pw_gid)
        self._cmd(
            "initdb",
            *("-D", str(self.data), "-U", USER, "--pwfile", str(pwfile), "--auth", "scram-sha-256"),
            *("-E", "UTF8", "--locale", "C", "--no-sync"),
        )
        pwfile.unlink()

    def start(self) -> None:
        """Start the server on its port and wait until it accepts connections; create the test database."""
        # fsync off: the tests kill the server process, not the machine, so the OS still holds every write;
        # synchronous_commit stays on, so a commit the store saw acknowledged survives an immediate stop.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base / 'sock'} -c fsync=off"
        result = self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options,
                           "start", check=False)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {result.stderr}\n{self._log_tail()}")
        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database]).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``mode='immediate'`` is a crash (no shutdown checkpoint, clients cut off)."""
        self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def kill(self) -> None:
        """Stop the server the hard way (``pg_ctl stop -m immediate``), as a crash or a cut cable would."""
        self.stop("immediate")

    def is_running(self) -> bool:
        return self._cmd("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text()[-2000:]
        return ""

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


@dataclass(frozen=True)
class PgServer:
    """A PostgreSQL the tests may use: its URL, and the local cluster when the tests started it themselves."""

    url: str
    cluster: PgCluster | None


@contextlib.contextmanager
def started_cluster() -> Iterator[PgCluster]:
    """A new local cluster, started, removed afterwards; skips when the server binaries are absent."""
    bindir = find_pg_bin()
    if bindir is None:
        skip_unless_ci("PostgreSQL server binaries", INSTALL_LINE)
    cluster = PgCluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL: a cluster of our own, else the one ``TWINBRIDGE_TEST_PG_URL`` names, else skip."""
    if find_pg_bin() is not None:
        with started_cluster() as cluster:
            yield PgServer(cluster.url, cluster)
        return
    url = os.environ.get(URL_ENV)
    if not url:
        skip_unless_ci("PostgreSQL server binaries", INSTALL_LINE)
    yield PgServer(url, None)


@pytest.fixture
def pg_own_cluster() -> Iterator[PgCluster]:
    """A cluster for this test alone, which it may kill and restart (needs the server binaries)."""
    with started_cluster() as cluster:
        yield cluster


def drop_gateway(url: str, gateway: str) -> None:
    """Remove a gateway's history (its schema and its registry row) from the database at ``url``."""
    from gateway.history.pg_schema import REGISTRY, schema_for

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_for(gateway))))
        if conn.execute("SELECT to_regclass(%s)", [f"{REGISTRY}.gateways"]).fetchone() != (None,):
            registry = sql.Identifier(REGISTRY, "gateways")
            conn.execute(sql.SQL("DELETE FROM {} WHERE name = %s").format(registry), [gateway])


@pytest.fixture
def pg_store_factory(pg_server: PgServer) -> Iterator[Callable[..., PostgresHistoryStore]]:
    """Make PostgreSQL history stores, each for a fresh gateway id unless one is given; removed afterwards."""
    from gateway.history.pg_connect import with_gateway
    from gateway.history.postgres import PostgresHistoryStore

    made: list[tuple[PostgresHistoryStore, str]] = []

    def make(gateway: str | None = None, **options: Any) -> PostgresHistoryStore:
        name = gateway or f"test_{uuid.uuid4().hex[:12]}"
        store = PostgresHistoryStore(with_gateway(pg_server.url, name), **options)
        made.append((store, name))
        return store

    yield make
    for store, name in made:
        store.close()
        drop_gateway(pg_server.url, name)
