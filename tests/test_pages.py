"""The service's pages for people work on a closed network: the landing page, Swagger UI,
ReDoc and the instructions name no other host, and open in Chromium with the network cut."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from api.service import create_app
from benchmarks.local_server import local_server
from compiler import Compiled
from tests.browser import offline_page

PAGES = [
    "/",
    "/docs",
    "/docs/instructions/fr/index.html",
    "/docs/instructions/nl/index.html",
]


URL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*["']([^"']+)["']""")


def urls_in(text: str) -> list[str]:
    """Every address a page names for its browser to load or follow."""
    return URL.findall(text)


def test_landing_page_links_everything(compiled: Compiled) -> None:
    with TestClient(create_app(compiled)) as client:
        home = client.get("/")
        assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
        links = set(urls_in(home.text))
        assert {"/docs", "/healthz", "/openapi.json"} <= links
        assert {"/docs/instructions/fr/index.html", "/docs/instructions/nl/index.html"} <= links
        assert compiled.version in home.text and compiled.hash in home.text
        for link in links:
            assert client.get(link).status_code == 200, link


def test_no_page_names_another_host(compiled: Compiled) -> None:
    with TestClient(create_app(compiled)) as client:
        for path in PAGES:
            page = client.get(path)
            assert page.status_code == 200, path
            for url in urls_in(page.text):
                assert not re.match(r"^(https?:)?//", url), (path, url)
                if url.startswith("/"):
                    assert client.get(url).status_code == 200, (path, url)
        assert "validator.swagger.io" not in client.get("/docs").text
        assert '"validatorUrl": null' in client.get("/docs").text
        assert client.get("/redoc").status_code == 404  # its bundle fetches a remote logo
        for path in PAGES:
            policy = client.get(path).headers["content-security-policy"]
            assert "default-src 'self'" in policy and "http" not in policy


def test_pages_in_chromium_with_the_network_cut(browser: Any) -> None:
    with local_server() as server, offline_page(browser) as (page, outside):
        page.goto(f"{server.base}/")
        assert page.title().startswith("Rulebook")
        page.click("text=Swagger UI")
        page.wait_for_url("**/docs")
        page.wait_for_selector(".swagger-ui h1.title", timeout=20_000)
        assert "Rulebook" in page.inner_text(".swagger-ui h1.title")
        assert "Rulebook API" in page.title()
        assert "/v1/validate" in page.inner_text(".swagger-ui")
        page.click('.opblock-summary-path[data-path="/v1/validate"]')  # an operation opens
        page.wait_for_selector("text=Request body", timeout=10_000)
        page.goto(f"{server.base}/")
        page.click("text=Nederlands")
        page.wait_for_url("**/docs/instructions/nl/index.html")
        assert "Berichten" in page.inner_text("body")
        assert outside == []
