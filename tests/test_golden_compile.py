"""Golden compiler output: the IR dump of the golden prelude, reviewed on change."""

from __future__ import annotations

from pathlib import Path

from compiler import compile_rulebook
from compiler.dump import dump
from rulebook.load import load

BASE = Path(__file__).parent / "golden"


def test_ir_dump_matches_golden(update_golden: bool) -> None:
    sources = [
        *sorted((BASE / "errors" / "_prelude").glob("*")),
        BASE / "compile" / "mini.rules",
    ]
    text = dump(compile_rulebook(load(sources)))
    golden = BASE / "compile" / "mini.ir.txt"
    if update_golden:
        golden.write_text(text, "utf-8")
    assert text == golden.read_text("utf-8")


def test_formatting_does_not_change_the_ir() -> None:
    prelude = sorted((BASE / "errors" / "_prelude").glob("*"))
    source = (BASE / "compile" / "mini.rules").read_text("utf-8")
    squeezed = BASE / "compile" / "_squeezed.rules.tmp"
    try:
        squeezed.write_text(
            "\n".join(line.split("#")[0].rstrip() for line in source.splitlines()).replace(
                "  require", "      require"
            ),
            "utf-8",
        )
        a = dump(compile_rulebook(load([*prelude, BASE / "compile" / "mini.rules"])))
        b = dump(compile_rulebook(load([*prelude, squeezed])))
    finally:
        squeezed.unlink(missing_ok=True)
    assert a == b
