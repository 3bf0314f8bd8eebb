"""Minimal pairs: each baseline scenario validates clean; each rule's mutant breaks exactly
that rule (plus the codes the rulebook declares it necessarily triggers), at the right record
and zone."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from compiler import Compiled, load_compiled
from generator import generate
from generator.mutants import check, scenario_date
from tests.sendings import mutant_case
from validator import validate

ROOT = Path(__file__).resolve().parent.parent
_COMPILED = load_compiled(ROOT, use_cache=False)
CASES = [(rule.code, rule.start, i) for rule in _COMPILED.rules for i in range(len(rule.mutants))]


@pytest.mark.parametrize("scenario", sorted(_COMPILED.scenarios))
def test_baseline_scenario_is_accepted(compiled: Compiled, scenario: str) -> None:
    data = generate(compiled, compiled.scenarios[scenario])
    report = validate(compiled, io.BytesIO(data), today=scenario_date(compiled, scenario))
    assert [(f.code, f.record) for f in report.findings] == []
    assert report.verdict == "accepted"


@pytest.mark.parametrize(("code", "start", "index"), CASES, ids=[f"{c}-{i}" for c, _, i in CASES])
def test_mutant_breaks_exactly_its_rule(
    compiled: Compiled, code: str, start: int, index: int
) -> None:
    rule = next(r for r in compiled.rules if r.code == code and r.start == start)
    case = mutant_case(compiled, rule, index)
    assert check(compiled, case) == []
