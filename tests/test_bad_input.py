"""Bad input gets located findings (or, when it cannot be read, a clear error and status 2),
never a traceback and never a silently partial report."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from compiler import Compiled
from generator import generate
from generator.mutants import scenario_date
from validator import Report, validate

HEADER = 67 + 160
RECORD = 350


@pytest.fixture(scope="module")
def baseline(compiled: Compiled) -> bytes:
    return generate(compiled, compiled.scenarios["baseline"])


def check(compiled: Compiled, data: bytes) -> Report:
    return validate(compiled, io.BytesIO(data), today=scenario_date(compiled, "baseline"))


def codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}


def test_empty_file(compiled: Compiled) -> None:
    report = check(compiled, b"")
    assert [(f.code, f.record) for f in report.findings] == [("RB0001", None)]
    assert report.verdict == "rejected_blocking" and report.records == 0


def test_file_shorter_than_its_segments(compiled: Compiled, baseline: bytes) -> None:
    report = check(compiled, baseline[:100])
    assert codes(report) == {"RB0002"}
    detail = report.findings[0].detail
    assert detail is not None and "100 caractères" in detail.fr and "100 tekens" in detail.nl


def test_records_without_segments(compiled: Compiled, baseline: bytes) -> None:
    report = check(compiled, baseline[HEADER:])
    first = report.findings[0]
    assert (first.code, first.record) == ("RB0003", 1)
    assert report.records == (len(baseline) - HEADER) // RECORD  # the records are still read


def test_line_separators(compiled: Compiled, baseline: bytes) -> None:
    lines = [baseline[:67], baseline[67:HEADER]]
    lines += [baseline[i : i + RECORD] for i in range(HEADER, len(baseline), RECORD)]
    report = check(compiled, b"\r\n".join(lines) + b"\r\n")
    assert codes(report) == {"RB0004"}
    assert report.records == (len(baseline) - HEADER) // RECORD


def test_line_of_the_wrong_length(compiled: Compiled, baseline: bytes) -> None:
    lines = [baseline[:HEADER]]
    lines += [baseline[i : i + RECORD] for i in range(HEADER, len(baseline), RECORD)]
    lines[3] = lines[3][:-1]
    report = check(compiled, b"\n".join(lines))
    wrong = [f for f in report.findings if f.code == "RB0010"]
    assert [(f.record, f.end) for f in wrong] == [(3, 349)]


def test_truncated_last_record(compiled: Compiled, baseline: bytes) -> None:
    report = check(compiled, baseline[:-10])
    truncated = [f for f in report.findings if f.code == "RB0005"]
    assert [(f.record, f.start, f.end) for f in truncated] == [(17, 1, 340)]
    assert "500-10" in codes(report)  # the file has lost its ET96: said, not ignored


def test_unknown_record_type(compiled: Compiled, baseline: bytes) -> None:
    at = HEADER + 2 * RECORD  # record 3
    report = check(compiled, baseline[:at] + b"47" + baseline[at + 2 :])
    unknown = [f for f in report.findings if f.code == "RB0006"]
    assert [(f.record, f.start, f.end) for f in unknown] == [(3, 1, 2)]


def test_non_ascii_bytes(compiled: Compiled, baseline: bytes) -> None:
    at = HEADER + RECORD + 137  # record 2 (ET20), zone 28 'reference', position 138
    report = check(compiled, baseline[:at] + "é".encode("latin-1") + baseline[at + 1 :])
    found = [f for f in report.findings if f.code == "RB0007"]
    assert [(f.record, f.start) for f in found] == [(2, 138)]
    assert found[0].detail is not None and "0xe9" in found[0].detail.fr


@pytest.mark.parametrize("seed", range(5))
def test_binary_data_gets_findings_not_a_crash(compiled: Compiled, seed: int) -> None:
    data = os.urandom(1000 + seed * 997)
    report = check(compiled, data)
    assert report.verdict == "rejected_blocking"
    assert all(f.code and f.letter for f in report.findings)


@pytest.mark.parametrize("size", [1, 2, 349, 350, 351, 700])
def test_garbage_of_any_size(compiled: Compiled, baseline: bytes, size: int) -> None:
    report = check(compiled, baseline[:HEADER] + b"9" * size)
    assert report.findings and report.verdict == "rejected_blocking"


def test_cli_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_cli_empty_directory_is_exit_2(tmp_path: Path) -> None:
    """A directory is validated file by file (tests/test_many_files.py); one without files is
    a misuse, said in one line."""
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 2 and "no files in this directory" in result.output


def test_cli_binary_file_is_findings_not_traceback(tmp_path: Path) -> None:
    path = tmp_path / "binary.bin"
    path.write_bytes(bytes(range(256)) * 8)
    result = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and '"verdict": "rejected_blocking"' in result.output


def test_cli_bad_date_option_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    result = CliRunner().invoke(main, ["validate", str(path), "--today", "2026-13-01"])
    assert result.exit_code == 2 and "not a date" in result.output
