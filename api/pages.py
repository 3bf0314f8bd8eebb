"""The service's pages for people: a landing page at ``/``, the API documentation (Swagger UI
at ``/docs``) and the published instructions (``/docs/instructions/``).

Every asset comes from the installed packages (Swagger UI from ``fastapi-offline``), so the
pages work on a network that reaches nothing outside it, as an insurer's pre-acceptance network
is: no page the service serves names another host, and each says so to the browser (a
Content-Security-Policy allowing this origin only). ReDoc is not served: its bundle fetches a
logo from cdn.redoc.ly whatever its options.
"""

from __future__ import annotations

import html
from importlib.resources import files

import anyio
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from compiler import Compiled
from publish.site import Site
from publish.texts import TEXTS

ASSETS = "/assets/api-docs"
# no call to swagger.io's online validator (Swagger UI's default when the spec is not local)
SWAGGER_PARAMETERS = {"validatorUrl": None, "tryItOutEnabled": True}
# this origin only (inline scripts and styles: Swagger UI's page and the instructions have some)
POLICY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'"
}

__all__ = ["add_pages", "landing_page"]


def landing_page(book: Compiled, campaigns: bool) -> str:
    """The page at ``/``: what this service is and where everything is."""
    e = html.escape
    rows = [
        ("/docs", "API documentation (Swagger UI: try every route)"),
        ("/openapi.json", "OpenAPI document"),
        ("/docs/instructions/fr/index.html", "Instructions de facturation (français)"),
        ("/docs/instructions/nl/index.html", "Facturatie-instructies (Nederlands)"),
        ("/v1/rulebook", "The rulebook this service runs (JSON)"),
        ("/healthz", "Health check"),
    ]
    if campaigns:
        rows.append(("/docs#/campaigns", "Test campaigns (routes under /v1/campaigns, by token)"))
    links = "\n".join(f'<li><a href="{e(href)}">{e(text)}</a></li>' for href, text in rows)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rulebook {e(book.version)}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:2em auto;padding:0 1em}}
code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body>
<h1>Rulebook</h1>
<p>INAMI/RIZIV eFact 920000 billing rules as data. This service validates sendings, writes
and reads answer messages with rulebook <strong>{e(book.version)}</strong>
(<code>{e(book.hash)}</code>): {len(book.rules)} rules, {len(book.codes)} codes.</p>
<ul>
{links}
</ul>
<p>Validate a file: <code>curl --data-binary @FILE http://HOST/v1/validate</code>
(raw bytes, not a form upload).</p>
</body></html>
"""


def add_pages(app: FastAPI, book: Compiled, *, campaigns: bool) -> None:
    """Mount the pages on an app created with ``docs_url=None, redoc_url=None``."""
    static = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="api-docs-assets")
    landing = landing_page(book, campaigns)

    @app.get("/", include_in_schema=False)
    async def home() -> HTMLResponse:
        return HTMLResponse(landing, headers=POLICY)

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="Rulebook API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )
        page.headers.update(POLICY)
        return page

    sites: dict[str, dict[str, str]] = {}

    @app.get("/docs/instructions/", include_in_schema=False)
    async def instructions_home() -> RedirectResponse:
        return RedirectResponse("/docs/instructions/fr/index.html")

    @app.get("/docs/instructions/{lang}/{page:path}", include_in_schema=False, response_model=None)
    async def instructions(lang: str, page: str) -> HTMLResponse | JSONResponse:
        """The published instructions (``rulebook docs``), rendered once per language."""
        if lang not in TEXTS:
            return not_found(f"no instructions in language {lang!r} (fr, nl)")
        if lang not in sites:
            sites[lang] = await anyio.to_thread.run_sync(lambda: Site(book, lang).pages())
        text = sites[lang].get(page or "index.html")
        if text is None:
            return not_found(f"no page {page!r} in the instructions")
        return HTMLResponse(text, headers=POLICY)


def not_found(message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "not-found", "message": message}}, status_code=404)
