"""Shared fixtures: the shipped rulebook compiled once, golden-file refresh, isolated caches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler import Compiled, load_compiled

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite golden files, then review git diff"
    )


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled rulebooks go to a temporary cache, never to the user's."""
    previous = os.environ.get("RULEBOOK_CACHE")
    os.environ["RULEBOOK_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("RULEBOOK_CACHE", None)
    else:
        os.environ["RULEBOOK_CACHE"] = previous


@pytest.fixture(scope="session", autouse=True)
def isolated_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Campaign stores the tests do not name (``rulebook serve``'s default) are temporary."""
    previous = os.environ.get("RULEBOOK_STORE")
    os.environ["RULEBOOK_STORE"] = f"sqlite:///{tmp_path_factory.mktemp('store')}/campaigns.db"
    yield
    if previous is None:
        os.environ.pop("RULEBOOK_STORE", None)
    else:
        os.environ["RULEBOOK_STORE"] = previous


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium with the network cut (``tests.browser``); one per test module, as
    Playwright's sync API runs an event loop in the main thread until it stops (a session-wide
    one broke every later test calling asyncio.run)."""
    from tests.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def compiled() -> Compiled:
    return load_compiled(ROOT)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
