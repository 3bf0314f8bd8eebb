"""Mutants: for each rule, a minimal file that breaks it, and the codes it must produce.

Input: a compiled rulebook (its rules' ``mutant`` clauses and its baseline scenarios).
Output: ``MutantCase`` values (the file's bytes, the expected codes, where the rule's finding
must be) and ``check`` that validates a case and lists every difference. A rule's mutant is
its baseline scenario with the mutant's edits applied and every other derived zone refilled,
so the file breaks that rule and nothing else but the codes the mutant declares with ``also``.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from compiler import Compiled, ir
from generator import apply_mutations, generate
from generator.structured import flatten
from validator import Finding, validate

DEFAULT_SCENARIO = "baseline"


@dataclass(frozen=True, slots=True, kw_only=True)
class MutantCase:
    """One mutant of one rule, ready to validate."""

    rule: ir.Rule
    index: int
    scenario: str
    data: bytes
    expected: tuple[str, ...]
    target_record: int | None
    today: dt.date

    @property
    def name(self) -> str:
        suffix = f"-{self.index + 1}" if self.index else ""
        return f"{self.rule.code}{suffix}"


def scenario_date(compiled: Compiled, scenario: str) -> dt.date:
    value = compiled.scenarios[scenario].get("as_of")
    return dt.date.fromisoformat(value) if isinstance(value, str) else dt.date.today()


def build_case(compiled: Compiled, rule: ir.Rule, index: int) -> MutantCase:
    """The file of a rule's ``index``-th mutant."""
    mutant = rule.mutants[index]
    scenario = mutant.scenario or DEFAULT_SCENARIO
    data = compiled.scenarios[scenario]
    today = scenario_date(compiled, scenario)
    content = generate(compiled, data, mutations=mutant.mutations, today=today)
    items = apply_mutations(flatten(compiled, data), mutant.mutations)
    target = None
    for m in mutant.mutations:
        if m.record == rule.record and m.op in ("set", "raw"):
            records = [i for i in items if i.layout not in compiled.message.segments]
            positions = [k for k, it in enumerate(records) if it.layout == m.record]
            if len(positions) >= m.occurrence:
                target = positions[m.occurrence - 1] + 1
            break
    return MutantCase(
        rule=rule,
        index=index,
        scenario=scenario,
        data=content,
        expected=tuple(sorted({rule.code, *mutant.also})),
        target_record=target,
        today=today,
    )


def cases(compiled: Compiled, code: str | None = None) -> list[MutantCase]:
    """Every mutant of every rule (or of one code), in rule order."""
    found = []
    for rule in compiled.rules:
        if code is not None and rule.code != code:
            continue
        for index in range(len(rule.mutants)):
            found.append(build_case(compiled, rule, index))
    return found


def rule_finding_matches(case: MutantCase, f: Finding, compiled: Compiled) -> bool:
    rule = case.rule
    layout = compiled.layouts[rule.record]
    if f.code != rule.code or f.zone != rule.zone_label:
        return False
    if layout.kind == "segment":
        return f.segment == layout.digits
    if f.record_type != layout.digits:
        return False
    return case.target_record is None or rule.per_sending or f.record == case.target_record


def place(f: Finding) -> str:
    """Where a finding is, in words: record N zone Z, segment S zone Z, or the sending."""
    if f.record is not None:
        where = f"record {f.record}"
    elif f.segment is not None:
        where = f"segment {f.segment}"
    else:
        where = "the sending"
    return f"{where} zone {f.zone}" if f.zone is not None else where


def check(compiled: Compiled, case: MutantCase) -> list[str]:
    """Validate a mutant; return what differs from its expectation (empty when it works)."""
    report = validate(compiled, io.BytesIO(case.data), name=case.name, today=case.today)
    problems: list[str] = []
    found = sorted({f.code for f in report.findings})
    if tuple(found) != case.expected:
        missing = sorted(set(case.expected) - set(found))
        extra = sorted(set(found) - set(case.expected))
        if missing:
            problems.append(f"expected {', '.join(missing)}, not reported")
        if extra:
            details = [f"{f.code} at {place(f)}" for f in report.findings if f.code in extra]
            problems.append(
                f"also reported {', '.join(details[:6])} (if the edit should break it too, add "
                f"'also {extra[0]}' to the mutant; else make the edit break only its rule)"
            )
    if case.rule.code in found and not any(
        rule_finding_matches(case, f, compiled) for f in report.findings
    ):
        where = [place(f) for f in report.findings if f.code == case.rule.code]
        problems.append(
            f"{case.rule.code} reported, but not at record {case.target_record} zone "
            f"{case.rule.zone_label} (found at {', '.join(where)})"
        )
    return problems
