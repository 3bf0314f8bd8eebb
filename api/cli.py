"""The command line: ``rulebook check | validate | …`` over the same library as the service.

Input: command-line arguments; files or standard input.
Output: diagnostics, reports and files; exit status 0 (accepted / no errors), 1 (findings /
rulebook errors), 2 (the input cannot be read or the command is misused). Bad input never
produces a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import json
import os
import socket
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click

from api.bodies import (
    DEFAULT_BODY_DEADLINE,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MIN_RATE,
    DEFAULT_RATE_GRACE,
    DEFAULT_RECEIVING,
)
from api.pipe import DEFAULT_STREAMS
from api.protocol import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS
from compiler import Compiled, compile_rulebook, load_compiled
from rulebook.diagnostics import RulebookError, render
from rulebook.load import load, shipped_root
from validator.json_stream import json_text
from validator.reader import DEFAULT_BLOCK_RECORDS
from validator.tally import DEFAULT_KEEP

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2
DEFAULT_BLOCK = DEFAULT_BLOCK_RECORDS


def fail(message: str, code: int = EXIT_UNREADABLE) -> None:
    click.echo(f"rulebook: {message}", err=True)
    sys.exit(code)


class Outcome:
    """The exit status a command has settled on before it writes its output, so that a
    reader closing standard output early (``rulebook validate X | head``) does not turn
    findings into 0, 'accepted'."""

    status = EXIT_OK


def settle(status: int) -> int:
    Outcome.status = status
    return status


def guarded(fn: F) -> F:
    """Turn unexpected errors into a one-line message (the traceback with RULEBOOK_DEBUG=1);
    a closed standard output ends the command with the status it had settled on."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settle(EXIT_OK)
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            # what is still buffered for the closed pipe goes nowhere, not to an error at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, sys.stdout.fileno())
            sys.exit(Outcome.status)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("RULEBOOK_DEBUG"):
                traceback.print_exc()
            fail(f"internal error: {type(exc).__name__}: {exc}", 3)

    return wrapper  # type: ignore[return-value]


MAX_WORKERS = 64


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this system (macOS, Windows)
        return os.cpu_count() or 1


def parse_workers(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """``--workers``: a number of validator processes, or ``auto`` (one per usable core)."""
    if value == "auto":
        return min(usable_cores(), MAX_WORKERS)
    try:
        count = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a number of processes nor 'auto'") from None
    if not 1 <= count <= MAX_WORKERS:
        raise click.BadParameter(f"{count} is not between 1 and {MAX_WORKERS}")
    return count


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


def compiled_rulebook(path: str | None) -> Compiled:
    """The rulebook to use; its errors end the command with status 2."""
    try:
        return load_compiled(path)
    except RulebookError as exc:
        book = load(path) if path else load()
        click.echo(render(exc.diagnostics, book.sources), err=True)
        fail("the rulebook has errors (see above); run 'rulebook check'")
        raise  # unreachable


@click.group()
@click.version_option(package_name="rulebook")
def main() -> None:
    """Rulebook: INAMI/RIZIV eFact billing rules as data, compiled and checked."""


rulebook_option = click.option(
    "--rulebook",
    "rulebook_dir",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Rulebook directory (default: the rulebook shipped with this version).",
)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@guarded
def check(paths: tuple[str, ...], fmt: str) -> None:
    """Compile rulebook sources and print every diagnostic (exit 1 on any error)."""
    targets: list[str | Path] = list(paths) or [shipped_root()]
    book = load(targets)
    compiled = None
    try:
        compiled = compile_rulebook(book)
        diags = list(compiled.warnings)  # every warning of the sources and of compilation
    except RulebookError as exc:
        diags = list(exc.diagnostics)
    errors = sum(1 for d in diags if d.is_error)
    settle(EXIT_FINDINGS if errors else EXIT_OK)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
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
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        if diags:
            click.echo(render(diags, book.sources))
        if compiled is not None:
            summary = (
                f"rulebook {compiled.version}: {len(compiled.layouts)} layouts, "
                f"{len(compiled.rules)} rules, {len(compiled.codes)} codes"
            )
            click.echo(summary + ("" if diags else ", no diagnostics"), err=bool(diags))
    sys.exit(Outcome.status)


def open_input(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except IsADirectoryError:
        fail(f"{path} is a directory, not a file")
    except FileNotFoundError:
        fail(f"{path} does not exist")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    raise AssertionError  # unreachable


@contextmanager
def input_stream(path: str) -> Iterator[BinaryIO]:
    """The input opened (``-``: standard input); a read error while it is used fails with a
    located message; closed afterwards (standard input stays open)."""
    stream = open_input(path)
    try:
        yield stream
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
        raise
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def echo_json(payload: object) -> None:
    """``payload`` as indented JSON on standard output, written as it is encoded: the same
    text as ``json.dumps(payload, ensure_ascii=False, indent=2)`` and a newline, without
    holding it whole (a report of 733,310 findings is 368 MB of text), its lazy lists
    (``validator.json_stream``: a report's findings) made item by item."""
    echo_pieces(itertools.chain(json_text(payload, indent=2), ["\n"]))


def echo_pieces(pieces: Iterable[str]) -> None:
    """Text on standard output in writes of about ECHO_BATCH characters."""
    pending: list[str] = []
    size = 0
    for piece in pieces:
        pending.append(piece)
        size += len(piece)
        if size >= ECHO_BATCH:
            click.echo("".join(pending), nl=False)
            pending.clear()
            size = 0
    click.echo("".join(pending), nl=False)


ECHO_BATCH = 1 << 16  # characters written at once


def read_input(path: str) -> bytes:
    with input_stream(path) as stream:
        return stream.read()


MAX_FINDINGS = click.option(
    "--max-findings",
    type=click.IntRange(0, None),
    default=DEFAULT_KEEP,
    show_default=True,
    metavar="N",
    help="Findings listed per code (the others counted in the summary; verdict, error rate "
    "and amounts count them all); 0: all listed.",
)


@main.command()
@click.argument("file", type=str)
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
    default=DEFAULT_BLOCK,
    show_default=True,
    help="Records evaluated together (memory grows with it, about 4.5 KB per record).",
)
@MAX_FINDINGS
@guarded
def validate(
    file: str,
    fmt: str,
    lang: str,
    rulebook_dir: str | None,
    today: dt.date | None,
    as_of: dt.date | None,
    block_records: int,
    max_findings: int,
) -> None:
    """Validate a 920000 file (exit 0 accepted, 1 findings, 2 unreadable)."""
    from validator import validate as run_validation
    from validator.report import text_lines

    compiled = compiled_rulebook(rulebook_dir)
    with input_stream(file) as stream:
        report = run_validation(
            compiled,
            stream,
            name="-" if file == "-" else Path(file).name,
            today=today,
            as_of=as_of,
            block_records=block_records,
            keep=max_findings or None,
        )
    status = settle(EXIT_OK if not report.findings else EXIT_FINDINGS)
    if fmt == "json":
        echo_json(report.to_json(lazy=True))
    else:
        echo_pieces(text_lines(report, lang))
    sys.exit(status)


def write_atomically(files: list[tuple[Path, bytes]]) -> None:
    """Write every file or none: each goes to a temporary name first, then all are renamed."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, content in files:
            temp = path.with_name(f".{path.name}.part")
            temp.write_bytes(content)
            temps.append((temp, path))
        for temp, path in temps:
            os.replace(temp, path)
    except OSError as exc:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)
        fail(f"cannot write {exc.filename}: {exc.strerror}")


@main.command()
@click.argument("file", type=str)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Directory for the answers (created if needed).",
)
@click.option(
    "--lang", type=click.Choice(["fr", "nl"]), default="fr", help="Language of error comments."
)
@click.option(
    "--settlement",
    is_flag=True,
    help="Also write the settlement (920900) of an accepted sending.",
)
@rulebook_option
@click.option("--today", callback=parse_date, help="Reference date for 'today' (default: today).")
@click.option(
    "--as-of", "as_of", callback=parse_date, help="Apply the rules in force at this date."
)
@guarded
def answer(
    file: str,
    out_dir: str,
    lang: str,
    settlement: bool,
    rulebook_dir: str | None,
    today: dt.date | None,
    as_of: dt.date | None,
) -> None:
    """Validate a 920000 file and write the insurer's answers: the acknowledgement and the
    answer its verdict calls for (920098, 920099, or 920999 for bordereau errors)."""
    import io

    from answer import answers_for
    from validator import validate as run_validation

    compiled = compiled_rulebook(rulebook_dir)
    data = read_input(file)
    name = "-" if file == "-" else Path(file).name
    report = run_validation(compiled, io.BytesIO(data), name=name, today=today, as_of=as_of)
    answers = answers_for(compiled, data, report, lang, settle=settlement)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create {out}: {exc.strerror}")
    stem = "stdin" if file == "-" else Path(file).stem
    files = [(out / f"{stem}.{a.message}", a.content) for a in answers]
    write_atomically(files)
    click.echo(f"{name}: {report.verdict}, {len(report.findings)} finding(s)")
    for (path, _), a in zip(files, answers, strict=True):
        msg = compiled.messages[a.message]
        click.echo(f"wrote {path}  ({a.message} {msg.nl if lang == 'nl' else msg.fr})")
        for o in a.omitted:
            f = o.finding
            where = f"record {f.record}" if f.record is not None else f"segment {f.segment}"
            click.echo(
                f"rulebook: warning: {a.message} does not carry {f.letter} {f.code} "
                f"({where}): {o.reason}",
                err=True,
            )


@main.command()
@click.argument("files", nargs=-1, required=True, type=str)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--lang", type=click.Choice(["fr", "nl"]), default="fr", help="Language of labels.")
@rulebook_option
@guarded
def read(files: tuple[str, ...], fmt: str, lang: str, rulebook_dir: str | None) -> None:
    """Read messages the rulebook describes (answers from insurers included): per record, its
    type and its (letter, code) errors with their labels (exit 2 if one cannot be parsed)."""
    from answer import ReadError, read_message
    from answer.read import to_text as read_text

    compiled = compiled_rulebook(rulebook_dir)
    messages = []
    for file in files:
        data = read_input(file)
        try:
            messages.append(read_message(compiled, data, "-" if file == "-" else file))
        except ReadError as exc:
            fail(str(exc))
    if fmt == "json":
        payload = {"messages": [m.to_json() for m in messages]}
        echo_json(payload)
    else:
        click.echo(read_text(messages, lang), nl=False)


def write_output(path: str, content: bytes) -> None:
    """Standard output for '-', else the file, written whole or not at all."""
    if path == "-":
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        fail(f"{path} is a directory")
    write_atomically([(target, content)])


def structured_input(compiled: Compiled, name: str, raw: bytes) -> dict[str, Any]:
    """The structured form from JSON or XML (by extension, or a leading '<'), checked
    against the rulebook's JSON Schema / XSD; every error with its path, then exit 2."""
    from generator.structured import StructureError
    from generator.xmlform import from_xml

    if name.endswith(".xml") or raw.lstrip()[:1] == b"<":
        import xmlschema

        from compiler.schema import xsd

        schema = xmlschema.XMLSchema(xsd(compiled))
        try:
            errors = list(schema.iter_errors(raw.decode("utf-8")))
        except (UnicodeDecodeError, xmlschema.XMLSchemaException) as exc:  # also not well-formed
            fail(f"{name}: not a readable XML document: {exc}")
            raise
        if errors:
            for e in errors[:20]:
                click.echo(f"rulebook: {name}: {e.path}: {e.reason}", err=True)
            fail(f"{name}: {len(errors)} error(s) against the rulebook's XSD")
        try:
            return from_xml(compiled, raw)
        except StructureError as exc:
            fail(f"{name}: {exc}")
            raise
    import jsonschema

    from compiler.schema import json_schema, plain_error

    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{name}: not valid JSON: {exc}")
        raise
    validator = jsonschema.Draft202012Validator(
        json_schema(compiled), format_checker=jsonschema.FormatChecker()
    )
    problems = sorted(
        map(plain_error, validator.iter_errors(data)), key=lambda e: list(map(str, e.absolute_path))
    )
    if problems:
        for e in problems[:20]:
            click.echo(f"rulebook: {name}: {e.json_path}: {e.message}", err=True)
        fail(f"{name}: {len(problems)} error(s) against the rulebook's JSON Schema")
    if not isinstance(data, dict):  # pragma: no cover - the schema requires an object
        fail(f"{name}: a sending is a JSON object")
    checked: dict[str, Any] = data
    return checked


@main.command()
@click.argument("input_file", metavar="INPUT")
@click.option("-o", "--output", default="-", help="The file to write (default: standard output).")
@click.option("--today", callback=parse_date, help="Reference date (default: 'as_of', else today).")
@rulebook_option
@guarded
def generate(input_file: str, output: str, today: dt.date | None, rulebook_dir: str | None) -> None:
    """Write a 920000 file from its structured form (JSON, or XML), every derived zone
    (sequence numbers, totals, control digits, ET95/ET96) filled by the rulebook."""
    from generator import generate as write_file
    from generator.structured import StructureError

    compiled = compiled_rulebook(rulebook_dir)
    name = "-" if input_file == "-" else input_file
    data = structured_input(compiled, name, read_input(input_file))
    try:
        content = write_file(compiled, data, today=today)
    except StructureError as exc:
        fail(f"{name}: {exc}")
        raise
    write_output(output, content)


@main.command()
@click.argument("file", type=str)
@click.option("--format", "fmt", type=click.Choice(["json", "xml"]), default="json")
@click.option("-o", "--output", default="-", help="The file to write (default: standard output).")
@rulebook_option
@guarded
def parse(file: str, fmt: str, output: str, rulebook_dir: str | None) -> None:
    """Read a file into its structured form (JSON or XML); 'generate' writes it back."""
    from generator.parse import ParseError, to_structured
    from generator.xmlform import to_xml

    compiled = compiled_rulebook(rulebook_dir)
    try:
        data = to_structured(compiled, read_input(file), "-" if file == "-" else file)
    except ParseError as exc:
        fail(str(exc))
        raise
    text = (
        to_xml(compiled, data)
        if fmt == "xml"
        else json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    )
    write_output(output, text.encode("utf-8"))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["json", "xsd"]), default="json")
@rulebook_option
@guarded
def schema(fmt: str, rulebook_dir: str | None) -> None:
    """Print the schema of the structured form: JSON Schema, or XSD for the XML form."""
    from compiler.schema import json_schema, xsd

    compiled = compiled_rulebook(rulebook_dir)
    if fmt == "xsd":
        click.echo(xsd(compiled), nl=False)
    else:
        echo_json(json_schema(compiled))


@main.command()
@click.option("--rule", "code", default=None, help="Only this rule's mutants.")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Directory to write."
)
@rulebook_option
@guarded
def mutants(code: str | None, out_dir: str, rulebook_dir: str | None) -> None:
    """Write, for each rule, a file that breaks it and the codes it must produce
    (DIR/NAME/NAME.920000 and DIR/NAME/expected.json)."""
    from generator.mutants import cases

    compiled = compiled_rulebook(rulebook_dir)
    if code is not None and not compiled.rules_for_code(code):
        fail(f"no rule has code {code}")
    found = cases(compiled, code)
    files: list[tuple[Path, bytes]] = []
    root = Path(out_dir)
    for case in found:
        folder = root / case.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot create {folder}: {exc.strerror}")
        expected = {
            "rule": case.rule.code,
            "letter": case.rule.letter,
            "record": case.rule.record,
            "zone": case.rule.zone_label,
            "scenario": case.scenario,
            "today": case.today.isoformat(),
            "target_record": case.target_record,
            "codes": list(case.expected),
        }
        files.append((folder / f"{case.name}.{compiled.message.name}", case.data))
        text = json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
        files.append((folder / "expected.json", text.encode("utf-8")))
    write_atomically(files)
    click.echo(
        f"wrote {len(found)} mutant(s) of {len({c.rule.code for c in found})} rule(s) to {root}"
    )


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--rule", "code", default=None, help="Only the rules of this code.")
@rulebook_option
@guarded
def coverage(fmt: str, code: str | None, rulebook_dir: str | None) -> None:
    """Which rules have a working mutant (a file giving exactly its expected codes); exit 1
    when one has none."""
    from generator.mutants import build_case, check

    compiled = compiled_rulebook(rulebook_dir)
    rules = compiled.rules if code is None else compiled.rules_for_code(code)
    if not rules:
        fail(f"no rule has code {code}")
    rows: list[dict[str, Any]] = []
    for rule in rules:
        problems: list[str] = []
        if not rule.mutants:
            problems.append("no mutant declared")
        for index in range(len(rule.mutants)):
            problems.extend(check(compiled, build_case(compiled, rule, index)))
        rows.append(
            {
                "rule": rule.code,
                "record": rule.record,
                "source": f"{rule.source}:{rule.line}",
                "mutants": len(rule.mutants),
                "working": not problems,
                "problems": problems,
            }
        )
    working = sum(1 for r in rows if r["working"])
    share = working / len(rows) if rows else 1.0
    settle(EXIT_OK if working == len(rows) else EXIT_FINDINGS)
    if fmt == "json":
        payload = {
            "rules": len(rows),
            "working": working,
            "coverage": round(share, 6),
            "by_rule": rows,
        }
        echo_json(payload)
    else:
        for r in rows:
            if not r["working"]:
                click.echo(f"{r['rule']} ({r['source']}): {'; '.join(r['problems'])}")
        click.echo(f"{working} of {len(rows)} rules have a working mutant ({share:.1%})")
    sys.exit(Outcome.status)


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="OLD NEW [FILE...]")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--replay", is_flag=True, help="Validate FILE... under both versions and explain changes."
)
@click.option("--today", callback=parse_date, help="Reference date of the replay.")
@guarded
def diff(paths: tuple[str, ...], fmt: str, replay: bool, today: dt.date | None) -> None:
    """Semantic difference between two rulebooks (directories, or git revisions of this
    repository): rules, tables, parameters, layouts, codes. Exit 0 when there is none."""
    import tempfile

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
        for spec in paths[:2]:
            try:
                books.append(compiled_rulebook(str(resolve(spec, repo, Path(work)))))
            except SourceError as exc:
                fail(str(exc))
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
        click.echo(changes.to_text(), nl=False)
        if replay:
            click.echo("")
            click.echo(f"replay: {len(outcomes)} of {len(paths) - 2} file(s) change")
            for o in outcomes:
                click.echo(o.to_text())
    sys.exit(Outcome.status)


@main.command()
@click.option("--lang", type=click.Choice(["fr", "nl"]), default="fr", show_default=True)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Site directory."
)
@rulebook_option
@guarded
def docs(lang: str, out_dir: str, rulebook_dir: str | None) -> None:
    """Render the published instructions as a static HTML site in DIR/LANG/ (messages and
    records, every rule with its condition in words, the changes by date, questions)."""
    from publish import write_site

    compiled = compiled_rulebook(rulebook_dir)
    target = Path(out_dir) / lang
    try:
        count = write_site(compiled, lang, target)
    except OSError as exc:
        fail(f"cannot write {exc.filename}: {exc.strerror}")
        raise
    click.echo(f"wrote {count} pages to {target} (open {target / 'index.html'})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@rulebook_option
@click.option(
    "--max-bytes",
    type=click.IntRange(1),
    default=None,
    help="Largest request body accepted (default 200 MB, or RULEBOOK_MAX_BYTES).",
)
@click.option(
    "--workers",
    default="auto",
    callback=parse_workers,
    metavar="N|auto",
    show_default=True,
    help="Validator processes for small files: 'auto', one per core this process may use; "
    "1, validated in a thread of the HTTP process; more, in processes beside the HTTP one, "
    "which take batches of waiting files as they become free.",
)
@click.option(
    "--max-streams",
    type=click.IntRange(1, 1024),
    default=DEFAULT_STREAMS,
    show_default=True,
    help="Files over 8 MB (or sent without a length) received and validated at once, and "
    "/v1/answer and /v1/read requests handled at once; the others wait, bodies not yet read.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0.1, 86400),
    default=DEFAULT_BODY_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="A request whose body stops arriving for this long is answered 408.",
)
@click.option(
    "--min-body-rate",
    type=click.FloatRange(0, None),
    default=DEFAULT_MIN_RATE,
    show_default=True,
    metavar="BYTES_PER_S",
    help="A body that arrives slower than this on average (once --rate-grace has passed) is "
    "answered 408; 0: no minimum.",
)
@click.option(
    "--rate-grace",
    type=click.FloatRange(0, 86400),
    default=DEFAULT_RATE_GRACE,
    show_default=True,
    metavar="SECONDS",
)
@click.option(
    "--body-deadline",
    type=click.FloatRange(0.1, 86400),
    default=DEFAULT_BODY_DEADLINE,
    show_default=True,
    metavar="SECONDS",
    help="A body not whole after this long is answered 408.",
)
@click.option(
    "--max-receiving",
    type=click.IntRange(1, 4096),
    default=DEFAULT_RECEIVING,
    show_default=True,
    help="Bodies of up to 8 MB received and held at once; the others wait, unread.",
)
@MAX_FINDINGS
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1, 3600),
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="A request's headers must be whole this long after the connection (or the previous "
    "answer) opened it; else 408 and the connection is closed.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 1_000_000),
    default=DEFAULT_MAX_CONNECTIONS,
    show_default=True,
    help="Connections kept at once: beyond, the one idle the longest is closed.",
)
@click.option(
    "--today",
    callback=parse_date,
    help="The reference date for 'today' of every validation (default: the date of each "
    "request); clients cannot set it.",
)
@click.option(
    "--allow-as-of",
    is_flag=True,
    help="Let clients pass as_of (the rules in force at another date).",
)
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(dir_okay=False),
    help="API key file (rulebook keys add): the validation routes need a client's key. "
    "Required to listen beyond loopback.",
)
@click.option(
    "--access-log",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write a JSON line per request to this file ('-': standard output).",
)
@guarded
def serve(
    host: str,
    port: int,
    rulebook_dir: str | None,
    max_bytes: int | None,
    workers: int,
    max_streams: int,
    body_timeout: float,
    min_body_rate: float,
    rate_grace: float,
    body_deadline: float,
    max_receiving: int,
    max_findings: int,
    header_timeout: float,
    max_connections: int,
    today: dt.date | None,
    allow_as_of: bool,
    keys_file: str | None,
    access_log: str | None,
) -> None:
    """Start the HTTP validation service (the rulebook is compiled once, at start-up)."""
    import uvicorn

    from api.access import KeyFileError, Keys
    from api.protocol import guarded_protocol
    from api.service import create_app

    keys = Path(keys_file) if keys_file is not None else None
    if keys is not None:
        try:
            Keys(keys).client("")  # a key file that cannot be read stops here
        except KeyFileError as exc:
            fail(str(exc))
    log = None
    if access_log == "-":
        log = sys.stdout
    elif access_log is not None:
        try:
            log = open(access_log, "a", encoding="utf-8")  # noqa: SIM115 - the server's life
        except OSError as exc:
            fail(f"cannot write the access log {access_log}: {exc.strerror}")
    compiled = compiled_rulebook(rulebook_dir)  # errors stop here, once, before any worker
    port = usable_port(host, port)  # a port in use stops here, before any worker too
    if keys is None and not loopback(host):
        fail(
            f"listening on {host} (beyond this machine) needs API keys: --keys FILE "
            "(create one with 'rulebook keys add NAME --file FILE')"
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"rulebook {compiled.version} ({compiled.hash[:19]}…): {len(compiled.rules)} rules\n"
        f"serving on http://{shown}:{port}  (API docs: http://{shown}:{port}/docs)"
        + (f"  [{workers} validator processes]" if workers > 1 else "")
    )
    app = create_app(
        compiled,
        max_bytes=max_bytes,
        workers=workers,
        max_streams=max_streams,
        body_timeout=body_timeout,
        min_body_rate=min_body_rate,
        rate_grace=rate_grace,
        body_deadline=body_deadline,
        max_receiving=max_receiving,
        today=today,
        allow_as_of=allow_as_of,
        keys=keys,
        access_log=log,
        keep=max_findings or None,
    )
    gc.freeze()  # the rulebook and the app live as long as the server: see api.batch
    # uvloop where it is installed (a dependency on Linux and macOS): ~8 % less CPU per
    # request in the HTTP process than asyncio's loop, measured side by side
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=guarded_protocol(header_timeout, max_connections),
        loop="auto",
        backlog=max(2048, max_connections),
    )


def loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (a loopback address or name)."""
    import ipaddress

    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@main.group()
def keys() -> None:
    """API keys of the service's clients, stored hashed in a key file (rulebook serve --keys)."""


KEY_FILE = click.option(
    "--file", "key_file", type=click.Path(dir_okay=False), required=True, help="The key file."
)


@keys.command("add")
@click.argument("name")
@KEY_FILE
@guarded
def keys_add(name: str, key_file: str) -> None:
    """A new key for client NAME: printed once, stored hashed."""
    from api.access import KeyFileError, add_key

    try:
        key = add_key(Path(key_file), name)
    except KeyFileError as exc:
        fail(str(exc))
        raise
    click.echo(key)
    click.echo(f"key {name!r} added to {key_file}: it is shown only now", err=True)


@keys.command("revoke")
@click.argument("name")
@KEY_FILE
@guarded
def keys_revoke(name: str, key_file: str) -> None:
    """Remove client NAME's key (a running server stops taking it at once)."""
    from api.access import KeyFileError, revoke_key

    try:
        revoke_key(Path(key_file), name)
    except KeyFileError as exc:
        fail(str(exc))
    click.echo(f"key {name!r} revoked", err=True)


@keys.command("list")
@KEY_FILE
@guarded
def keys_list(key_file: str) -> None:
    """The names of the clients that have a key."""
    from api.access import KeyFileError, key_names

    try:
        names = key_names(Path(key_file))
    except KeyFileError as exc:
        fail(str(exc))
        raise
    for name in names:
        click.echo(name)


def usable_port(host: str, port: int) -> int:
    """``port`` (for 0, a free one the system chose) once a socket could be bound to it on
    ``host`` (a name, an IPv4 or an IPv6 address), or exit 2 with the reason (an address in
    use, a host that does not resolve), as for any input the command cannot use. The probe
    is closed and uvicorn binds its own socket, as it always did (another process could take
    the port in between: uvicorn then stops with its own message, exit 3)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's
            probe.bind(address)
            return int(probe.getsockname()[1])
    except (OSError, UnicodeError) as exc:
        fail(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}")
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
