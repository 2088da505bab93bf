"""Real SPARQL 1.1 stores on loopback for the tests and the bench: Virtuoso (Debian's ``virtuoso-opensource``)
and Oxigraph server (PyPI ``oxigraph``), each a process of our own on a free port with its data in a folder.

Both have one shape: ``start()`` (returns once the store answers a query), ``stop()`` (graceful), ``kill()``
(SIGKILL, as a crash), ``restart(wipe=False)`` (same port and folder; ``wipe=True`` is a store that lost its
graphs), ``running``, ``pid`` and ``settings()``, a dict for ``StoreSettings``/``ReplicaSettings`` that works for
that store. A missing binary is :class:`StoreNotInstalled`, carrying the install line.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class StoreNotInstalled(RuntimeError):
    """The store's binary is not on this machine; ``install`` is the line that installs it."""

    def __init__(self, what: str, install: str) -> None:
        self.install = install
        super().__init__(f"{what} not found: {install}")


def free_port() -> int:
    """A loopback port nobody uses, below the ephemeral range (a restarted store finds it free again)."""
    low = 32768
    with contextlib.suppress(OSError, ValueError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 20000), low)
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            return port
    raise RuntimeError(f"no free loopback port below {low}")


class StoreServer:
    """A store process: its folder, port, log and lifecycle."""

    name: ClassVar[str]
    env_var: ClassVar[str]  # names a binary to use instead of the one found on PATH
    install: ClassVar[str]

    def __init__(self, folder: Path | str, port: int | None = None) -> None:
        self.binary = self.find()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log = self.folder / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what differs per store ----------------------------------------------------------------------------
    @classmethod
    def _candidates(cls) -> list[str | None]:
        raise NotImplementedError

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _wipe(self) -> None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        raise NotImplementedError

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings for ``StoreSettings``/``ReplicaSettings`` (``url``, ``update_url``, ``graph_store_url``,
        ``auth``); ``overrides`` replace or add keys (``graph_store_url=None``: no Graph Store Protocol)."""
        raise NotImplementedError

    # -- lifecycle --------------------------------------------------------------------------------------------
    @classmethod
    def find(cls) -> str:
        """The binary to run; :class:`StoreNotInstalled` when there is none."""
        for candidate in (os.environ.get(cls.env_var), *cls._candidates()):
            if candidate and os.access(candidate, os.X_OK):
                return candidate
        raise StoreNotInstalled(cls.name, cls.install)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the store and return once it answers a query; RuntimeError with the log's tail otherwise."""
        if self.running:
            return
        with self.log.open("ab") as log:
            # its own session: a Ctrl-C of the test run does not reach the store before we stop it
            self._proc = subprocess.Popen(
                self._command(), cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._proc.returncode} at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def _answers(self) -> bool:
        url = f"{self.query_url}?{urllib.parse.urlencode({'query': 'ASK {}'})}"
        request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the store gracefully (SIGTERM), the hard way if it does not exit within ``timeout``."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown work, clients cut off mid-request."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._proc = None

    def restart(self, *, wipe: bool = False, kill: bool = False) -> None:
        """Stop (``kill=True``: SIGKILL) and start again on the same port and folder; ``wipe=True`` deletes the
        data in between, as a store that lost its graphs."""
        if kill:
            self.kill()
        else:
            self.stop()
        if wipe:
            self._wipe()
        self.start()

    def remove(self) -> None:
        """Kill the store and delete its folder."""
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, chars: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = {**base, **overrides}
    return {k: v for k, v in out.items() if v is not None}


class VirtuosoServer(StoreServer):
    """Virtuoso Open Source 7 (``virtuoso-t``) with a minimal ini of our own: SQL and HTTP on loopback ports.

    Anonymous ``/sparql`` only reads; updates go to ``/sparql-auth`` and Graph Store Protocol pushes to
    ``/sparql-graph-crud-auth``, both with HTTP digest auth as ``dba`` (a fresh database's password is ``dba``).
    """

    name = "virtuoso-t"
    env_var = "TWINBRIDGE_VIRTUOSO"
    install = "apt-get install virtuoso-opensource"
    user = "dba"
    password = "dba"

    def __init__(self, folder: Path | str, port: int | None = None) -> None:
        super().__init__(folder, port)
        self.sql_port = free_port()
        self.ini = self.folder / "virtuoso.ini"
        self.db = self.folder / "db"
        self.db.mkdir(exist_ok=True)
        (self.folder / "vsp").mkdir(exist_ok=True)  # the web server's file root: empty (/sparql is built in)

    @classmethod
    def _candidates(cls) -> list[str | None]:
        return [shutil.which("virtuoso-t"), "/usr/bin/virtuoso-t"]

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/sparql"

    @property
    def update_url(self) -> str:
        return f"{self.base_url}/sparql-auth"

    @property
    def graph_store_url(self) -> str:
        return f"{self.base_url}/sparql-graph-crud-auth"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        auth = {"scheme": "digest", "user": self.user, "password": self.password}
        base = {"url": self.query_url, "update_url": self.update_url, "graph_store_url": self.graph_store_url}
        return _merge({**base, "auth": auth}, overrides)

    def _write_ini(self) -> None:
        db = self.db
        # NumberOfBuffers: 8 kB pages (~1.3 GB at most, taken as needed); ResultSetMaxRows: Debian's stock ini
        # caps answers at 10,000 rows, silently; MaxQueryExecutionTime: past it Virtuoso sends a partial
        # ("anytime") answer, which the client refuses
        self.ini.write_text(
            f"""[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{self.sql_port}
DisableUnixSocket = 1
DirsAllowed = ., {self.folder}
NumberOfBuffers = 170000
MaxDirtyBuffers = 130000

[HTTPServer]
ServerPort = 127.0.0.1:{self.port}
ServerRoot = {self.folder / "vsp"}
ServerThreads = 10

[SPARQL]
ResultSetMaxRows = 10000000
MaxQueryExecutionTime = 60
"""
        )

    def _command(self) -> list[str]:
        self._write_ini()
        return [self.binary, "+foreground", "+configfile", str(self.ini)]

    def _wipe(self) -> None:
        shutil.rmtree(self.db, ignore_errors=True)
        self.db.mkdir()


class OxigraphServer(StoreServer):
    """Oxigraph server (``oxigraph serve``): ``/query``, ``/update`` and ``/store`` (Graph Store Protocol); no
    login of its own (put a proxy in front for auth and TLS)."""

    name = "oxigraph"
    env_var = "TWINBRIDGE_OXIGRAPH"
    install = "pip install oxigraph"

    def __init__(self, folder: Path | str, port: int | None = None) -> None:
        super().__init__(folder, port)
        self.data = self.folder / "data"

    @classmethod
    def _candidates(cls) -> list[str | None]:
        # the binary next to this Python first: a pyenv shim on PATH may point to another environment
        return [str(Path(sysconfig.get_path("scripts")) / "oxigraph"), shutil.which("oxigraph")]

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/query"

    @property
    def update_url(self) -> str:
        return f"{self.base_url}/update"

    @property
    def graph_store_url(self) -> str:
        return f"{self.base_url}/store"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        base = {"url": self.query_url, "update_url": self.update_url, "graph_store_url": self.graph_store_url}
        return _merge(base, overrides)

    def _command(self) -> list[str]:
        return [self.binary, "serve", "--location", str(self.data), "--bind", f"127.0.0.1:{self.port}"]

    def _wipe(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)


SERVERS: dict[str, type[StoreServer]] = {"oxigraph": OxigraphServer, "virtuoso": VirtuosoServer}
