"""The structured form: parse and generate, JSON Schema and XSD, JSON -> XML -> JSON, and the
mutants and coverage commands."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings

from compiler import Compiled, load_compiled
from compiler.schema import json_schema, xsd
from generator import generate
from generator.parse import to_structured
from generator.strategies import sendings
from generator.xmlform import from_xml, to_xml
from tests.commands import ROOT, copy_book
from tests.commands import rulebook as run_rulebook
from tests.sendings import TODAY

EXAMPLES = sorted((ROOT / "examples").glob("*.920000"))
VALID = [p for p in EXAMPLES if p.stem != "wrong-niss"]
COMPILED = load_compiled()
XSD = xmlschema.XMLSchema(xsd(COMPILED))


rulebook = functools.partial(run_rulebook, timeout=300)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_parse_then_generate_gives_the_same_bytes(compiled: Compiled, path: Path) -> None:
    content = path.read_bytes()
    data = to_structured(compiled, content, path.name)
    jsonschema.Draft202012Validator(json_schema(compiled)).validate(data)
    assert generate(compiled, data, today=TODAY) == content
    xml = to_xml(compiled, data)
    XSD.validate(xml)
    assert from_xml(compiled, xml) == data
    assert generate(compiled, from_xml(compiled, xml), today=TODAY) == content


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(sendings(COMPILED))
def test_json_to_xml_to_json_is_lossless(data: dict[str, Any]) -> None:
    parsed = to_structured(COMPILED, generate(COMPILED, data, today=TODAY))
    xml = to_xml(COMPILED, parsed)
    assert XSD.is_valid(xml)
    assert from_xml(COMPILED, xml) == parsed


@pytest.mark.parametrize(
    ("source", "today"),
    [
        (ROOT / "examples" / "mediprima.920000", "2026-11-01"),
        # the vendor's sending, blanks in its reserves (the schema used to refuse it: 15 errors)
        (ROOT / "tests" / "real" / "corilus" / "MessageeFact920000_2023-04-10.txt", "2023-04-10"),
    ],
    ids=["mediprima", "vendor"],
)
def test_cli_parse_and_generate_round_trip(tmp_path: Path, source: Path, today: str) -> None:
    for fmt in ("json", "xml"):
        out = tmp_path / f"m.{fmt}"
        parsed = rulebook("parse", str(source), "--format", fmt, "-o", str(out))
        assert parsed.returncode == 0, parsed.stderr
        written = tmp_path / f"m-{fmt}.920000"
        made = rulebook("generate", str(out), "-o", str(written), "--today", today)
        assert made.returncode == 0, made.stderr
        assert written.read_bytes() == source.read_bytes()


def test_invalid_json_input_gets_json_paths_and_exit_2(tmp_path: Path) -> None:
    data = json.loads(rulebook("parse", "examples/baseline.920000").stdout)
    data["invoice"][1]["ET20"]["sex"] = 12
    data["invoice"][0]["prestation"][0]["ET50"]["nomenclature_code"] = "101010"
    data["ET10"]["colour"] = "blue"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = rulebook("generate", str(bad), "-o", str(tmp_path / "out.920000"))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert (
        f"rulebook: {bad}: $.ET10: Additional properties are not allowed ('colour' was unexpected)"
        in lines
    )
    path = "$.invoice[0].prestation[0].ET50.nomenclature_code"
    assert f"rulebook: {bad}: {path}: '101010' is not of type 'integer'" in lines
    assert f"rulebook: {bad}: $.invoice[1].ET20.sex: 12 is greater than the maximum of 9" in lines
    assert lines[-1] == f"rulebook: {bad}: 3 error(s) against the rulebook's JSON Schema"
    assert not (tmp_path / "out.920000").exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = rulebook("generate", str(broken))
    assert result.returncode == 2 and "not valid JSON" in result.stderr


def test_invalid_xml_input_gets_xml_paths_and_exit_2(tmp_path: Path) -> None:
    xml = rulebook("parse", "examples/credit.920000", "--format", "xml").stdout
    bad = tmp_path / "bad.xml"
    bad.write_text(xml.replace("<sex>1</sex>", "<sex>x</sex>", 1))
    result = rulebook("generate", str(bad))
    assert result.returncode == 2
    assert "/sending/ET10" in result.stderr or "/sending/invoice" in result.stderr
    assert "error(s) against the rulebook's XSD" in result.stderr


def test_schema_command(compiled: Compiled) -> None:
    schema = json.loads(rulebook("schema").stdout)
    assert schema == json.loads(json.dumps(json_schema(compiled)))
    assert schema["$defs"]["ET20"]["properties"]["sex"]["anyOf"][0]["maximum"] == 9
    assert rulebook("schema", "--format", "xsd").stdout == xsd(compiled)


def test_mutants_command_writes_files_that_give_their_codes(tmp_path: Path) -> None:
    result = rulebook("mutants", "--rule", "200802", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    expected = json.loads((tmp_path / "200802" / "expected.json").read_text())
    assert expected["codes"] == ["200802", "800802"]
    report = rulebook(
        "validate",
        str(tmp_path / "200802" / "200802.920000"),
        "--format",
        "json",
        "--today",
        expected["today"],
    )
    assert sorted({f["code"] for f in json.loads(report.stdout)["findings"]}) == expected["codes"]
    assert rulebook("mutants", "--rule", "999999", "--out", str(tmp_path)).returncode == 2


def test_coverage_command(tmp_path: Path) -> None:
    ok = rulebook("coverage", "--rule", "200802", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    payload = json.loads(ok.stdout)
    assert (payload["rules"], payload["working"], payload["coverage"]) == (1, 1, 1.0)
    # a rulebook whose mutant no longer breaks its rule is reported, with why
    book = copy_book(tmp_path / "book")
    rules = book / "instructions" / "et20.rules"
    text = rules.read_text()
    broken = text.replace('mutant raw ET20.sex = "M"', 'mutant raw ET20.sex = "1"', 1)
    assert broken != text
    rules.write_text(broken)
    bad = rulebook("coverage", "--rulebook", str(book), "--rule", "200901")
    assert bad.returncode == 1
    assert bad.stdout.startswith("200901 (") and "expected 200901, not reported" in bad.stdout
    assert bad.stdout.splitlines()[-1] == "0 of 1 rules have a working mutant (0.0%)"
