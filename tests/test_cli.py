"""The installed ``rulebook`` command, run as a user runs it: exit codes, output, examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from compiler import Compiled
from generator import generate
from generator.mutants import scenario_date
from tests.commands import ROOT, copy_book, rulebook

EXAMPLES = ROOT / "examples"
GOLDEN = ROOT / "tests" / "golden" / "errors"


def test_check_the_shipped_rulebook() -> None:
    result = rulebook("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rulebook 2026.2: 18 layouts, ")
    assert result.stdout.rstrip().endswith(", no diagnostics")


def test_check_a_broken_source_locates_every_error() -> None:
    result = rulebook("check", str(GOLDEN / "_prelude"), str(GOLDEN / "unknown-zone.rules"))
    assert result.returncode == 1
    assert "unknown-zone.rules:" in result.stdout
    assert "[unknown-zone]" in result.stdout or "unknown-zone" in result.stdout
    assert "^" in result.stdout  # the caret excerpt


def test_check_json_lists_diagnostics_with_positions() -> None:
    result = rulebook(
        "check", str(GOLDEN / "_prelude"), str(GOLDEN / "unknown-zone.rules"), "--format", "json"
    )
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["errors"] >= 1
    first = data["diagnostics"][0]
    assert first["file"].endswith("unknown-zone.rules")
    assert isinstance(first["line"], int) and isinstance(first["column"], int)


@pytest.mark.parametrize("name", ["baseline", "credit", "hospital", "mediprima"])
def test_examples_are_accepted(name: str) -> None:
    result = rulebook("validate", str(EXAMPLES / f"{name}.920000"), "--today", "2026-11-01")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[0] == f"{name}.920000 : accepté"


@pytest.mark.parametrize("name", ["baseline", "credit", "hospital", "mediprima"])
def test_examples_are_what_the_generator_makes(compiled: Compiled, name: str) -> None:
    """The shipped examples follow the rulebook: regenerate them when this fails."""
    expected = generate(compiled, compiled.scenarios[name], today=scenario_date(compiled, name))
    assert (EXAMPLES / f"{name}.920000").read_bytes() == expected


def test_text_report_groups_by_invoice_with_zone_and_value() -> None:
    result = rulebook("validate", str(EXAMPLES / "wrong-niss.920000"), "--today", "2026-11-01")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "wrong-niss.920000 : rejeté (seuil d'erreurs dépassé)"  # 1 of 3 refused
    assert "facture 1" in lines
    block = "\n".join(lines[lines.index("facture 1") :])
    assert (
        "F 200802  enregistrement 2 (ET20) zone 8 Identification du bénéficiaire [36-48]" in block
    )
    assert "valeur : '0085073003329'" in block


def test_dutch_text_report() -> None:
    result = rulebook(
        "validate", str(EXAMPLES / "wrong-niss.920000"), "--today", "2026-11-01", "--lang", "nl"
    )
    assert "zone 8 Identificatie van de rechthebbende" in result.stdout


def test_json_report_from_standard_input() -> None:
    data = (EXAMPLES / "wrong-niss.920000").read_bytes()
    result = rulebook("validate", "-", "--format", "json", "--today", "2026-11-01", stdin=data)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["file"]["name"] == "-"
    assert [(f["code"], f["record"], f["zone"]) for f in report["findings"]] == [
        ("200802", 2, "8"),
        ("800802", 5, "8"),
    ]


def test_unknown_rulebook_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = rulebook("validate", str(EXAMPLES / "baseline.920000"), "--rulebook", "/nonexistent")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_broken_rulebook_is_exit_2_with_diagnostics(tmp_path: Path) -> None:
    book = copy_book(tmp_path / "book")
    rules = book / "instructions" / "et10.rules"
    rules.write_text(rules.read_text("utf-8") + "\nrule 100201 B on ET10 zone 2\n  require nope\n")
    result = rulebook("validate", str(EXAMPLES / "baseline.920000"), "--rulebook", str(book))
    assert result.returncode == 2
    assert "et10.rules:" in result.stderr and "Traceback" not in result.stderr


def test_version() -> None:
    result = rulebook("--version")
    assert result.returncode == 0 and "0.1.0" in result.stdout


def test_the_language_page_documents_every_diagnostic_code_and_reader_condition() -> None:
    from rulebook.conditions import READER_CONDITIONS
    from rulebook.diagnostics import CODES

    page = (ROOT / "docs" / "language.md").read_text("utf-8")
    assert [c for c in CODES if f"| `{c}` |" not in page] == []
    assert [c for c in READER_CONDITIONS if f"`{c}`" not in page] == []


def test_readme_is_for_users_and_its_figures_are_current(compiled: Compiled) -> None:
    """No file outside the repository named, the docs it points to exist, and the counts it
    and docs/language.md quote are the shipped rulebook's (they went stale before)."""
    readme = (ROOT / "README.md").read_text("utf-8")
    assert len(readme.splitlines()) < 600
    assert not re.search(r"design\.md|efact-920000\.md|\.\./shared", readme)
    for doc in re.findall(r"`(docs/[\w.-]+\.md)`", readme):
        assert (ROOT / doc).is_file(), doc
    n = len(compiled.rules)
    assert f"**{n} of {n} rules have a working mutant (100.0%)**" in readme
    summary = (
        f"rulebook {compiled.version}: {len(compiled.layouts)} layouts, {n} rules, "
        f"{len(compiled.codes)} codes, no diagnostics"
    )
    assert summary in (ROOT / "docs" / "language.md").read_text("utf-8")
    assert "into the current Python" in readme and "chromium" in readme


def test_readme_quick_start_scripts_exist() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for script in ("scripts/start", "scripts/test"):
        assert f"bash {script}" in readme and (ROOT / script).is_file()
    assert "bash scripts/test" in (ROOT / ".ci" / "run").read_text("utf-8")


def test_answer_writes_the_acknowledgement_and_the_verdicts_answer(tmp_path: Path) -> None:
    result = rulebook(
        "answer", "examples/wrong-niss.920000", "--out", str(tmp_path), "--today", "2026-11-01"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "wrong-niss.920000 : rejeté (seuil d'erreurs dépassé) ; 17 enregistrements ; "
        "constats : 2 F ; taux d'erreur 33,33 %"
    )
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["wrong-niss.920099", "wrong-niss.931000"]  # no partial file left
    assert (tmp_path / "wrong-niss.931000").read_bytes()[:6] == b"931000"
    read = rulebook("read", str(tmp_path / "wrong-niss.920099"), "--format", "json")
    assert read.returncode == 0, read.stderr
    (message,) = json.loads(read.stdout)["messages"]
    assert (message["type"], message["refusal_type"], message["error_percentage"]) == (
        "920099",
        "02",
        "03333",
    )
    in_error = [
        (r["record_type"], [(e["letter"], e["code"]) for e in r["errors"]])
        for r in message["records"]
        if r["errors"]
    ]
    assert in_error == [("20", [("F", "200802")]), ("80", [("F", "800802")])]
    label = message["records"][1]["errors"][0]
    assert label["fr"].startswith("Numéro d'identification") and label["nl"]


def test_answer_with_settlement_and_dutch_text(tmp_path: Path) -> None:
    result = rulebook(
        "answer",
        "examples/hospital.920000",
        "--out",
        str(tmp_path),
        "--settlement",
        "--today",
        "2026-11-01",
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".920098", ".920900", ".931000"]
    text = rulebook("read", str(tmp_path / "hospital.920900"), "--lang", "nl")
    assert text.returncode == 0
    assert text.stdout.startswith(f"{tmp_path / 'hospital.920900'}: 920900 Afrekening")
    assert "ET91" in text.stdout and "asked_b=344170" in text.stdout


def test_read_an_unreadable_message_is_exit_2_and_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.920099"
    bad.write_bytes(b"920099" + b"0" * 61 + b"1" * 100)
    result = rulebook("read", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"rulebook: {bad}: segment S300A (positions 68-677) is cut short: "
        "the message ends at position 167"
    )
    missing = rulebook("read", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_answer_to_an_unwritable_directory_is_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = rulebook("answer", "examples/baseline.920000", "--out", str(target / "sub"))
    assert result.returncode == 2
    assert result.stderr.startswith("rulebook: cannot create")


def test_json_report_is_written_as_it_is_encoded(compiled: Compiled, tmp_path: Path) -> None:
    """The JSON report of a file with many findings (over a megabyte of text, written in
    pieces) is exactly the indented JSON of the library's report, and a newline."""
    import datetime as dt
    import io

    from benchmarks.bigfile import build_broken
    from validator import validate

    body = build_broken(compiled, 300, mutualities=2)
    path = tmp_path / "broken.920000"
    path.write_bytes(body)
    result = rulebook("validate", str(path), "--format", "json", "--today", "2026-11-01")
    assert result.returncode == 1, result.stderr
    report = validate(compiled, io.BytesIO(body), name=path.name, today=dt.date(2026, 11, 1))
    assert len(report.findings) > 1000
    expected = json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"
    assert len(expected) > 1_000_000
    assert result.stdout == expected
