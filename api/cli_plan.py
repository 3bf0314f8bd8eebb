"""``rulebook plan [--record ET50]``: the validation plan the validator runs, printed.

Per record type its rules of phase 1 and phase 2 with what each reads beyond its own record
and the checks screened together, each group's rules run once an occurrence is complete, the
end-of-sending rules in their order, the aggregates computed once for the rules reading them,
what is carried from block to block and kept to the end (``compiler.plan``). ``--format json``
gives the same as data.
"""

from __future__ import annotations

import sys

import click

from api.cli_common import EXIT_OK, compiled_rulebook, fail, guarded, rulebook_option
from api.cli_io import echo_json
from compiler import plan as compiler_plan
from compiler.plan_text import as_json, text

__all__ = ["plan"]


@click.command()
@click.option("--record", default=None, metavar="ET50", help="Only what concerns this record type.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@rulebook_option
@guarded
def plan(record: str | None, fmt: str, rulebook_dir: str | None) -> None:
    """The validation plan: what runs for each record type, group and at the end of the
    sending, the aggregates, what is carried between blocks. Exit 2 for an unknown record."""
    book = compiled_rulebook(rulebook_dir)
    planned = compiler_plan.build(book)
    if record is not None:
        wanted = record.upper()
        if not wanted.startswith("ET") and wanted.isdigit():
            wanted = "ET" + wanted
        if planned.record(wanted) is None:
            names = " ".join(r.name for r in planned.records)
            fail(f"no record type {record!r} in message {planned.message} (records: {names})")
        record = wanted
    codes = [r.code for r in book.rules]
    if fmt == "json":
        echo_json(as_json(planned, codes, record))
    else:
        click.echo(text(planned, codes, record), nl=False)
    sys.exit(EXIT_OK)
