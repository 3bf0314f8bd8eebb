"""The published instructions: both languages complete, rules in words, changelog, questions,
links, served by the service, and opened in a real headless Chromium."""

from __future__ import annotations

import html
import re
from pathlib import PurePosixPath

import pytest
from fastapi.testclient import TestClient

from api.service import create_app
from benchmarks.local_server import local_server
from compiler import Compiled
from publish.site import MISSING, Site
from publish.texts import TEXTS
from publish.tolerances import calls
from tests.browser import offline_page


@pytest.fixture(scope="module")
def sites(compiled: Compiled) -> dict[str, dict[str, str]]:
    return {lang: Site(compiled, lang).pages() for lang in ("fr", "nl")}


def text_of(page: str) -> str:
    """A page's text, without the rulebook authors' notes (in English, marked lang="en")."""
    body = page.split("<body>", 1)[1]
    body = re.sub(r'<span lang="en">.*?</span>', " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_interface_texts_exist_in_both_languages() -> None:
    assert TEXTS["fr"].keys() == TEXTS["nl"].keys()
    assert all(TEXTS[lang][k].strip() for lang in TEXTS for k in TEXTS[lang])


def test_no_page_lacks_a_label_or_a_translation(sites: dict[str, dict[str, str]]) -> None:
    assert sites["fr"].keys() == sites["nl"].keys()
    assert len(sites["fr"]) > 500
    french_only = {v for k, v in TEXTS["fr"].items() if v != TEXTS["nl"][k] and len(v) > 4}
    for lang, pages in sites.items():
        for path, page in pages.items():
            assert MISSING not in page, f"{lang}/{path} lacks a label"
            if lang == "nl":
                text = text_of(page)
                leaked = [s for s in french_only if s in text and s != TEXTS["fr"]["language"]]
                assert not leaked, f"nl/{path} shows French interface text {leaked}"


def test_rule_page_in_words_with_its_question(
    compiled: Compiled, sites: dict[str, dict[str, str]]
) -> None:
    rule = compiled.rules_for_code("200802")[0]
    fr, nl = text_of(sites["fr"]["rules/200802.html"]), text_of(sites["nl"]["rules/200802.html"])
    assert rule.fr in fr and rule.nl in nl and rule.nl not in fr
    assert "est un NISS (ou numéro BIS) dont le check-digit est correct" in fr
    assert "is een INSZ (of BIS-nummer) met een juist controlecijfer" in nl
    assert "instructions/et20.rules:" in fr
    assert "Le check-digit du NISS d'une personne née en 2000" in fr
    assert "Wordt het controlecijfer van het INSZ" in nl


def test_changelog_lists_the_rules_of_each_date(sites: dict[str, dict[str, str]]) -> None:
    page = sites["fr"]["changelog.html"]
    section = page.split("À partir du 2015-01-01", 1)[1].split("<h2>", 1)[0]
    assert 'href="rules/102710.html"' in section and "Nouvelles versions de règles" in section


def test_every_link_resolves(sites: dict[str, dict[str, str]]) -> None:
    for lang, pages in sites.items():
        for path, page in pages.items():
            for href in re.findall(r'href="([^"#]+)"', page):
                target = str(PurePosixPath(lang, path).parent / href)
                parts: list[str] = []
                for piece in target.split("/"):
                    if piece == "..":
                        parts.pop()
                    elif piece not in ("", "."):
                        parts.append(piece)
                other, rest = parts[0], "/".join(parts[1:])
                assert rest in sites[other], f"{lang}/{path}: broken link {href}"


def test_service_serves_the_instructions(compiled: Compiled) -> None:
    with TestClient(create_app(compiled)) as client:
        home = client.get("/docs/instructions/", follow_redirects=False)
        assert home.status_code == 307 and home.headers["location"].endswith("/fr/index.html")
        page = client.get("/docs/instructions/nl/rules/200802.html")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert compiled.rules_for_code("200802")[0].nl in html.unescape(page.text)
        assert client.get("/docs/instructions/nl/rules/000000.html").status_code == 404
        assert client.get("/docs/instructions/de/index.html").status_code == 404


def test_in_a_real_browser(compiled: Compiled, browser: object) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    label_nl = compiled.rules_for_code("200802")[0].nl
    with local_server() as server, offline_page(browser) as (page, outside):
        page.goto(f"{server.base}/docs/instructions/nl/rules/200802.html")
        assert page.locator("dd.label").first.inner_text() == label_nl
        assert "Voorwaarde" in page.inner_text("body")
        page.goto(f"{server.base}/docs/instructions/fr/changelog.html")
        page.click('a[href="rules/102710.html"]')
        page.wait_for_url("**/fr/rules/102710.html")
        assert page.title().startswith("102710 ")
        page.click("nav a[lang=nl]")  # the language switch: the same page in Dutch
        page.wait_for_url("**/nl/rules/102710.html")
        assert "Voorwaarde" in page.inner_text("body")
        page.click("nav a[href='../index.html']")
        page.wait_for_url("**/nl/index.html")
        assert "Berichten" in page.inner_text("body")
        page.click('a[href="messages/920000.html"]')
        tree = page.locator("ul.tree")
        assert "een of meer keer" in tree.inner_text() and "factuur" not in page.title()
        page.click('ul.tree a[href="../layouts/ET20.html"]')
        assert "destination_mutuality" in page.inner_text("table")
        page.fill("nav input[name=q]", "200802")  # search from any page
        page.press("nav input[name=q]", "Enter")
        page.wait_for_url("**/nl/search.html?q=200802")
        page.wait_for_selector("#results li")
        page.click('#results a[href="rules/200802.html"]')
        page.wait_for_url("**/nl/rules/200802.html")
        page.goto(f"{server.base}/docs/instructions/fr/search.html?q=type%20facture")
        results = page.locator("#results li")
        assert results.count() >= 1 and "Types de facture" in page.inner_text("#results")
        assert outside == []  # the network is cut: nothing was asked of another host


def test_tolerances_and_parameters_are_published(
    compiled: Compiled, sites: dict[str, dict[str, str]]
) -> None:
    """Every tolerance with its reading and evidence in each language, the rules it concerns
    (those calling 'empty' found in the rules themselves), and every parameter with its
    choices, its value and the tolerance that explains it."""
    fr, nl = (" ".join(text_of(sites[lang]["tolerances.html"]).split()) for lang in ("fr", "nl"))
    assert len(compiled.tolerances) >= 8
    for t in compiled.tolerances:
        assert all(x in fr for x in (t.fr, t.reading_fr, t.evidence_fr))
        assert all(x in nl and x not in fr for x in (t.nl, t.reading_nl, t.evidence_nl))
    linked = set(re.findall(r"rules/([\w-]+)\.html", sites["fr"]["tolerances.html"]))
    reading_empty = {r.code for r in compiled.rules if calls(r, ("empty",))}
    assert len(reading_empty) >= 130 and reading_empty <= linked
    assert {"104709", "905409", "412-11", "512-11", "805501"} <= linked
    for name, param in compiled.params.items():
        assert name in fr and param.fr in fr and param.nl in nl
    assert re.search(
        r"control_digit_offset Décalage ajouté .*? 0, 10 à partir du 2000-01-01: 0 Chiff", fr
    )
    assert "à partir du 2000-01-01: 5 %" in fr and "vanaf 2000-01-01: 5 %" in nl


def test_tables_reader_codes_and_sorted_zones_are_published(
    compiled: Compiled, sites: dict[str, dict[str, str]]
) -> None:
    for lang, pages in sites.items():
        tables = text_of(pages["tables.html"])
        for name, table in compiled.tables.items():
            assert (table.nl if lang == "nl" else table.fr) in tables
            for version in table.versions:
                for value in version.value:  # type: ignore[attr-defined]
                    shown = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    assert shown in tables, (lang, name, shown)
        assert 'href="rules/201003.html"' in pages["tables.html"]  # who reads invoice_types
        reader = text_of(pages["reader.html"])
        for info in compiled.codes.values():
            if info.reports is not None:
                assert info.code in reader and (info.nl if lang == "nl" else info.fr) in reader
        assert "RB0011" in reader
        for path, page in pages.items():
            if path.startswith("layouts/"):
                for row in re.findall(r"<tr>(.*?)</tr>", page):
                    codes = re.findall(r"rules/([\w-]+)\.html", row)
                    assert codes == sorted(codes), (path, codes)
            other = "nl" if lang == "fr" else "fr"
            assert f'href="{"../" * path.count("/")}../{other}/{path}"' in page, path
    rule = sites["fr"]["rules/801910.html"]
    assert "« montant du compte financier A » (zone 19)" in html.unescape(rule)
