"""The validation plan (``compiler.plan``): golden plans, ``rulebook plan``, and the validator
running exactly what the plan says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from compiler import Compiled, compile_rulebook
from compiler import plan as compiler_plan
from compiler.plan_text import as_json, text
from rulebook.load import load
from tests.commands import rulebook
from validator.plan import plan_for

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str, found: str, update: bool) -> None:
    path = GOLDEN / "plan" / name
    if update:
        path.write_text(found, "utf-8")
    assert found == path.read_text("utf-8"), f"plan changed: review, then --update-golden ({path})"


def without_hash(plan_text: str) -> str:
    """The plan's text with the rulebook's version and hash out (they change with any rule)."""
    return re.sub(r"rulebook \S+ \(sha256:[0-9a-f]+\)", "rulebook V (HASH)", plan_text)


def mini() -> Compiled:
    sources = [
        *sorted((GOLDEN / "errors" / "_prelude").glob("*")),
        GOLDEN / "compile" / "mini.rules",
    ]
    return compile_rulebook(load(sources))


def test_golden_plan_of_the_mini_rulebook(update_golden: bool) -> None:
    book = mini()
    found = text(compiler_plan.build(book), [r.code for r in book.rules])
    golden("mini.plan.txt", without_hash(found), update_golden)


def test_golden_plan_of_the_shipped_et50_and_et90(compiled: Compiled, update_golden: bool) -> None:
    """ET50 (the prestation lines: most rules, aggregates fed) and ET90 (the sending's totals
    at its end) as ``rulebook plan --record`` prints them."""
    for record in ("ET50", "ET90"):
        result = rulebook("plan", "--record", record)
        assert result.returncode == 0, result.stderr
        golden(f"shipped-{record}.plan.txt", without_hash(result.stdout), update_golden)


def test_every_rule_runs_once_where_the_plan_puts_it(compiled: Compiled) -> None:
    runtime = plan_for(compiled)
    data = runtime.data
    planned: list[tuple[str, int]] = [("segments", s.rule) for s in data.segments]
    for r in data.records:
        planned += [(f"{r.name} phase 1", s.rule) for s in r.phase1]
        planned += [(f"{r.name} phase 2", s.rule) for s in r.phase2]
    for g in data.groups:
        planned += [(f"{g.name} complete", s.rule) for s in g.complete]
    planned += [("end", s.rule) for s in data.final]
    assert sorted(i for _, i in planned) == list(range(len(compiled.rules)))  # each rule once
    running: list[tuple[str, int]] = []
    index = {id(rule): i for i, rule in enumerate(compiled.rules)}
    for name, rps in runtime.phase1.items():
        running += [(f"{name} phase 1", index[id(rp.rule)]) for rp in rps]
    for name, rps in runtime.phase2.items():
        running += [(f"{name} phase 2", index[id(rp.rule)]) for rp in rps]
    running += [(f"{g.name} complete", index[id(rp.rule)]) for rp, g in runtime.openers]
    running += [
        (
            "segments" if rp.layout.kind == "segment" and rp.rule.phase == 1 else "end",
            index[id(rp.rule)],
        )
        for rp in runtime.final
    ]
    assert sorted(running) == sorted(planned)
    # the aggregates: one runtime per aggregate of the plan, shared sources as planned
    assert {spec.runtime for spec in runtime.aggregates} == {a.index for a in data.aggregates}
    for spec in runtime.aggregates:
        assert data.aggregates[spec.runtime].node == spec.node
        assert data.aggregates[spec.runtime].source == spec.share
    # the records carried and kept, and the screens, as planned
    assert runtime.carry == {r.name for r in data.records if r.carried}
    assert runtime.retain == {r.name for r in data.records if r.retained}
    for r in data.records:
        for phase, steps in ((1, r.phase1), (2, r.phase2)):
            screened = any(s.screen is not None for s in steps)
            assert ((phase, r.name) in runtime.screens) == screened


def test_aggregates_are_deduplicated(compiled: Compiled) -> None:
    data = compiler_plan.build(compiled)
    seen = [(a.node, a.mode) for a in data.aggregates]
    assert len(seen) == len(set(seen))
    assert sum(len(a.readers) for a in data.aggregates) >= len(data.aggregates)
    sources = {a.source for a in data.aggregates}
    assert sources == set(range(len(sources)))


def test_cli_plan_json_is_the_text_as_data(compiled: Compiled) -> None:
    result = rulebook("plan", "--record", "ET20", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["record"] for r in data["records"]] == ["ET20"]
    expected = as_json(compiler_plan.build(compiled), [r.code for r in compiled.rules], "ET20")
    assert data == expected
    shown = rulebook("plan", "--record", "20").stdout  # the digits alone name it too
    for step in data["records"][0]["phase2"]:
        assert step["code"] in shown


@pytest.mark.parametrize("record", ["ET99", "S200", "banana"])
def test_cli_plan_unknown_record(record: str) -> None:
    result = rulebook("plan", "--record", record)
    assert result.returncode == 2
    assert "no record type" in result.stderr and "ET50" in result.stderr
    assert "Traceback" not in result.stderr
