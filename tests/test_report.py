"""The JSON report contract (design.md §4): every field always present, with its meaning."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.cli import main
from compiler import Compiled
from generator import generate
from generator.mutants import build_case, scenario_date
from validator import validate


def mutant_report(compiled: Compiled, code: str) -> tuple[bytes, dict[str, Any]]:
    rule = compiled.rules_for_code(code)[0]
    case = build_case(compiled, rule, 0)
    report = validate(compiled, io.BytesIO(case.data), name="m.920000", today=case.today)
    return case.data, report.to_json()


def test_every_field_is_present(compiled: Compiled) -> None:
    data, report = mutant_report(compiled, "200802")
    assert set(report) == {"rulebook", "file", "verdict", "findings", "amounts", "summary"}
    assert set(report["rulebook"]) == {"version", "hash"}
    assert report["rulebook"]["hash"] == compiled.hash
    file = report["file"]
    assert file == {
        "name": "m.920000",
        "sha256": hashlib.sha256(data).hexdigest(),
        "message": "920000",
        "records": (len(data) - 227) // 350,
    }
    assert report["verdict"] == "rejected_threshold"  # 1 invoice of 3 refused: 33 % > 5 %
    finding = report["findings"][0]
    assert set(finding) >= {
        "code",
        "letter",
        "segment",
        "record",
        "record_type",
        "zone",
        "start",
        "end",
        "invoice",
        "message",
        "rule",
    }
    assert finding["code"] == "200802" and finding["letter"] == "F"
    assert (finding["record"], finding["record_type"], finding["zone"]) == (2, "20", "8")
    assert (finding["start"], finding["end"], finding["invoice"]) == (36, 48, 1)
    assert finding["segment"] is None
    assert set(finding["message"]) == {"fr", "nl"}
    assert finding["rule"]["source"] == "instructions/et20.rules"
    assert isinstance(finding["rule"]["line"], int)
    summary = report["summary"]
    assert set(summary["by_letter"]) == {"B", "F", "R", "S", "E"}
    assert summary["by_letter"]["F"] == 2  # 200802 on ET20 and 800802 on ET80


def test_segment_findings_have_no_record(compiled: Compiled) -> None:
    _, report = mutant_report(compiled, "308-20")
    (finding,) = report["findings"]
    assert finding["segment"] == "300" and finding["record"] is None
    assert (finding["zone"], finding["start"], finding["end"]) == ("308", 133, 134)


def test_sending_level_findings(compiled: Compiled) -> None:
    _, report = mutant_report(compiled, "500-10")
    (finding,) = report["findings"]
    assert finding["record"] is None and finding["record_type"] == "96"


def test_records_count_350_character_records_only(compiled: Compiled) -> None:
    data = generate(compiled, compiled.scenarios["baseline"])
    report = validate(compiled, io.BytesIO(data), today=scenario_date(compiled, "baseline"))
    assert report.records == 17 and report.invoices == 3
    assert report.to_json()["verdict"] == "accepted"


def test_cli_json_equals_library_json(compiled: Compiled, tmp_path: Path) -> None:
    data, expected = mutant_report(compiled, "801910")
    path = tmp_path / "m.920000"
    path.write_bytes(data)
    result = CliRunner().invoke(
        main, ["validate", str(path), "--format", "json", "--today", "2026-11-01"]
    )
    assert result.exit_code == 1
    assert json.loads(result.output) == expected


def test_reader_findings_point_at_their_code_declaration(compiled: Compiled) -> None:
    report = validate(compiled, io.BytesIO(b""), name="empty").to_json()
    (finding,) = report["findings"]
    assert finding["code"] == "RB0001"
    assert finding["rule"]["source"] == "instructions/rulebook.rules"
    source = (Path(__file__).parent.parent / finding["rule"]["source"]).read_text("utf-8")
    assert source.splitlines()[finding["rule"]["line"] - 1].startswith("code RB0001 B")


def test_findings_share_their_strings(compiled: Compiled) -> None:
    """A file broken everywhere holds about seven findings a record: what they have in
    common (record type, zone, labels) is one string for all, not one per finding."""
    from benchmarks.bigfile import build_broken

    report = validate(compiled, io.BytesIO(build_broken(compiled, 200, mutualities=2)))
    by_rule: dict[tuple[str | None, ...], list[Any]] = {}
    for f in report.findings:
        by_rule.setdefault((f.code, f.record_type, f.zone), []).append(f)
    repeated = [fs for fs in by_rule.values() if len(fs) > 20]
    assert len(repeated) > 5
    for first, *others in repeated:
        for f in others:
            assert f.record_type is first.record_type
            assert f.zone is first.zone and f.fr is first.fr and f.nl is first.nl
