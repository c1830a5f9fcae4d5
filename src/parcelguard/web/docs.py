"""The API's documentation page at /docs, served entirely from this origin.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script,
both of which the portals' Content-Security-Policy forbids (and a deployment may
have no Internet). Here the Swagger UI assets come from the ``fastapi-offline``
package (which ships them) under /docs/assets, and the start-up script is a static
file of ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS: Final = Path(fastapi_offline.__file__).parent / "static"

PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>parcelguard API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png">
</head><body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body></html>
"""


def mount(app: FastAPI) -> None:
    app.mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE)
