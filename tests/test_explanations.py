"""Every finding explains itself in the rule's terms, in French and Dutch: the computed value
a zone is compared with (a total, the previous number plus one, control digits), the values
a table allows, or the condition in words; reports speak one language; ``rulebook explain``."""

from __future__ import annotations

import io
import json
import re

import pytest

from compiler import Compiled
from generator.mutants import MutantCase, build_case, cases
from tests.commands import ROOT, rulebook
from validator import validate, validate_many
from validator.reader import ByteSource
from validator.report import Finding, Report, to_text


def case_of(compiled: Compiled, code: str) -> MutantCase:
    rule = compiled.rules_for_code(code)[0]
    return build_case(compiled, rule, 0)


def finding(compiled: Compiled, code: str) -> tuple[MutantCase, Report, Finding]:
    case = case_of(compiled, code)
    report = validate(compiled, io.BytesIO(case.data), name=case.name, today=case.today)
    found = next(f for f in report.findings if f.code == code)
    return case, report, found


def record_zone(data: bytes, record: int, start: int, end: int) -> str:
    """Zone characters of the record-th 350-character record (segments first, 227)."""
    at = 227 + (record - 1) * 350
    return data[at + start - 1 : at + end].decode("latin-1")


def test_a_total_gives_the_sum_it_should_equal(compiled: Compiled) -> None:
    case, _, f = finding(compiled, "801910")
    baseline = compiled.scenarios[case.scenario]
    assert f.detail is not None and f.detail.found == "1"
    from generator import generate

    correct = generate(compiled, baseline, today=case.today)
    assert f.record is not None and f.start is not None and f.end is not None
    assert f.detail.expected == str(int(record_zone(correct, f.record, f.start, f.end)))
    assert "attendu : " + f.detail.expected in f.detail.fr and "la somme de" in f.detail.fr
    assert "verwacht: " + f.detail.expected in f.detail.nl and "de som van" in f.detail.nl


def test_a_sequence_gives_the_previous_number_plus_one(compiled: Compiled) -> None:
    case, _, f = finding(compiled, "200210")
    assert f.detail is not None and f.record is not None
    previous = int(record_zone(case.data, f.record - 1, 3, 8))
    assert f.detail.expected == str(previous + 1) and f.detail.found == "9"
    assert "de l'enregistrement précédent plus 1" in f.detail.fr


def test_control_digits_give_the_expected_digits(compiled: Compiled) -> None:
    case, _, f = finding(compiled, "209902")
    assert f.detail is not None and f.record is not None
    from generator import generate

    correct = generate(compiled, compiled.scenarios[case.scenario], today=case.today)
    assert f.detail.expected == str(int(record_zone(correct, f.record, 349, 350)))
    assert f.detail.found == "1"


def test_a_table_rule_lists_the_values_it_allows(compiled: Compiled) -> None:
    _, _, f = finding(compiled, "201003")
    assert f.detail is not None
    table = compiled.tables["invoice_types"]
    allowed = ", ".join(str(v) for v in sorted(table.versions[-1].value))  # type: ignore[call-overload]
    assert f"valeurs admises (table « {table.fr} ») : {allowed} ; trouvé : « 2 »" == f.detail.fr
    assert f"toegelaten waarden (tabel « {table.nl} »): {allowed}; gevonden: « 2 »" == f.detail.nl


def test_every_finding_of_every_mutant_explains_itself(compiled: Compiled) -> None:
    """All 580-odd mutants: each listed finding has a detail in both languages (and the
    reports of a batch are those of single files, details included)."""
    every = cases(compiled)
    files: list[tuple[str, ByteSource]] = [(c.name, io.BytesIO(c.data)) for c in every[:40]]
    batch = validate_many(compiled, files, today=every[0].today)
    computed = 0
    for c, together in zip(every[:40], batch, strict=True):
        alone = validate(compiled, io.BytesIO(c.data), name=c.name, today=every[0].today)
        assert json.dumps(together.to_json()) == json.dumps(alone.to_json())
    for c in every:
        report = validate(compiled, io.BytesIO(c.data), name=c.name, today=c.today)
        for f in report.findings:
            assert f.detail is not None, (c.name, f.code)
            assert f.detail.fr and f.detail.nl and f.detail.fr != f.detail.nl, (c.name, f.code)
            computed += f.detail.expected is not None
        for lang in ("fr", "nl"):
            assert "None" not in to_text(report, lang), c.name
    assert computed >= 220  # 227 when written: the rules comparing a zone with a value


ENGLISH = re.compile(
    r"\b(accepted|rejected|invoice|value:|findings|error rate|amounts|cents|account|sending|"
    r"characters|more finding)\b"
)


@pytest.mark.parametrize("lang", ["fr", "nl"])
def test_a_report_speaks_one_language(compiled: Compiled, lang: str) -> None:
    for name in ("wrong-niss", "credit"):
        done = rulebook("validate", str(ROOT / "examples" / f"{name}.920000"), "--lang", lang)
        text = done.stdout
        for f in (ROOT / "examples").glob("*.920000"):
            text = text.replace(f.name, "")
        assert not ENGLISH.search(text), ENGLISH.search(text)
        assert "None" not in text and "_" not in text.replace("wrong-niss", "")
    money = rulebook("validate", str(ROOT / "examples" / "credit.920000"), "--lang", lang).stdout
    assert ("-23,70 €" if lang == "fr" else "€ -23,70") in money
    broken = case_of(compiled, "200210")
    text = to_text(validate(compiled, io.BytesIO(broken.data[:-100])), lang)
    assert "None" not in text and "ETNone" not in text


def test_explain_prints_the_rule_in_words(compiled: Compiled) -> None:
    fr = rulebook("explain", "200210")
    assert fr.returncode == 0
    assert fr.stdout.splitlines()[0] == f"200210 B — {compiled.codes['200210'].fr}"
    assert "Condition : « numéro d'ordre de l'enregistrement » (zone 2) est égal à" in fr.stdout
    assert "Source : instructions/et20.rules:20" in fr.stdout
    nl = rulebook("explain", "801910", "--lang", "nl")
    assert "Voorwaarde: « bedrag van de financiële rekening A » (zone 19)" in nl.stdout
    data = json.loads(rulebook("explain", "201003", "--format", "json").stdout)
    assert data["code"] == "201003" and data["versions"][0]["source"].endswith(".rules:200")
    asked = [q for q in compiled.questions if q.codes]
    if asked:
        code = asked[0].codes[0]
        assert asked[0].fr in rulebook("explain", code).stdout
    reader = rulebook("explain", "RB0011")
    assert reader.returncode == 0 and "not_a_sending" in reader.stdout
    unknown = rulebook("explain", "20021")
    assert unknown.returncode == 2 and "200210" in unknown.stderr
