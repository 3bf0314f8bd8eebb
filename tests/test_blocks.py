"""Findings do not depend on where the file is cut into blocks."""

from __future__ import annotations

import io

import pytest

from compiler import Compiled
from generator.mutants import build_case
from validator import Report, validate

# structure, sequence, links, totals, control numbers, opener and end-of-file rules
CODES = [
    "100111",
    "200110",
    "200210",
    "500111",
    "520210",
    "800812",
    "801910",
    "809802",
    "200812",
    "201140",
    "201812",
    "901910",
    "901920",
    "909802",
    "404-41",
    "409-20",
    "410-20",
    "500-20",
    "100701",
    "200801",
    "500401",
    "801501",
    "401-11",
    "201801",
]


def key(report: Report) -> list[tuple[object, ...]]:
    return sorted((f.code, f.record, f.zone, f.segment, f.invoice) for f in report.findings)


@pytest.mark.parametrize("code", CODES)
def test_block_size_does_not_change_findings(compiled: Compiled, code: str) -> None:
    rule = compiled.rules_for_code(code)[0]
    case = build_case(compiled, rule, 0)
    reference = key(validate(compiled, io.BytesIO(case.data), today=case.today))
    assert reference
    for size in (1, 2, 3, 5):
        report = validate(compiled, io.BytesIO(case.data), today=case.today, block_records=size)
        assert key(report) == reference, size
