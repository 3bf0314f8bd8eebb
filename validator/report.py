"""The validation report: findings, verdict, summary; JSON (design.md §4) and text forms.

Input: findings produced by the validator run, counts of records and invoices.
Output: ``Report`` (frozen), ``to_json`` with every field of the contract always present, and
``to_text`` for people: grouped by invoice, each finding with its zone's name and the value
found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from validator.json_stream import LazyList
from validator.words import Detail, count, euros, grouped, percent, verdict_words, word

LETTERS = ("B", "F", "R", "S", "E")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One broken rule (or reader problem) at one place of the file."""

    code: str
    letter: str
    segment: str | None
    record: int | None
    record_type: str | None
    zone: str | None
    start: int | None
    end: int | None
    invoice: int | None
    fr: str
    nl: str
    source: str | None
    line: int | None
    zone_label_fr: str | None = field(default=None, compare=False)
    zone_label_nl: str | None = field(default=None, compare=False)
    value: str | None = field(default=None, compare=False)
    detail: Detail | None = field(default=None, compare=False)

    def sort_key(self) -> tuple[int, int, int, int, str]:
        if self.segment is not None:
            return (0, int(self.segment), 0, self.start or 0, self.code)
        if self.record is None:
            return (2, 0, 0, self.start or 0, self.code)
        return (1, 0, self.record, self.start or 0, self.code)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "letter": self.letter,
            "segment": self.segment,
            "record": self.record,
            "record_type": self.record_type,
            "zone": self.zone,
            "start": self.start,
            "end": self.end,
            "invoice": self.invoice,
            "message": {"fr": self.fr, "nl": self.nl},
            "rule": {"source": self.source, "line": self.line},
            "value": self.value,
            "detail": self.detail.to_json() if self.detail is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Sums:
    asked: int
    accepted: int
    refused: int

    def to_json(self) -> dict[str, int]:
        return {"asked": self.asked, "accepted": self.accepted, "refused": self.refused}


@dataclass(frozen=True, slots=True)
class Destination:
    key: str  # the destination zone's characters (e.g. mutuality "102")
    accounts: tuple[tuple[str, Sums], ...]
    total: Sums

    def account(self, name: str | None) -> Sums:
        if name is None:
            return self.total
        return next((s for n, s in self.accounts if n == name), Sums(0, 0, 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.key,
            "accounts": {name: sums.to_json() for name, sums in self.accounts},
            "total": self.total.to_json(),
        }


@dataclass(frozen=True, slots=True)
class AmountsResult:
    destinations: tuple[Destination, ...]
    unassigned_lines: int

    def total(self, account: str | None) -> Sums:
        parts = [d.account(account) for d in self.destinations]
        return Sums(
            sum(p.asked for p in parts),
            sum(p.accepted for p in parts),
            sum(p.refused for p in parts),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "by_destination": [d.to_json() for d in self.destinations],
            "unassigned_lines": self.unassigned_lines,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The outcome of validating one file."""

    rulebook_version: str
    rulebook_hash: str
    file_name: str
    file_sha256: str
    message: str | None
    records: int
    invoices: int
    verdict: str
    findings: tuple[Finding, ...]
    error_rate: float
    reference_date: str
    governing_date: str | None
    amounts: AmountsResult | None = None
    # every finding counted (``validator.tally``); None: those of ``findings``, all listed
    code_counts: dict[str, int] | None = None
    letter_counts: dict[str, int] | None = None
    omitted: int = 0  # findings counted but not listed

    def by_letter(self) -> dict[str, int]:
        if self.letter_counts is not None:
            return {k: self.letter_counts.get(k, 0) for k in LETTERS}
        counts = dict.fromkeys(LETTERS, 0)
        for f in self.findings:
            counts[f.letter] = counts.get(f.letter, 0) + 1
        return counts

    def by_code(self) -> dict[str, int]:
        if self.code_counts is not None:
            return dict(self.code_counts)
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.code] = counts.get(f.code, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def total(self) -> int:
        """Every finding, listed or not."""
        return len(self.findings) + self.omitted

    def to_json(self, *, lazy: bool = False) -> dict[str, Any]:
        """The report as JSON (design.md §4); ``lazy``: its findings as a ``LazyList``, each
        made a dictionary only when ``json_stream.json_text`` writes it."""
        findings = LazyList(self.findings, Finding.to_json)
        return {
            "rulebook": {"version": self.rulebook_version, "hash": self.rulebook_hash},
            "file": {
                "name": self.file_name,
                "sha256": self.file_sha256,
                "message": self.message,
                "records": self.records,
            },
            "verdict": self.verdict,
            "findings": findings if lazy else findings.made(),
            "amounts": self.amounts.to_json() if self.amounts is not None else None,
            "summary": {
                "by_letter": self.by_letter(),
                "by_code": self.by_code(),
                "findings_omitted": self.omitted,
                "error_rate": self.error_rate,
                "invoices": self.invoices,
                "reference_date": self.reference_date,
                "governing_date": self.governing_date,
            },
        }


def _where(f: Finding, lang: str) -> str:
    """Where a finding is, in the report's language: segment, record (its type), or the
    sending; then the zone, its label and positions."""
    if f.segment is not None:
        place = f"{word(lang, 'segment')} {f.segment}"
    elif f.record is not None:
        place = f"{word(lang, 'record')} {f.record}"
        if f.record_type is not None:
            place += f" (ET{f.record_type})"
    elif f.record_type is not None:
        place = f"ET{f.record_type} ({word(lang, 'sending')})"
    else:
        place = word(lang, "file_place")
    if f.zone is not None:
        label = f.zone_label_nl if lang == "nl" else f.zone_label_fr
        place += f" {word(lang, 'zone')} {f.zone}"
        if label:
            place += f" {label}"
        if f.start is not None and f.end is not None:
            place += f" [{f.start}-{f.end}]"
    return place


def plural(number: int, noun: str) -> str:
    """English counts, for the messages of tools (not reports)."""
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def by_letter_text(report: Report, lang: str) -> str:
    counts = report.by_letter()
    return ", ".join(f"{counts[k]} {k}" for k in LETTERS if counts[k]) or word(lang, "none")


def summary_line(report: Report, lang: str = "fr") -> str:
    """One line for a file among many: its name, verdict, records, findings, error rate."""
    sep = word(lang, "sep")
    return (
        f"{report.file_name}{sep}{verdict_words(report.verdict, lang)} ; "
        f"{count(report.records, lang, 'record')} ; {word(lang, 'findings')}{sep}"
        f"{by_letter_text(report, lang)} ; {word(lang, 'error_rate')} "
        f"{percent(report.error_rate, lang)}"
    ).replace(" ; ", " ; " if lang == "fr" else "; ")  # French puts a space before ';'


def total_line(files: int, verdicts: dict[str, int], lang: str = "fr") -> str:
    """The last line of a validation of many files: how many, and of each verdict (``verdict:
    count``, so that no adjective has to agree with a number)."""
    sep = word(lang, "sep")
    semi = " ; " if lang == "fr" else "; "
    parts = semi.join(
        f"{verdict_words(v, lang)}{sep}{grouped(n)}" for v, n in sorted(verdicts.items())
    )
    return f"{count(files, lang, 'file')} — {parts}"


def to_text(report: Report, lang: str = "fr") -> str:
    """A report a person can read: verdict first, then findings grouped by invoice."""
    return "".join(text_lines(report, lang))


def text_lines(report: Report, lang: str = "fr") -> Iterator[str]:
    """``to_text``'s lines, each with its newline, made as they are written; every word in
    the report's language."""
    sep = word(lang, "sep")
    yield from _text_head(report, lang)
    groups: dict[int | None, list[Finding]] = {}
    for f in report.findings:
        groups.setdefault(f.invoice, []).append(f)
    for invoice in sorted(groups, key=lambda k: (k is not None, k or 0)):
        header = (
            f"{word(lang, 'invoice_head')} {invoice}"
            if invoice is not None
            else word(lang, "sending")
        )
        yield "\n"
        yield header + "\n"
        for f in groups[invoice]:
            message = f.nl if lang == "nl" else f.fr
            yield f"  {f.letter} {f.code}  {_where(f, lang)}\n"
            yield f"      {message}\n"
            if f.value is not None:
                yield f"      {word(lang, 'value')}{sep}{f.value!r}\n"
            if f.detail is not None:
                yield f"      {f.detail.text(lang)}\n"
    if report.omitted:
        listed: dict[str, int] = {}
        for f in report.findings:
            listed[f.code] = listed.get(f.code, 0) + 1
        more = [(c, n - listed.get(c, 0)) for c, n in report.by_code().items()]
        yield "\n"
        yield f"{count(report.omitted, lang, 'more')} {word(lang, 'not_listed')}{sep.rstrip()}\n"
        for code, number in more:
            if number:
                yield f"  {code}{sep}{grouped(number)} {word(lang, 'not_listed_code')}\n"


def _text_head(report: Report, lang: str) -> Iterator[str]:
    sep = word(lang, "sep")
    semi = " ; " if lang == "fr" else "; "
    lines = [
        f"{report.file_name}{sep}{verdict_words(report.verdict, lang)}",
        f"  {word(lang, 'message')} {report.message or '?'}, "
        f"{count(report.records, lang, 'record')}, {count(report.invoices, lang, 'invoice')}"
        f"{semi}{word(lang, 'rulebook')} {report.rulebook_version} "
        f"({report.rulebook_hash[:19]}…)",
        f"  {word(lang, 'findings')}{sep}{by_letter_text(report, lang)}{semi}"
        f"{word(lang, 'error_rate')} {percent(report.error_rate, lang)}",
    ]
    if report.amounts is not None and report.amounts.destinations:
        lines.append("")
        lines.append(word(lang, "amounts"))
        for d in report.amounts.destinations:
            for name, s in d.accounts:
                if s.asked or s.refused:
                    lines.append(
                        f"  {word(lang, 'insurer')} {d.key}, {word(lang, 'account')} {name}{sep}"
                        f"{euros(s.asked, lang)} / {euros(s.accepted, lang)} / "
                        f"{euros(s.refused, lang)}"
                    )
        if report.amounts.unassigned_lines:
            lines.append(
                f"  {count(report.amounts.unassigned_lines, lang, 'record')} "
                f"{word(lang, 'unassigned')}"
            )
    for line in lines:
        yield line + "\n"
