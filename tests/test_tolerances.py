"""The rulebook's tolerances, each tested on generated files: what production writers send is
accepted (the real files themselves are in tests/test_real.py), and what lies beyond still
gives its code."""

from __future__ import annotations

import io

import pytest

from compiler import Compiled, ir
from compiler.passes import walk
from generator import generate
from generator.mutants import DEFAULT_SCENARIO, scenario_date
from generator.structured import flatten
from validator import validate


def empty_rules(compiled: Compiled) -> list[ir.Rule]:
    """The rules that ask a zone of their own record to be empty (``empty(Z)`` in their
    requirement, on the rule's zone), with a mutant that sets that zone."""
    found = []
    for rule in compiled.rules:
        calls = [
            n
            for n in walk(rule.require)
            if isinstance(n, ir.Call)
            and n.func == "empty"
            and isinstance(n.args[0], ir.ZoneRef)
            and n.args[0].access == "self"
            and n.args[0].zone == rule.zone
        ]
        if calls and any(m.zone == rule.zone for m in rule.mutants[0].mutations):
            found.append(rule)
    return found


def findings_with(compiled: Compiled, rule: ir.Rule, text: str) -> set[str]:
    """The codes of the rule's first mutant with its zone written ``text`` instead."""
    mutant = rule.mutants[0]
    mutations = tuple(
        ir.Mutation(op="raw", record=m.record, occurrence=m.occurrence, zone=m.zone, value=text)
        if m.zone == rule.zone and m.record == rule.record
        else m
        for m in mutant.mutations
    )
    scenario = mutant.scenario or DEFAULT_SCENARIO
    today = scenario_date(compiled, scenario)
    data = generate(compiled, compiled.scenarios[scenario], mutations=mutations, today=today)
    report = validate(compiled, io.BytesIO(data), today=today)
    return {f.code for f in report.findings}


def test_every_reserve_rule_reads_empty(compiled: Compiled) -> None:
    """'Contenu zone différent de zéro' on every reserve and obsolete numeric zone: 130 rules
    ask for an empty zone, none for zeros only (a reserve left blank by a writer is as empty
    as one filled with zeros)."""
    rules = empty_rules(compiled)
    assert len(rules) >= 130
    still_zero = [
        r.code
        for r in compiled.rules
        if any(
            isinstance(n, ir.Call)
            and n.func == "zero"
            and isinstance(n.args[0], ir.ZoneRef)
            and n.args[0].zone.name.startswith("reserve")
            for n in walk(r.require)
        )
    ]
    assert still_zero == []


@pytest.mark.parametrize("shape", ["blanks", "blanks then zeros", "zeros"])
def test_empty_zones_are_accepted_in_every_shape(compiled: Compiled, shape: str) -> None:
    """Each such rule's own mutant, its zone written empty the ways writers do: all blanks,
    blanks then zeros (a vendor's `"       0"`), all zeros. The rule does not report it."""
    reported = []
    for rule in empty_rules(compiled):
        width = rule.zone.length
        text = {
            "blanks": " " * width,
            "blanks then zeros": " " * (width - width // 2 - (width == 1)) + "0" * (width // 2),
            "zeros": "0" * width,
        }[shape]
        if rule.code in findings_with(compiled, rule, text):
            reported.append(rule.code)
    assert reported == []


def test_anything_else_in_an_empty_zone_is_reported(compiled: Compiled) -> None:
    """The boundary: a letter among the blanks is content, and each rule reports it."""
    missed = []
    for rule in empty_rules(compiled):
        text = " " * (rule.zone.length - 1) + "A"
        if rule.code not in findings_with(compiled, rule, text):
            missed.append(rule.code)
    assert missed == []


def sending_with(compiled: Compiled, record: str, values: dict[str, str]) -> set[str]:
    """The baseline with zones of every ``record`` written as given."""
    mutations = []
    items = flatten(compiled, compiled.scenarios[DEFAULT_SCENARIO])
    count = sum(1 for item in items if item.layout == record)
    for occurrence in range(1, count + 1):
        for name, text in values.items():
            zone = compiled.layouts[record].by_name[name]
            mutations.append(
                ir.Mutation(op="raw", record=record, occurrence=occurrence, zone=zone, value=text)
            )
    today = scenario_date(compiled, DEFAULT_SCENARIO)
    data = generate(
        compiled, compiled.scenarios[DEFAULT_SCENARIO], mutations=mutations, today=today
    )
    report = validate(compiled, io.BytesIO(data), today=today)
    return {f.code for f in report.findings}


@pytest.mark.parametrize("record", ["ET95", "ET96"])
def test_blank_account_c_is_no_account_c(compiled: Compiled, record: str) -> None:
    """Account C left blank, sign and amount (the CIN test files): no finding; a sign with a
    blank amount, or a letter in it, is still a format error."""
    code = "412-11" if record == "ET95" else "512-11"
    assert sending_with(compiled, record, {"sign_asked_c": " ", "asked_c": " " * 11}) == set()
    assert code in sending_with(compiled, record, {"sign_asked_c": "+", "asked_c": " " * 11})
    assert code in sending_with(compiled, record, {"sign_asked_c": " ", "asked_c": "0000000000A"})
