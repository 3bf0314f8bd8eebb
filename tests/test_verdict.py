"""Verdicts (design.md §5): each letter, the error-rate threshold at, under and over its
limit, the rate's basis, and a credit note."""

from __future__ import annotations

from typing import Any

import pytest

from compiler import Compiled
from tests.sendings import build, check, with_basis
from validator.report import Finding
from validator.tally import Tally
from validator.verdict import decide, error_rate

DATE = 20260901


def run(compiled: Compiled, invoices: int, code: str | None, scenario: str = "baseline") -> Any:
    return check(compiled, build(compiled, invoices, code, scenario))


def test_no_finding_is_accepted(compiled: Compiled) -> None:
    report = run(compiled, 20, None)
    assert (report.verdict, report.findings, report.error_rate) == ("accepted", (), 0.0)


def test_blocking_finding_rejects_whatever_the_rate(compiled: Compiled) -> None:
    report = run(compiled, 40, "200210")  # sequence number: B
    assert {f.letter for f in report.findings} == {"B"}
    assert report.verdict == "rejected_blocking"


@pytest.mark.parametrize(
    ("invoices", "verdict"),
    [
        (19, "rejected_threshold"),  # 1/19 = 5.26 % > 5 %
        (20, "accepted_with_errors"),  # 1/20 = 5 %: at the limit, not over it
        (21, "accepted_with_errors"),  # 1/21 = 4.76 %
    ],
)
def test_threshold_on_refused_invoices(compiled: Compiled, invoices: int, verdict: str) -> None:
    report = run(compiled, invoices, "200802")  # wrong NISS check digit: F on ET20 and ET80
    assert {(f.code, f.invoice) for f in report.findings} == {("200802", 1), ("800802", 1)}
    assert report.error_rate == pytest.approx(1 / invoices, abs=1e-6)
    assert report.verdict == verdict


def test_line_refusal_counts_its_invoice(compiled: Compiled) -> None:
    rule = next(r for r in compiled.rules if r.letter == "R" and r.mutants)
    report = run(compiled, 40, rule.code)
    assert {f.letter for f in report.findings} == {"R"}
    assert report.verdict == "accepted_with_errors"
    assert report.error_rate == pytest.approx(1 / 40, abs=1e-6)


def test_credit_note(compiled: Compiled) -> None:
    assert run(compiled, 1, None, "credit").verdict == "accepted"
    report = run(compiled, 1, "201003", "credit")  # invoice type not allowed: F
    assert [(f.code, f.letter, f.invoice) for f in report.findings] == [("201003", "F", 1)]
    assert report.verdict == "rejected_threshold"  # its only invoice is refused: 100 %


def finding(letter: str, invoice: int | None, record: int | None) -> Finding:
    return Finding(
        code="000000",
        letter=letter,
        segment=None,
        record=record,
        record_type="50",
        zone="1",
        start=1,
        end=2,
        invoice=invoice,
        fr="",
        nl="",
        source=None,
        line=None,
    )


@pytest.mark.parametrize("letter", ["S", "E"])
def test_signals_refuse_nothing(compiled: Compiled, letter: str) -> None:
    findings = Tally.of([finding(letter, 1, 3)])
    rate = error_rate(compiled, findings, invoices=1, records=5, date=DATE)
    assert rate == 0.0
    assert decide(compiled, findings, rate, DATE) == "accepted"


def test_record_basis_counts_records(compiled: Compiled) -> None:
    by_records = with_basis(compiled, b"records")
    findings = Tally.of([finding("R", 1, 3), finding("F", 1, 3), finding("R", 2, 9)])
    assert error_rate(by_records, findings, invoices=2, records=40, date=DATE) == 2 / 40
    assert error_rate(compiled, findings, invoices=2, records=40, date=DATE) == 1.0
