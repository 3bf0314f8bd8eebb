"""``validator.iter_findings``: a file's findings as they are found, the same as ``validate``'s
once sorted, and given before the file is read to its end."""

from __future__ import annotations

import io

from compiler import Compiled
from generator import generate
from tests.sendings import TODAY, mutant_case, sending
from validator import iter_findings, validate
from validator.report import Finding


def same(compiled: Compiled, data: bytes, block_records: int = 49152) -> list[Finding]:
    report = validate(compiled, io.BytesIO(data), today=TODAY, block_records=block_records)
    found = list(
        iter_findings(compiled, io.BytesIO(data), today=TODAY, block_records=block_records)
    )
    assert sorted(found, key=Finding.sort_key) == list(report.findings)
    assert [f.value for f in sorted(found, key=Finding.sort_key)] == [
        f.value for f in report.findings
    ]
    return found


def test_the_findings_of_validate_once_sorted(compiled: Compiled) -> None:
    codes: set[str] = set()
    for k, rule in enumerate(compiled.rules[::4]):
        if rule.mutants:
            case = mutant_case(compiled, rule, 0)
            codes.update(f.code for f in same(compiled, case.data, block_records=1 + k % 4))
    assert len(codes) > 100
    assert same(compiled, b"") != []  # the reader's findings too (an empty file)
    assert same(compiled, b"PK\x03\x04 not a sending") != []


def test_findings_come_before_the_end_of_the_file(compiled: Compiled) -> None:
    """A 200-invoice sending with a broken second record, read in blocks of 50 records: its
    finding is given while most of the file is still unread."""
    data = bytearray(generate(compiled, sending(compiled, 200), today=TODAY))
    zone = compiled.layouts["ET20"].by_name["order_number"]
    data[227 + 350 + zone.offset] = ord("9")  # ET20's sequence number broken
    stream = io.BytesIO(bytes(data))  # tell(): how much of it was read
    found = iter_findings(compiled, stream, today=TODAY, block_records=50)
    first = next(found)
    assert first.record == 2
    assert stream.tell() < len(data) // 2
    rest = list(found)
    assert stream.tell() == len(data)
    report = validate(compiled, io.BytesIO(bytes(data)), today=TODAY, block_records=50)
    assert sorted([first, *rest], key=Finding.sort_key) == list(report.findings)
