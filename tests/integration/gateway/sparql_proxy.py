"""A small real reverse proxy in front of a SPARQL store, for what Oxigraph server lacks: bearer auth and TLS.

It requires ``Authorization: Bearer <token>`` (401 otherwise, as a store behind an API gateway answers) and
forwards everything else to the store unchanged; with TLS files it serves https, and with ``client_ca`` it also
requires a client certificate signed by that CA. Runs uvicorn in a thread of its own, on a free loopback port.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench._sparql_stores import free_port

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_FORWARDED = ("content-type", "accept")  # request headers the stores need; Authorization is the proxy's own


class BearerProxy:
    """``url`` is the proxy's base; ``url + path`` reaches ``target + path`` with a valid token."""

    def __init__(
        self,
        target: str,
        token: str,
        *,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        client_ca: Path | None = None,
    ) -> None:
        self.target = target.rstrip("/")
        self.token = token
        self.port = free_port()
        self.tls = certfile is not None
        self.forwarded: list[tuple[str, str, bytes]] = []  # method, path and body of each request passed on
        self._client: httpx.AsyncClient | None = None
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            interface="asgi3",  # a bound method is not recognised as one
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            ssl_ca_certs=client_ca,
            ssl_cert_reqs=ssl.CERT_REQUIRED if client_ca else ssl.CERT_NONE,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="bearer-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the proxy did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if headers.get("authorization") != f"Bearer {self.token}":
            await _respond(
                send, 401, b"invalid or missing bearer token", "text/plain", [(b"www-authenticate", b"Bearer")]
            )
            return
        if self._client is None:  # made in the server's own loop
            self._client = httpx.AsyncClient(timeout=60)
        query = scope["query_string"].decode("latin-1")
        url = self.target + scope["path"] + (f"?{query}" if query else "")
        forwarded = {k: v for k, v in headers.items() if k in _FORWARDED}
        response = await self._client.request(scope["method"], url, content=body, headers=forwarded)
        self.forwarded.append((scope["method"], scope["path"], body))
        await _respond(send, response.status_code, response.content, response.headers.get("content-type"), [])


async def _respond(
    send: Send, status: int, body: bytes, content_type: str | None, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-length", str(len(body)).encode()), *extra]
    if content_type:
        headers.append((b"content-type", content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
