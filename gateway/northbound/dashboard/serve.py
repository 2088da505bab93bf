"""Serve the dashboard: the page at ``/``, its scripts, styles and vendored libraries under ``/ui/``.

Everything comes from ``static/`` in the package (no CDN: plant networks have no internet). The page and its
assets carry a strict Content-Security-Policy (no inline script or style, nothing fetched from elsewhere, never
framed); the API's own responses get ``nosniff`` and ``frame-ancestors 'none'`` too. The page holds no data of
its own: it calls the same REST, SPARQL and SSE endpoints with the token the person entered.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = "/ui"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """Adds the dashboard's CSP to the page and its assets, and the framing/sniffing headers to every response.

    The API's JSON needs no CSP of its own; Swagger UI at /docs uses an inline script and keeps its own policy.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        page = path == "/" or path.startswith(ASSETS + "/") or path == ASSETS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in EVERYWHERE.items():
                    headers.setdefault(name, value)
                if page:
                    headers["Content-Security-Policy"] = PAGE_CSP
                    headers.setdefault("Cache-Control", "no-cache")  # revalidated: an upgrade shows at once
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI, *, page: bool = True) -> None:
    """The security headers on every response; with ``page``, the page at ``/`` and its assets under ``/ui/``."""
    app.add_middleware(SecurityHeaders)
    if not page:
        return
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="dashboard")

    @app.get("/", include_in_schema=False)
    async def dashboard_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")
