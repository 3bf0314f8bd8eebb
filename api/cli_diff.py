"""``rulebook diff OLD NEW [--replay FILE...]``: the semantic difference between two rulebooks
— directories, git revisions, or releases (``v2026.1``) — with conditions in words, and the
files whose outcome changes, each change with its cause. A side that does not compile is
named (OLD or NEW) with its diagnostics.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import click

from api.cli_common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Outcome,
    compiled_rulebook,
    fail,
    guarded,
    parse_date,
    settle,
)
from api.cli_io import echo_json

__all__ = ["diff"]


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="OLD NEW [FILE...]")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--lang", type=click.Choice(["fr", "nl"]), default="fr", help="Language of conditions."
)
@click.option(
    "--replay", is_flag=True, help="Validate FILE... under both versions and explain changes."
)
@click.option("--today", callback=parse_date, help="Reference date of the replay.")
@guarded
def diff(paths: tuple[str, ...], fmt: str, lang: str, replay: bool, today: dt.date | None) -> None:
    """Semantic difference between two rulebooks (directories, git revisions of this
    repository, or releases such as v2026.1): rules (conditions in words), tables,
    parameters, layouts, codes. Exit 0 when there is none."""
    from versions.diff import diff as compare
    from versions.replay import replay as run_replay
    from versions.source import SourceError, resolve

    if len(paths) < 2 or (len(paths) > 2 and not replay):
        fail("usage: rulebook diff OLD NEW [--replay FILE...]")
    if replay and len(paths) == 2:
        fail("--replay needs at least one FILE")
    repo = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="rulebook-diff-") as work:
        books = []
        for side, spec in zip(("OLD", "NEW"), paths[:2], strict=True):
            try:
                directory = resolve(spec, repo, Path(work))
            except SourceError as exc:
                fail(f"{side}: {exc}")
                raise
            failure = (
                f"{side} ({spec}) does not compile: its errors are above; nothing was compared"
            )
            books.append(compiled_rulebook(str(directory), failure))
        old, new = books
        changes = compare(old, new)
        outcomes = []
        if replay:
            files = [Path(p) for p in paths[2:]]
            for f in files:
                if not f.is_file():
                    fail(f"{f} is not a file")
            outcomes = [o for o in run_replay(old, new, changes, files, today) if o.changed]
    settle(EXIT_OK if changes.empty and not outcomes else EXIT_FINDINGS)
    if fmt == "json":
        payload = changes.to_json()
        if replay:
            payload["replay"] = [o.to_json() for o in outcomes]
        echo_json(payload)
    else:
        click.echo(changes.to_text(lang), nl=False)
        if replay:
            click.echo("")
            click.echo(f"replay: {len(outcomes)} of {len(paths) - 2} file(s) change")
            for o in outcomes:
                click.echo(o.to_text())
    sys.exit(Outcome.status)
