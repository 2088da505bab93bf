"""Runs the HTTP API with uvicorn inside the gateway's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING

import uvicorn

from gateway.northbound.http.app import create_app
from gateway.northbound.http.config import HttpApiConfig

if TYPE_CHECKING:
    from gateway.twin.view import TwinView

log = logging.getLogger("twinbridge.http")


class HttpApi:
    """The ``http`` northbound service."""

    name = "http"

    def __init__(self, config: HttpApiConfig, view: TwinView) -> None:
        self.config = config
        self.view = view
        self.app = create_app(view, config)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self.port = config.port

    async def start(self) -> None:
        """Bind the socket (a taken port fails here, clearly), start the query worker, then serve."""
        cfg = self.config
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
        # and without it every keep-alive response waits ~40 ms on Nagle + delayed ACK.
        family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((cfg.host, cfg.port))
        except OSError as exc:
            sock.close()
            raise RuntimeError(f"HTTP API cannot listen on {cfg.host}:{cfg.port}: {exc.strerror}") from None
        self._sock = sock
        self.port = sock.getsockname()[1]
        await asyncio.to_thread(self.app.state.api.worker.start)
        ucfg = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=cfg.tls_certfile,
            ssl_keyfile=cfg.tls_keyfile,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(ucfg)
        # The CLI owns signals: uvicorn would otherwise take SIGINT/SIGTERM while serving and raise them again
        # only once it has stopped (its install_signal_handlers hook is gone since 0.29).
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http-api")
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        log.info("HTTP API on %s", self.endpoints()[0])

    async def stop(self) -> None:
        """Stop serving and end the query worker."""
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)
            self._task = None
        self.app.state.api.worker.stop()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def endpoints(self) -> list[str]:
        """The base URL, SPARQL endpoint and docs."""
        scheme = "https" if self.config.tls_certfile else "http"
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "::") else self.config.host
        base = f"{scheme}://{host}:{self.port}"
        return [f"{base}/ (SPARQL {base}/sparql, docs {base}/docs)"]
