"""``rulebook validate FILE|DIR...``: one file gets its whole report; several files, or
directories (every file under them, hidden ones aside, in name order), get one line each and
a total — or, with ``--format json``, one JSON report per line — validated in parallel on the
machine's cores, small files together (``validator.validate_many``: each report the one the
file gets alone). The exit status is the worst of the files': 0 all accepted, 1 findings,
2 a file that cannot be read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click

from api.cli_common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREADABLE,
    MAX_FINDINGS,
    compiled_rulebook,
    fail,
    guarded,
    parse_date,
    rulebook_option,
    settle,
)
from api.cli_io import echo_json, echo_pieces, input_stream, progress
from compiler import Compiled
from validator.reader import DEFAULT_BLOCK_RECORDS
from validator.report import Report, summary_line, total_line

SMALL = 1 << 20  # files up to this size are validated together ...
UNIT_FILES, UNIT_BYTES = 64, 8 << 20  # ... up to this many, or this many bytes, at once

__all__ = ["validate"]


@dataclass(frozen=True)
class Options:
    rulebook_dir: str | None
    fmt: str
    lang: str
    today: dt.date | None
    as_of: dt.date | None
    block_records: int
    keep: int | None


@dataclass(frozen=True)
class Outcome:
    """One file's result as the main process prints it."""

    status: int
    output: str  # its line (text) or its report (one JSON line)
    verdict: str  # or "unreadable"


def expand(paths: tuple[str, ...]) -> list[str]:
    """The files named and those under the directories named (hidden ones aside), each once,
    in the order given and name order within a directory; a path that does not exist ends
    the command before anything is validated."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [os.path.join(root, n) for n in sorted(names) if not n.startswith(".")]
            if not found:
                fail(f"{path}: no files in this directory")
            files += found
        elif os.path.exists(path):
            files.append(path)
        else:
            fail(f"{path} does not exist")
    return list(dict.fromkeys(files))


def units(files: list[str]) -> list[list[str]]:
    """Files grouped for the workers: small files together, a large one alone."""
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for path in files:
        try:
            n = os.path.getsize(path)
        except OSError:
            n = 0
        if n > SMALL:
            out.append([path])
            continue
        if current and (len(current) >= UNIT_FILES or size + n > UNIT_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(path)
        size += n
    if current:
        out.append(current)
    return out


COMPILED: dict[str | None, Compiled] = {}


def rulebook(path: str | None) -> Compiled:
    if path not in COMPILED:
        COMPILED[path] = compiled_rulebook(path)
    return COMPILED[path]


def outcome(report: Report, options: Options) -> Outcome:
    status = EXIT_FINDINGS if report.findings or report.omitted else EXIT_OK
    if options.fmt == "json":
        text = json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":"))
    else:
        text = summary_line(report, options.lang)
    return Outcome(status, text, report.verdict)


def unreadable(path: str, reason: str, options: Options) -> Outcome:
    if options.fmt == "json":
        error = {"file": {"name": path}, "error": {"code": "unreadable", "message": reason}}
        return Outcome(EXIT_UNREADABLE, json.dumps(error, ensure_ascii=False), "unreadable")
    return Outcome(EXIT_UNREADABLE, f"{path}: {reason}", "unreadable")


def run_unit(paths: list[str], options: Options) -> list[Outcome]:
    """Validate a unit's files (in a worker process, or here); each file's outcome."""
    from validator import validate_many

    compiled = rulebook(options.rulebook_dir)
    opened: list[tuple[int, str, object]] = []
    results: dict[int, Outcome] = {}
    try:
        for i, path in enumerate(paths):
            try:
                opened.append((i, path, open(path, "rb")))  # noqa: SIM115 (closed below)
            except OSError as exc:
                results[i] = unreadable(path, f"cannot read: {exc.strerror or exc}", options)
        reports = validate_many(
            compiled,
            [(path, stream) for _, path, stream in opened],  # type: ignore[misc]
            today=options.today,
            as_of=options.as_of,
            block_records=options.block_records,
            keep=options.keep,
        )
        for (i, _, _), report in zip(opened, reports, strict=True):
            results[i] = outcome(report, options)
    finally:
        for _, _, stream in opened:
            stream.close()  # type: ignore[attr-defined]
    return [results[i] for i in range(len(paths))]


def outcomes(work: list[list[str]], options: Options, jobs: int) -> Iterator[list[Outcome]]:
    """Each unit's outcomes, in order; in ``jobs`` processes when there is more than one."""
    if jobs <= 1 or len(work) <= 1:
        for unit in work:
            yield run_unit(unit, options)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
        yield from pool.map(run_unit, work, [options] * len(work))


@click.command()
@click.argument("paths", nargs=-1, required=True, type=str, metavar="FILE|DIR...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--lang", type=click.Choice(["fr", "nl"]), default="fr", help="Language of the text report."
)
@rulebook_option
@click.option("--today", callback=parse_date, help="Reference date for 'today' (default: today).")
@click.option(
    "--as-of", "as_of", callback=parse_date, help="Apply the rules in force at this date."
)
@click.option(
    "--block-records",
    type=click.IntRange(1, 1_000_000),
    default=DEFAULT_BLOCK_RECORDS,
    show_default=True,
    help="Records evaluated together (memory grows with it, about 4.5 KB per record).",
)
@MAX_FINDINGS
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes validating several files (default: one per usable core).",
)
@guarded
def validate(
    paths: tuple[str, ...],
    fmt: str,
    lang: str,
    rulebook_dir: str | None,
    today: dt.date | None,
    as_of: dt.date | None,
    block_records: int,
    max_findings: int,
    jobs: int | None,
) -> None:
    """Validate 920000 files: one FILE (or - for standard input) gets its whole report;
    several files or directories one line each and a total (--format json: one report per
    line). Exit 0 all accepted, 1 findings, 2 a file cannot be read."""
    options = Options(rulebook_dir, fmt, lang, today, as_of, block_records, max_findings or None)
    if len(paths) == 1 and (paths[0] == "-" or not os.path.isdir(paths[0])):
        one_file(paths[0], options)
    files = expand(paths)
    rulebook(rulebook_dir)  # its errors before any work; the workers inherit it
    from api.cli_serve import usable_cores

    status = EXIT_OK
    verdicts: dict[str, int] = {}
    with progress("validating", len(files), show=fmt == "text") as advance:
        for batch in outcomes(units(files), options, jobs or usable_cores()):
            for result in batch:
                status = max(status, result.status)
                verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
                click.echo(result.output)
            advance(len(batch))
            settle(status)
    if fmt == "text":
        click.echo(total_line(len(files), verdicts, lang))
    sys.exit(status)


def one_file(file: str, options: Options) -> None:
    """A single file's whole report (text or JSON), then exit with its status."""
    from validator import validate as run_validation
    from validator.report import text_lines

    compiled = rulebook(options.rulebook_dir)
    with input_stream(file) as stream:
        report = run_validation(
            compiled,
            stream,
            name="-" if file == "-" else Path(file).name,
            today=options.today,
            as_of=options.as_of,
            block_records=options.block_records,
            keep=options.keep,
        )
    status = settle(EXIT_OK if not report.findings else EXIT_FINDINGS)
    if options.fmt == "json":
        echo_json(report.to_json(lazy=True))
    else:
        echo_pieces(text_lines(report, options.lang))
    sys.exit(status)
