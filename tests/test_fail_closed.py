"""Fail closed: what fuzzing found accepted, crashing or wrong (issue "Fail closed"), each
reproduced and refused at its cause."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from answer import answers_for, read_message
from answer.read import to_text
from api.service import create_app
from compiler import Compiled
from validator import validate
from validator.reader import Reader
from validator.report import Report, text_lines

ROOT = Path(__file__).resolve().parent.parent
BASELINE = (ROOT / "examples" / "baseline.920000").read_bytes()
TODAY = dt.date(2026, 11, 1)
HEAD, SIZE = 227, 350


def records(data: bytes) -> list[bytes]:
    return [data[i : i + SIZE] for i in range(HEAD, len(data), SIZE)]


def check(compiled: Compiled, data: bytes) -> Report:
    return validate(compiled, io.BytesIO(data), today=TODAY)


def codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}


def bordereau_cases() -> dict[str, bytes]:
    rows = records(BASELINE)
    first, second = (k for k, r in enumerate(rows) if r[:2] == b"95")
    cases = {
        "delete the first ET95": rows[:first] + rows[first + 1 :],
        "delete the last ET95": rows[:second] + rows[second + 1 :],
        "duplicate an ET95": rows[: first + 1] + rows[first:],
        "an ET95 1,000 times": rows[:first] + [rows[first]] * 1000 + rows[first + 1 :],
        "swap the ET95": [*rows[:first], rows[second], rows[first], *rows[second + 1 :]],
    }
    return {name: BASELINE[:HEAD] + b"".join(rows) for name, rows in cases.items()}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("delete the first ET95", {"400-10", "504-20"}),
        ("delete the last ET95", {"400-10", "504-20"}),
        ("duplicate an ET95", {"401-20", "504-20"}),
        ("an ET95 1,000 times", {"401-20", "504-20"}),
        ("swap the ET95", {"401-20"}),
    ],
)
def test_a_deleted_duplicated_or_swapped_et95_is_refused(
    compiled: Compiled, case: str, expected: set[str]
) -> None:
    """They were accepted with no finding: now one ET95 per destination mutuality (400-10),
    in ascending order, none twice (401-20), and ET96 the sum of the ET95 (504-20)."""
    report = check(compiled, bordereau_cases()[case])
    assert (report.verdict, codes(report)) == ("rejected_blocking", expected)


@pytest.mark.parametrize(
    ("what", "at", "byte"),
    [
        ("a NUL in the contact name", 100, 0x00),
        ("an ANSI escape in the contact name", 100, 0x1B),
        ("a latin-1 letter in the file reference", 30, 0xE9),
        ("a UTF-8 letter in the first name", 100, 0xC3),
        ("a DEL in segment 200", 20, 0x7F),
    ],
)
def test_bytes_the_format_forbids_in_the_segments(
    compiled: Compiled, what: str, at: int, byte: int
) -> None:
    """A byte outside printable ASCII in segment 200 or 300 is the reader's RB0007 at its
    place (the check looked at records only), and the answers never carry it."""
    data = bytearray(BASELINE)
    data[at] = byte
    report = check(compiled, bytes(data))
    segment, position = ("200", at + 1) if at < 67 else ("300", at - 67 + 1)
    found = [(f.code, f.segment, f.start) for f in report.findings if f.code == "RB0007"]
    assert found == [("RB0007", segment, position)]
    assert report.verdict == "rejected_blocking"
    for answer in answers_for(compiled, bytes(data), report):
        assert all(32 <= b <= 126 for b in answer.content), answer.message


@pytest.mark.parametrize("zone", ["error_301", "error_305", "error_200"])
def test_a_filled_error_zone_of_a_sent_file_is_refused(compiled: Compiled, zone: str) -> None:
    segment = "S200" if zone == "error_200" else "S300"
    layout = compiled.layouts[segment]
    z = layout.by_name[zone]
    start = (0 if segment == "S200" else 67) + z.offset
    data = BASELINE[:start] + b"AB" + BASELINE[start + 2 :]
    report = check(compiled, data)
    assert codes(report) == {f"{z.zone_id}-20"}
    assert report.verdict == "rejected_blocking"


@pytest.mark.parametrize("digit", ["²", "³", "¹"])
def test_read_does_not_crash_on_unicode_digits(compiled: Compiled, digit: str) -> None:
    """'²'.isdigit() is true and int('²') fails: a numeric zone of an answer holding it was
    a crash (exit 3; a 500 with the exception's text). A settlement's ET92 amount and the
    error percentage holding it are read as the characters they are."""
    report = check(compiled, BASELINE)
    settlement = answers_for(compiled, BASELINE, report, settle=True)[-1]
    assert settlement.message == "920900"
    data = bytearray(settlement.content)
    data[-800 + 30] = digit.encode("latin-1")[0]  # ET92, inside its asked amount of account A
    data[67 + 141] = digit.encode("latin-1")[0]  # segment 300, the error percentage
    message = read_message(compiled, bytes(data), "x")
    last = message.records[-1]
    assert last.layout == "ET92" and last.values is not None
    assert digit in str(last.values["asked_a"])
    assert digit in to_text([message])
    response = TestClient(create_app(workers=1)).post("/v1/read", content=bytes(data))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "data",
    [
        b"hello\n" + (BASELINE + b"\n") * 100,  # not a segment: reading stops there
        BASELINE[HEAD:] + b"Z" * 100_000,  # records without segments
        BASELINE[:100],  # shorter than its segments
        BASELINE[:67] + b"\n" + b"X" * 3_000_000 + b"\n" + BASELINE,  # a 3 MB line
    ],
    ids=["not-a-segment", "no-segments", "cut-header", "long-line"],
)
def test_the_report_hashes_the_whole_file(compiled: Compiled, data: bytes) -> None:
    """file.sha256 was the hash of the first 8,192 bytes when reading stopped early."""
    assert check(compiled, data).file_sha256 == hashlib.sha256(data).hexdigest()


def test_a_long_line_is_read_in_linear_time_and_bounded_memory(compiled: Compiled) -> None:
    """One line of 5 MB: its length is known, at most a record's worth of it is kept (the
    reader held the whole line and searched it again at every 64 KB: quadratic)."""
    line = b"7" * 5_000_000
    reader = Reader(stream=io.BytesIO(line + b"\r\nNEXT\n"), compiled=compiled)
    kept, length = reader._next_line() or (b"", 0)
    assert length == 5_000_000 and len(kept) == reader.line_keep and set(kept) == {ord("7")}
    assert reader._next_line() == (b"NEXT", 4)
    assert reader._next_line() is None
    empty_lines = BASELINE[:67] + b"\n" + BASELINE[67:HEAD] + b"\n" + b"\n" * 2_000_000
    report = check(compiled, empty_lines)
    assert report.records == 0 and "RB0004" in codes(report)


def test_exit_status_when_standard_output_closes_early(tmp_path: Path) -> None:
    """``rulebook validate X --format json | head -c 100`` exited 0 ('accepted') for a
    rejected file: it now exits with the status the verdict gives."""
    broken = bytearray(BASELINE[:HEAD])
    for row in records(BASELINE):
        broken += row[:40] + b"X" * 20 + row[60:]
    path = tmp_path / "broken.920000"
    path.write_bytes(bytes(broken[:HEAD]) + b"".join(records(bytes(broken))) * 200)
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "validate", str(path), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    assert len(process.stdout.read(100)) == 100
    process.stdout.close()
    status = process.wait(timeout=120)
    error = process.stderr.read()
    process.stderr.close()
    assert (status, error) == (1, b"")


def test_fuzz_finds_no_exception_and_no_fail_open() -> None:
    """A bounded run of benchmarks/fuzz.py (the long run's figures are in the closing notes):
    mutated sendings validated, answered and read back, parsed and written back; no exception,
    no sending accepted with a broken bordereau or segment."""
    from benchmarks.fuzz import fuzz

    stats = fuzz(400, seed=5, workers=1)
    assert stats.tried == 400 and stats.answers == 40 and stats.round_trips == 20
    assert stats.exceptions == [] and stats.fail_opens == []


def test_findings_listed_up_to_a_bound_and_counted_exactly(compiled: Compiled) -> None:
    """A file broken everywhere kept every finding (~390 bytes each: ~10 GB for 200 MB): a
    report lists the first N of each code and counts them all; the verdict, the error rate
    and the amounts are those of every finding, and the answers list them all."""
    from benchmarks.bigfile import build_broken

    body = build_broken(compiled, 400)
    every = validate(compiled, io.BytesIO(body), today=TODAY)
    bounded = validate(compiled, io.BytesIO(body), today=TODAY, keep=5)
    listed: dict[str, int] = {}
    for f in bounded.findings:
        listed[f.code] = listed.get(f.code, 0) + 1
    assert max(listed.values()) == 5 and bounded.omitted > 0
    assert bounded.total == len(every.findings) and bounded.by_code() == every.by_code()
    assert bounded.by_letter() == every.by_letter()
    assert (bounded.verdict, bounded.error_rate, bounded.amounts) == (
        every.verdict,
        every.error_rate,
        every.amounts,
    )
    assert set(bounded.findings) <= set(every.findings)
    assert listed == {code: min(5, count) for code, count in every.by_code().items()}
    summary = bounded.to_json()["summary"]
    assert summary["findings_omitted"] == bounded.omitted
    assert sum(summary["by_code"].values()) == len(every.findings)
    assert every.to_json()["summary"]["findings_omitted"] == 0
    text = "".join(text_lines(bounded))
    omitted = f"{bounded.omitted:,}".replace(",", ".")
    assert f"{omitted} autres constats non listés (comptés) :" in text
