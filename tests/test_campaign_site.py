"""The campaign's HTML matrix in a real headless Chromium, in French and Dutch: it renders from
the embedded JSON, reads without colour (glyph and state text), keeps its filters in the
URL, opens a cell's page with expected and observed answers side by side, and fetches
nothing from elsewhere. And the matrix JSON against its published schema.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from campaign import Campaigns, Store, Viewer
from campaign.matrix import SCHEMA
from compiler import Compiled
from tests.campaign_world import set_role_zone
from tests.commands import rulebook

SLUG = "site"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, compiled: Compiled) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("site")
    cs = Campaigns(Store(f"sqlite:///{root}/c.db"), compiled)
    cs.create(SLUG, select_=["record=ET90"])
    cs.add_participant(SLUG, "oa100", role="insurer", name="OA 100")
    cs.add_participant(SLUG, "oa300", role="insurer", name="OA 300")
    cs.move(SLUG, "freeze")
    changed = None
    for key in ("oa100", "oa300"):
        for item in cs.manifest(SLUG, key):
            for name, data in cs.expected_messages(SLUG, key, item["case"]):
                if key == "oa300" and changed is None and data[:6] == b"920099":
                    changed = item["case"]
                    data = set_role_zone(compiled, data, "refusal", "02")
                cs.submit(SLUG, key, name, data)
    pages = cs.site(SLUG)
    folder = root / "www"
    for rel, text in pages.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, "utf-8")
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield cs, f"http://127.0.0.1:{server.server_address[1]}", changed
    server.shutdown()
    server.server_close()
    cs.store.close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_matrix_json_follows_its_schema(site: Any) -> None:
    cs, _base, _changed = site
    matrix = cs.matrix(SLUG)
    jsonschema.validate(matrix, SCHEMA)
    for viewer in (Viewer("oa100"),):  # a participant's view follows it too
        jsonschema.validate(cs.matrix(SLUG, viewer), SCHEMA)
    assert json.loads(rulebook("campaign", "matrix-schema").stdout) == SCHEMA  # published
    with pytest.raises(jsonschema.ValidationError):  # the schema says something
        jsonschema.validate({**matrix, "cells": [{**matrix["cells"][0], "state": "green"}]}, SCHEMA)


def test_matrix_and_cell_pages_in_chromium(site: Any, browser: object) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    cs, base, changed = site
    cases = cs.matrix(SLUG)["cases"]
    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    page.goto(f"{base}/fr/index.html")
    rows = page.locator("#matrix-table tr[data-case]")
    assert rows.count() == len(cases)
    cell = page.locator(f'tr[data-case="{changed}"] td[data-state="verdict-differs"]')
    assert "✗ 920099/02≠920099/01" in cell.inner_text()
    assert "verdict-differs" in cell.inner_text()  # the state in words, not only a colour
    page.check("#f-divergent")
    assert "only=divergent" in page.url
    assert page.locator("#matrix-table tr[data-case]").count() == 1
    # a view is a URL: opened again, the filters come back
    page.goto(f"{base}/fr/index.html?participant=oa300&state=verdict-differs")
    assert page.locator("#f-participant").input_value() == "oa300"
    assert page.locator("#matrix-table tr[data-case]").count() == 1
    page.locator(f'tr[data-case="{changed}"] a').first.click()
    page.wait_for_url("**/cells/**/oa300.html")
    body = page.inner_text("body")
    assert "Attendu" in body and "Observé" in body and "920099/02" in body
    page.click("nav a[lang=nl]")
    page.wait_for_url("**/nl/cells/**/oa300.html")
    assert "Verwacht" in page.inner_text("body")
    page.click("text=Terug naar de matrix")
    page.wait_for_url("**/nl/index.html")
    assert page.locator("#matrix-table tr[data-case]").count() == len(cases)
    assert "Alleen afwijkingen" in page.inner_text("#toolbar")
    assert outside == []
    page.close()
