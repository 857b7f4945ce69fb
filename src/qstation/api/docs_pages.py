"""``/docs`` and ``/redoc`` from assets in the installed packages, never from a CDN: a lab
network without internet gets working pages. The scripts and styles come from the
``fastapi-offline`` package, which ships the builds of Swagger UI and ReDoc that FastAPI's own
pages load."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
_PREFIX = "/static/docs"
_REDOC_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' blob:; worker-src 'self' blob:; font-src 'self' data:"
)
"""ReDoc's bundle links its makers' logo from their CDN: this keeps the page to this server
(the logo is left out), so nothing leaves a lab's network."""


def install_docs_pages(app: FastAPI) -> None:
    """Serve the two documentation pages of ``app``'s OpenAPI schema, and their assets."""
    app.mount(_PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title}: Swagger UI",
            swagger_js_url=f"{_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{_PREFIX}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{title}: ReDoc",
            redoc_js_url=f"{_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = _REDOC_POLICY
        return page
