"""``rulebook explain CODE``: a code as the published instructions give it, on the command
line — its letter and labels, and for each rule version the record and zone, when it applies
and what it requires in words, its period, the date that chooses it, its source and note, then
the questions attached; a reader code with the condition it reports. ``--format json`` gives
the same as ``GET /v1/rules/{code}`` with the words and questions added.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from api.cli_common import EXIT_OK, compiled_rulebook, fail, guarded, rulebook_option
from api.cli_io import echo_json
from compiler import Compiled, ir
from compiler.words import Words
from publish.site import Site
from rulebook.conditions import READER_CONDITIONS

__all__ = ["explain"]


def described(book: Compiled, code: str, lang: str) -> dict[str, Any]:
    """The code, its rule versions in words and its questions, as JSON."""
    info = book.codes[code]
    site = Site(book, lang)
    versions = []
    for r in book.rules_for_code(code):
        words = Words(book, lang, r.record)
        versions.append(
            {
                "record": r.record,
                "zone": r.zone_label,
                "zone_label": site.label(r.zone.fr, r.zone.nl),
                "when": words(r.when) if r.when is not None else None,
                "requires": words(r.require),
                "period": site.period(r.start, r.end),
                "valid_from": ir.iso_day(r.start),
                "valid_until": ir.iso_day(r.end),
                "governed_by": site.date_label(r.governed_by),
                "source": f"{r.source}:{r.line}",
                "note": r.note,
            }
        )
    questions = [
        {"question": site.label(q.fr, q.nl), "answer": site.label(q.answer_fr, q.answer_nl)}
        for q in book.questions
        if code in q.codes
    ]
    return {
        "code": info.code,
        "letter": info.letter,
        "official": info.official,
        "label": {"fr": info.fr, "nl": info.nl},
        "reports": info.reports,  # a reader code: the condition it reports
        "source": info.source,
        "versions": versions,
        "questions": questions,
    }


def as_text(book: Compiled, data: dict[str, Any], lang: str) -> list[str]:
    t = Site(book, lang).t
    sep = " : " if lang == "fr" else ": "  # French puts a space before the colon
    label = data["label"]["nl" if lang == "nl" else "fr"]
    lines = [f"{data['code']} {data['letter']} — {label}", f"  {t['letter_' + data['letter']]}"]
    if data["reports"]:
        lines.append(
            f"  {data['reports']}: {READER_CONDITIONS[data['reports']]} ({data['source']})"
        )
    for v in data["versions"]:
        lines += [
            "",
            f"{t['record']} {v['record']}, {t['zone'].lower()} {v['zone']} ({v['zone_label']})",
            f"  {t['when']}{sep}{v['when'] or t['always']}",
            f"  {t['condition']}{sep}{v['requires']}",
            f"  {t['period']}{sep}{v['period']}",
            f"  {t['governed']}{sep}{v['governed_by']}",
            f"  {t['source']}{sep}{v['source']}",
        ]
        if v["note"]:
            lines.append(f"  {t['note']}{sep}{v['note']}")
    if data["questions"]:
        lines += ["", t["questions"]]
        for q in data["questions"]:
            lines += [f"  - {q['question']}", f"    {t['answer']} {q['answer']}"]
    return lines


@click.command()
@click.argument("code")
@click.option("--lang", type=click.Choice(["fr", "nl"]), default="fr")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@rulebook_option
@guarded
def explain(code: str, lang: str, fmt: str, rulebook_dir: str | None) -> None:
    """A code's rule in words: letter, labels, each version (when, requires, period, source),
    questions. Exit 2 for a code the rulebook does not have."""
    book = compiled_rulebook(rulebook_dir)
    if code not in book.codes:
        near = sorted(c for c in book.codes if c.startswith(code[:4]))[:5]
        hint = f" (codes near it: {', '.join(near)})" if near else ""
        fail(f"no code {code!r} in this rulebook{hint}")
    data = described(book, code, lang)
    if fmt == "json":
        echo_json(data)
    else:
        click.echo("\n".join(as_text(book, data, lang)))
    sys.exit(EXIT_OK)
