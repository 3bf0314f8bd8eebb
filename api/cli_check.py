"""``rulebook check [PATHS] [--with-shipped]``: compile rulebook sources and print every
diagnostic, with paths as the user can open them (relative to the current directory).

``--with-shipped`` checks the files given on top of the shipped rulebook — a file named like
a shipped one (``et20.rules``) takes its place, any other is added — so an attaché checks one
new or edited file without rebuilding the rest. A rule without a mutant is warned about
(``no-mutant``): ``rulebook coverage`` would report it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from api.cli_common import EXIT_FINDINGS, EXIT_OK, Outcome, fail, for_display, guarded, settle
from compiler import Compiled, compile_rulebook
from rulebook.diagnostics import Diagnostic, RulebookError, render, warning
from rulebook.load import load, shipped_root, source_files
from rulebook.spans import Span

__all__ = ["check"]


def shipped_with(paths: tuple[str, ...]) -> tuple[list[Path], Path]:
    """The shipped rulebook's files, those named like a given file replaced by it."""
    root = shipped_root()
    given = [Path(p) for p in paths]
    for path in given:
        if not path.is_file():
            fail(f"{path}: not a file (--with-shipped takes .rules and .layout files)")
    names = {p.name for p in given}
    kept = [f for f in source_files(root) if f.name not in names]
    return [*kept, *given], root


def no_mutant(compiled: Compiled) -> list[Diagnostic]:
    return [
        warning(
            "no-mutant",
            f"rule {rule.code} has no mutant: nothing shows that it can fail",
            Span.point(rule.source, rule.line, 1),
            "add a 'mutant' line that breaks it (see rulebook coverage --rule " + rule.code + ")",
        )
        for rule in compiled.rules
        if not rule.mutants
    ]


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--with-shipped",
    is_flag=True,
    help="Check the files given on top of the shipped rulebook (a file named like a shipped "
    "one replaces it).",
)
@guarded
def check(paths: tuple[str, ...], fmt: str, with_shipped: bool) -> None:
    """Compile rulebook sources and print every diagnostic (exit 1 on any error)."""
    if with_shipped:
        if not paths:
            fail("--with-shipped needs the files to check on top of the shipped rulebook")
        files, root = shipped_with(paths)
        book = load(files, root=root)
    else:
        book = load(list(paths) or [shipped_root()])
    compiled = None
    try:
        compiled = compile_rulebook(book)
        diags = list(compiled.warnings) + no_mutant(compiled)
    except RulebookError as exc:
        diags = list(exc.diagnostics)
    errors = sum(1 for d in diags if d.is_error)
    settle(EXIT_FINDINGS if errors else EXIT_OK)
    diags, sources = for_display(book, diags)
    if fmt == "json":
        payload = {
            "diagnostics": [
                {
                    "code": d.code,
                    "severity": d.severity.value,
                    "message": d.message,
                    "file": d.span.file if d.span else None,
                    "line": d.span.line if d.span else None,
                    "column": d.span.column if d.span else None,
                    "hint": d.hint,
                }
                for d in diags
            ],
            "errors": errors,
            "rules": len(compiled.rules) if compiled else None,
            "hash": book.hash,
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        if diags:
            click.echo(render(diags, sources))
        if errors and paths and not with_shipped and all(Path(p).is_file() for p in paths):
            click.echo(
                "hint: files alone are not a rulebook; to check them on top of the shipped "
                f"one: rulebook check --with-shipped {' '.join(paths)}"
            )
        if compiled is not None:
            summary = (
                f"rulebook {compiled.version}: {len(compiled.layouts)} layouts, "
                f"{len(compiled.rules)} rules, {len(compiled.codes)} codes"
            )
            click.echo(summary + ("" if diags else ", no diagnostics"), err=bool(diags))
    sys.exit(Outcome.status)
