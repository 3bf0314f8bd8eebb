"""The shipped rulebook: compiles without diagnostics and covers what the format needs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from compiler import Compiled

ROOT = Path(__file__).resolve().parent.parent


def test_check_prints_no_diagnostics() -> None:
    result = CliRunner().invoke(main, ["check", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "error" not in result.output and "warning" not in result.output
    assert "no diagnostics" in result.output


def test_at_least_150_official_rules(compiled: Compiled) -> None:
    official = [r for r in compiled.rules if compiled.codes[r.code].official]
    assert len(official) >= 150
    assert len(compiled.rules) >= 500


def test_codes_and_labels_come_from_the_official_list(compiled: Compiled) -> None:
    data = json.loads((ROOT / "instructions" / "efact-error-codes.json").read_text("utf-8"))
    shared = (
        json.loads((ROOT.parent / "shared" / "data" / "efact-error-codes.json").read_text("utf-8"))
        if (ROOT.parent / "shared" / "data" / "efact-error-codes.json").exists()
        else data
    )
    assert data == shared
    official = {(e["code"], e["letter"]) for e in data}
    for rule in compiled.rules:
        info = compiled.codes[rule.code]
        if info.official:
            letters = {letter for code, letter in official if code == rule.code}
            assert rule.letter in letters or letters == {None}, rule.code
            assert rule.fr and rule.nl


def test_every_layout_of_the_sent_file_is_described(compiled: Compiled) -> None:
    assert set(compiled.message.records) == {
        "ET10",
        "ET20",
        "ET25",
        "ET30",
        "ET50",
        "ET51",
        "ET52",
        "ET80",
        "ET90",
        "ET95",
        "ET96",
    }
    assert compiled.message.segments == ("S200", "S300")
    for name in compiled.message.records:
        assert compiled.layouts[name].length == 350
    assert compiled.layouts["S200"].length == 67 and compiled.layouts["S300"].length == 160


def test_rules_cover_the_kinds_the_format_needs(compiled: Compiled) -> None:
    codes = {r.code for r in compiled.rules}
    required = {
        "100111",
        "200110",
        "200111",
        "800110",
        "800111",
        "900110",
        "900111",  # structure
        "200210",
        "500210",
        "100110",  # sequence numbers
        "109902",
        "209902",
        "509902",
        "809902",
        "909902",  # record control digits
        "809802",
        "909802",  # invoice and file control numbers
        "200802",
        "101402",
        "102702",
        "103602",  # NISS, NIHII, BCE, IBAN
        "800812",
        "900712",
        "901412",  # links ET80 = ET20, ET90 = ET10
        "801910",
        "901910",
        "404-41",
        "504-41",  # totals ET80, ET90, ET95, ET96
        "201812",  # destination mutuality ascending
        "102510",
        "200610",
        "102303",  # dates
        "102710",
        "101810",
        "104512",  # rules depending on the invoiced period
        "200510",  # conditional requirement
    }
    assert required <= codes


def test_every_rule_has_a_mutant(compiled: Compiled) -> None:
    assert [r.code for r in compiled.rules if not r.mutants] == []


def test_letters_of_shipped_rules(compiled: Compiled) -> None:
    letters = Counter(r.letter for r in compiled.rules)
    assert set(letters) <= {"B", "F", "R", "S", "E"}
    assert letters["B"] > 0 and letters["F"] > 0 and letters["R"] > 0
