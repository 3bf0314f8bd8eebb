"""The command line: ``rulebook check | validate | …`` over the same library as the service.

Input: command-line arguments; files or standard input.
Output: diagnostics, reports and files; exit status 0 (accepted / no errors), 1 (findings /
rulebook errors), 2 (the input cannot be read or the command is misused). Bad input never
produces a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from api import cli_campaign_results, cli_campaign_review
from api.cli_campaign import campaign
from api.cli_check import check
from api.cli_common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Outcome,
    compiled_rulebook,
    fail,
    guarded,
    parse_date,
    rulebook_option,
    settle,
)
from api.cli_diff import diff
from api.cli_explain import explain
from api.cli_io import echo_json, progress, read_input
from api.cli_plan import plan
from api.cli_serve import MAX_WORKERS, keys, serve, usable_cores
from api.cli_validate import validate
from compiler import Compiled
from validator.reader import DEFAULT_BLOCK_RECORDS

DEFAULT_BLOCK = DEFAULT_BLOCK_RECORDS
LARGE_INPUT = 1 << 20  # structured input from which generate shows that it works
__all__ = ["MAX_WORKERS", "main", "usable_cores"]


@click.group()
@click.version_option(package_name="rulebook")
def main() -> None:
    """Rulebook: INAMI/RIZIV eFact billing rules as data, compiled and checked."""


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
    from validator.report import summary_line

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
    click.echo(summary_line(report, lang))
    for (path, _), a in zip(files, answers, strict=True):
        msg = compiled.messages[a.message]
        click.echo(f"wrote {path}  ({a.message} {msg.nl if lang == 'nl' else msg.fr})")
        for o in a.omitted:
            f = o.finding
            if f.record is not None:
                where = f"record {f.record}"
            elif f.segment is not None:
                where = f"segment {f.segment}"
            else:
                where = "the file"
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
    raw = read_input(input_file)
    # a large file takes tens of seconds: a person at a terminal sees it working
    with progress(f"generating {name}", None, show=len(raw) > LARGE_INPUT):
        data = structured_input(compiled, name, raw)
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
    from generator.mutants import build_case

    compiled = compiled_rulebook(rulebook_dir)
    if code is not None and not compiled.rules_for_code(code):
        fail(f"no rule has code {code}")
    todo = [
        (rule, index)
        for rule in compiled.rules
        if code is None or rule.code == code
        for index in range(len(rule.mutants))
    ]
    found = []
    with progress("building mutants", len(todo)) as advance:
        for rule, index in todo:
            found.append(build_case(compiled, rule, index))
            advance()
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
    with progress("checking mutants", len(rules), show=fmt == "text") as advance:
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
            advance()
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


main.add_command(serve)
main.add_command(validate)
main.add_command(explain)
main.add_command(plan)
main.add_command(check)
main.add_command(diff)
main.add_command(keys)
main.add_command(campaign)
# importing them registers the result and review commands on 'campaign'
assert cli_campaign_results.submit is not None and cli_campaign_review.note is not None

if __name__ == "__main__":  # pragma: no cover
    main()
