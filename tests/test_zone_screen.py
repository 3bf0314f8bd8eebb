"""The ``numeric`` / ``zero`` checks of a record type are screened together (``ZoneScreen``):
only those with a violated record are evaluated one by one. On many records (a big file, a
batch of files) a single bad character among thousands still gets its finding, on its record,
and nothing else is reported for those checks."""

from __future__ import annotations

import io

import pytest

from compiler import Compiled
from compiler.screens import DIGITS, CharCheck
from tests.sendings import TODAY, build
from validator import validate
from validator.drive import validate_many
from validator.plan import plan_for

KINDS = {DIGITS: "digit", frozenset(b"0"): "zero", frozenset(b"+-"): "sign"}

SEGMENTS = 227  # bytes of segments 200 and 300 before the first record
LENGTH = 350


def checks(compiled: Compiled, layout: str) -> dict[str, tuple[str, int, int]]:
    """kind -> (rule code, zone offset, zone length) of the first screened check of each kind
    in force on TODAY."""
    today = TODAY.year * 10000 + TODAY.month * 100 + TODAY.day
    found: dict[str, tuple[str, int, int]] = {}
    for rp in plan_for(compiled).phase1[layout]:
        check = rp.check
        if isinstance(check, CharCheck) and rp.rule.start <= today <= rp.rule.end:
            kind = KINDS.get(check.allowed)
            if kind is not None:
                found.setdefault(kind, (rp.rule.code, check.offset, check.length))
    return found


@pytest.fixture(scope="module")
def broken(compiled: Compiled) -> tuple[bytes, dict[str, tuple[str, int]]]:
    """A file of 900 invoices (1,200 ET50 records, 900 ET80) with a letter in a numeric zone
    of its last-but-one ET50 record, a 1 at the end of a zero zone of an ET80 record in the
    middle and an X for the sign of an amount of an early ET80 record; kind -> (rule code,
    record number) expected."""
    data = bytearray(build(compiled, 900, None))
    expected: dict[str, tuple[str, int]] = {}
    cases = (("ET50", "digit", -2, "A"), ("ET80", "zero", 450, "1"), ("ET80", "sign", 7, "X"))
    for layout, kind, which, char in cases:
        key = layout.removeprefix("ET").encode()
        records = [at for at in range(SEGMENTS, len(data), LENGTH) if data[at : at + 2] == key]
        assert len(records) == {"ET50": 1200, "ET80": 900}[layout]
        at = records[which]
        code, offset, length = checks(compiled, layout)[kind]
        data[at + offset + (0 if kind == "digit" else length - 1)] = ord(char)
        expected[kind] = (code, (at - SEGMENTS) // LENGTH + 1)
    return bytes(data), expected


def located(report_findings: object, code: str) -> list[int]:
    return [f.record for f in report_findings if f.code == code]  # type: ignore[attr-defined]


def test_one_bad_character_among_many_records(
    compiled: Compiled, broken: tuple[bytes, dict[str, tuple[str, int]]]
) -> None:
    data, expected = broken
    report = validate(compiled, io.BytesIO(data), today=TODAY)
    for code, record in expected.values():
        assert located(report.findings, code) == [record]


def test_one_bad_character_in_a_batch(
    compiled: Compiled, broken: tuple[bytes, dict[str, tuple[str, int]]]
) -> None:
    data, expected = broken
    clean = build(compiled, 900, None)
    files = [("a", clean), ("broken", data), ("b", clean)]
    reports = validate_many(
        compiled, [(name, io.BytesIO(body)) for name, body in files], today=TODAY
    )
    assert [r.file_name for r in reports] == ["a", "broken", "b"]
    for code, record in expected.values():
        assert located(reports[1].findings, code) == [record]
        assert located(reports[0].findings, code) == located(reports[2].findings, code) == []
