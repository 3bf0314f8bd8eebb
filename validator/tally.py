"""Findings as a validation collects them: counted exactly, listed up to a bound per code.

Input: findings (``add``), or what counts of a finding not listed (``count``).
Output: ``Tally``: the findings listed (all, or the first ``keep`` of each code the run
found: a rule's in file order, one rule after the other), the exact counts per code and per
letter, and what the verdict, the error rate and the amounts need of all of them: the
invoices and records with an F or R finding, the invoices with an F finding, the lines with
an R one. A file broken on every record has about seven findings a record; listed whole, a
200 MB one took ~10 GB: with a bound the memory is the bound's, and the verdict, the error
rate and the amounts stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from validator.report import LETTERS, Finding

REFUSING = frozenset({"F", "R"})
DEFAULT_KEEP = 1000  # findings listed per code by 'rulebook validate' and the service


@dataclass(slots=True)
class Tally:
    """Every finding counted; the first ``keep`` of each code listed (None: all)."""

    keep: int | None = None
    listed: list[Finding] = field(default_factory=list)
    by_code: dict[str, int] = field(default_factory=dict)
    by_letter: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LETTERS, 0))
    refusing_invoices: set[int] = field(default_factory=set)  # with an F or R finding
    refusing_records: set[int] = field(default_factory=set)
    refused_invoices: set[int] = field(default_factory=set)  # with an F finding
    refused_lines: set[tuple[int, int]] = field(default_factory=set)  # R: (record, invoice)

    @classmethod
    def of(cls, findings: Iterable[Finding], keep: int | None = None) -> Tally:
        tally = cls(keep=keep)
        for f in findings:
            tally.add(f)
        return tally

    def wants(self, code: str) -> bool:
        """Whether a finding of ``code`` would still be listed."""
        return self.keep is None or self.by_code.get(code, 0) < self.keep

    def add(self, f: Finding) -> None:
        if self.wants(f.code):
            self.listed.append(f)
        self.count(f.code, f.letter, f.record, f.invoice)

    def count(self, code: str, letter: str, record: int | None, invoice: int | None) -> None:
        self.by_code[code] = self.by_code.get(code, 0) + 1
        self.by_letter[letter] = self.by_letter.get(letter, 0) + 1
        if letter in REFUSING:
            if invoice is not None:
                self.refusing_invoices.add(invoice)
            if record is not None:
                self.refusing_records.add(record)
            if letter == "F" and invoice:
                self.refused_invoices.add(invoice)
            if letter == "R" and record is not None and invoice is not None:
                self.refused_lines.add((record, invoice))

    @property
    def total(self) -> int:
        return sum(self.by_code.values())

    @property
    def omitted(self) -> int:
        """Findings counted but not listed."""
        return self.total - len(self.listed)
