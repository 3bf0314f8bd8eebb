"""A real headless Chromium (installed by ``scripts/install --dev``) with the network cut:
host names resolve to nothing but loopback, and a page's request to any other address is
refused and recorded, so a test sees every page work without reaching outside."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # no name resolves beyond loopback
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
LOOPBACK = ("http://127.0.0.1:", "http://localhost:", "file://", "data:", "blob:", "about:")


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is installed by scripts/install --dev"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def offline_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page whose requests beyond loopback are aborted; yields it with the list of the URLs
    it tried to reach outside (a test asserts that list empty)."""
    outside: list[str] = []
    page = browser.new_page()

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(LOOPBACK):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", guard)
    try:
        yield page, outside
    finally:
        page.close()
