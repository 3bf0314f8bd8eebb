"""Broken rulebook sources declare the diagnostics they must produce in a header comment.

``# expect: CODE LINE:COLUMN`` (an error) or ``# expect-warning: …``; every diagnostic of the
file must be declared and every declared one must appear (Kaitai's formats_err practice).
Each source is compiled together with a small prelude (tests/golden/errors/_prelude).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler import compile_rulebook
from rulebook.diagnostics import Diagnostic, RulebookError
from rulebook.load import load

BASE = Path(__file__).parent / "golden" / "errors"
PRELUDE = sorted((BASE / "_prelude").glob("*"))
SOURCES = sorted([*BASE.glob("*.rules"), *BASE.glob("*.layout")])
EXPECT = re.compile(r"# expect(-warning)?: (\S+) (\d+):(\d+)")


def diagnostics_of(path: Path) -> list[Diagnostic]:
    book = load([*PRELUDE, path])
    try:
        return list(compile_rulebook(book).warnings)
    except RulebookError as exc:
        return list(exc.diagnostics)


def test_at_least_twenty_broken_sources() -> None:
    assert len(SOURCES) >= 20


def test_prelude_compiles_cleanly() -> None:
    assert compile_rulebook(load(PRELUDE)).warnings == ()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_declared_diagnostics(path: Path) -> None:
    expected = sorted(
        ("warning" if m.group(1) else "error", m.group(2), int(m.group(3)), int(m.group(4)))
        for m in map(EXPECT.match, path.read_text("utf-8").splitlines())
        if m
    )
    assert expected, f"{path.name} declares no expected diagnostic"
    found = diagnostics_of(path)
    outside = [d for d in found if d.span is None or not d.span.file.endswith(path.name)]
    assert outside == []
    got = sorted(
        ("error" if d.is_error else "warning", d.code, d.span.line, d.span.column)
        for d in found
        if d.span is not None
    )
    assert got == expected
