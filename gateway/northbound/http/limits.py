"""The request body limit, enforced while the body streams in (never after reading it whole)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_message(limit: int) -> str:
    """What a client is told when its body passes ``limit`` bytes."""
    return f"the request body is over {limit:,} bytes (max_body_bytes); a query or a value should be far smaller"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit.

    An HTTPException, because FastAPI turns any other error met while reading a JSON body into a 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


class BodyLimit:
    """ASGI middleware: 413 for a declared ``Content-Length`` over the limit before reading a byte, and for a
    body (chunked or under-declared) as soon as the bytes received pass it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            body = json.dumps({"error": too_large_message(self.max_bytes)}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, capped, send)
