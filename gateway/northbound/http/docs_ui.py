"""/docs: Swagger UI served by the gateway itself, so it works on a plant network without internet access.

FastAPI's default page loads Swagger UI from a CDN; here the assets come from the ``swagger-ui-bundle-v2``
package (Swagger UI 5, which reads OpenAPI 3.1) and are served under /docs/assets. The validator badge is off:
it would send the API description to an outside service.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"


def _asset_dir() -> str:
    import swagger_ui_bundle  # type: ignore[import-untyped]  # data only: the dist folder of Swagger UI

    return str(swagger_ui_bundle.swagger_ui_path)


def install(app: FastAPI) -> None:
    """Serve the Swagger UI page at /docs and its assets at /docs/assets (no token: they describe the API)."""
    app.mount(ASSETS, StaticFiles(directory=_asset_dir()), name="swagger-ui")
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
        )
