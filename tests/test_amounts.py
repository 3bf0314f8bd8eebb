"""Amounts asked, accepted and refused per destination mutuality and account (``amounts``)."""

from __future__ import annotations

import io

import pytest

from compiler import Compiled
from tests.sendings import TODAY, build, check, with_basis
from validator import validate
from validator.report import Report

RECORD = 350
HEAD = 227


def records(data: bytes) -> list[bytes]:
    return [data[i : i + RECORD] for i in range(HEAD, len(data), RECORD)]


def amount(record: bytes, start: int) -> int:
    """A sign + 11 digits amount at 1-based ``start``."""
    text = record[start - 1 : start + 11].decode()
    return int(text[1:]) * (-1 if text[0] == "-" else 1)


def line_of(data: bytes, number: int) -> bytes:
    """The line (ET30 / ET50) a record belongs to: itself, or the last line before it."""
    recs = records(data)
    for n in range(number, 0, -1):
        if recs[n - 1][:2] in (b"30", b"50"):
            return recs[n - 1]
    raise AssertionError(number)


def asked(report: Report) -> dict[tuple[str, str], int]:
    assert report.amounts is not None
    return {
        (d.key, name): sums.asked
        for d in report.amounts.destinations
        for name, sums in d.accounts
        if sums.asked
    }


@pytest.mark.parametrize("scenario", ["baseline", "hospital", "credit", "mediprima"])
def test_asked_amounts_match_the_bordereau(compiled: Compiled, scenario: str) -> None:
    """The file's own ET95 records (one per destination mutuality) give the same totals."""
    data = build(compiled, 4, None, scenario)
    report = check(compiled, data)
    assert report.verdict == "accepted"
    expected = {}
    for rec in records(data):
        if rec[:2] == b"95":
            key = rec[4:7].decode()
            for name, start in (("A", 24), ("B", 38)):
                if value := amount(rec, start):
                    expected[(key, name)] = value
    assert expected and asked(report) == expected
    assert report.amounts is not None and report.amounts.unassigned_lines == 0
    for d in report.amounts.destinations:
        assert (d.total.refused, d.total.accepted) == (0, d.total.asked)


def test_account_b_is_totalled_apart(compiled: Compiled) -> None:
    report = check(compiled, build(compiled, 1, None, "hospital"))
    assert {name for _, name in asked(report)} == {"A", "B"}


def test_an_r_finding_refuses_its_line(compiled: Compiled) -> None:
    data = build(compiled, 40, "512712")  # R on an ET51: refuses the ET50 it follows
    report = check(compiled, data)
    assert report.verdict == "accepted_with_errors" and report.amounts is not None
    (finding,) = report.findings
    assert finding.record is not None
    line = line_of(data, finding.record)
    assert line[:2] == b"50"
    refused = sum(d.total.refused for d in report.amounts.destinations)
    assert refused == amount(line, 88) != 0
    opener = next(r for r in reversed(records(data)[: finding.record]) if r[:2] == b"20")
    refusing = [d.key for d in report.amounts.destinations if d.total.refused]
    assert refusing == [opener[84:87].decode()]  # the destination of the line's invoice


def test_an_f_finding_refuses_its_invoice(compiled: Compiled) -> None:
    data = build(compiled, 40, "200802")  # F on ET20 / ET80 of invoice 1: 1/40 <= 5 %
    report = check(compiled, data)
    assert report.verdict == "accepted_with_errors" and report.amounts is not None
    recs = records(data)
    first = next(i for i, r in enumerate(recs) if r[:2] == b"20")
    last = next(i for i in range(first, len(recs)) if recs[i][:2] == b"80")
    lines = [amount(r, 88) for r in recs[first:last] if r[:2] in (b"30", b"50")]
    refused = sum(d.total.refused for d in report.amounts.destinations)
    assert refused == sum(lines) != 0
    key = recs[first][84:87].decode()
    assert next(d for d in report.amounts.destinations if d.key == key).total.refused == refused


def test_a_rejected_sending_refuses_everything(compiled: Compiled) -> None:
    report = check(compiled, build(compiled, 3, "200210"))
    assert report.verdict == "rejected_blocking" and report.amounts is not None
    for d in report.amounts.destinations:
        assert (d.total.accepted, d.total.refused) == (0, d.total.asked)


def test_the_amounts_basis_rates_refused_amounts(compiled: Compiled) -> None:
    by_amounts = with_basis(compiled, b"amounts")
    data = build(compiled, 40, "512712")
    report = validate(by_amounts, io.BytesIO(data), today=TODAY)
    assert report.amounts is not None
    asked_total = sum(abs(s.asked) for d in report.amounts.destinations for _, s in d.accounts)
    refused = sum(abs(s.refused) for d in report.amounts.destinations for _, s in d.accounts)
    assert 0 < refused < asked_total
    assert report.error_rate == pytest.approx(refused / asked_total, abs=1e-6)


def test_unreadable_amounts_are_counted_not_totalled(compiled: Compiled) -> None:
    data = bytearray(build(compiled, 2, None))
    at = next(i for i in range(HEAD, len(data), RECORD) if data[i : i + 2] == b"50")
    data[at + 87 : at + 99] = b"*00000001000"  # sign not + or -
    report = check(compiled, bytes(data))
    assert report.amounts is not None and report.amounts.unassigned_lines == 1
    assert report.findings  # the amount zone has its own finding
