"""The validator plan: the compiled rulebook turned into closures, grouped the way they run.

Input: ``compiler.Compiled``.
Output: ``Plan``: per record type the stream rules of phase 1 and 2, the opener rules of each
group, the end-of-file rules, the aggregates with their compiled parts, the governing-date
closures, and which records must be carried between chunks or kept until the end.
Built once per compiled rulebook and shared by every validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from compiler import Compiled, ir
from compiler import plan as compiler_plan
from compiler.passes import walk
from compiler.screens import AnchorCheck, CharCheck
from validator.contributions import Part
from validator.evaluate import ExprCompiler
from validator.explain import Explainer
from validator.scope import Fn, Scope
from validator.screen import ZoneScreen, zone_screen
from validator.values import (
    Bool,
    Val,
    broadcast,
    kleene_and,
    kleene_not,
    some,
    spread,
    truth,
)

RuleFn = Callable[[Scope], tuple[Bool, Bool]]


@dataclass(slots=True)
class RulePlan:
    """A rule with its evaluation closure."""

    rule: ir.Rule
    layout: ir.Layout
    fn: RuleFn
    flags: tuple[str, ...] = ()  # zones a finding marks: the rule's zone and those it reads
    check: CharCheck | AnchorCheck | None = None  # screened with others (validator.screen)


@dataclass(slots=True)
class AggSpec:
    """An aggregate of a rule, with the closures of its parts."""

    node: ir.Aggregate
    mode: str
    parts: list[Part]
    this_key: Fn | None
    group: ir.Group | None
    runtime: int = 0  # index of its runtime: the same sum in several rules is computed once
    share: int = 0  # index of its source parts: identical parts are evaluated once per chunk


@dataclass(slots=True)
class Plan:
    """Everything the runner needs, compiled once."""

    compiled: Compiled
    data: compiler_plan.ValidationPlan  # what runs when, as the compiler planned it
    records: tuple[ir.Layout, ...]
    phase1: dict[str, list[RulePlan]] = field(default_factory=dict)
    phase2: dict[str, list[RulePlan]] = field(default_factory=dict)
    screens: dict[tuple[int, str], ZoneScreen] = field(default_factory=dict)  # (phase, layout)
    openers: list[tuple[RulePlan, ir.Group]] = field(default_factory=list)
    final: list[RulePlan] = field(default_factory=list)
    aggregates: list[AggSpec] = field(default_factory=list)
    date_fns: dict[tuple[str, str], Fn] = field(default_factory=dict)
    carry: set[str] = field(default_factory=set)
    retain: set[str] = field(default_factory=set)
    invoice_group: ir.Group | None = None
    explainer: Explainer | None = None  # the findings' details (validator.explain)


_NO_ROWS: dict[int, Bool] = {}


def no_rows(n: int) -> Bool:
    """A shared all-false mask of length n (read-only)."""
    found = _NO_ROWS.get(n)
    if found is None:
        found = np.zeros(n, dtype=np.bool_)
        found.flags.writeable = False
        if len(_NO_ROWS) > 64:
            _NO_ROWS.clear()
        _NO_ROWS[n] = found
    return found


def rule_closure(rule: ir.Rule, when: Fn | None, require: Fn) -> RuleFn:
    """violated = in force ∧ when ∧ ¬require (Kleene); also the unexplained unknown rows.

    Fast paths: a ``when`` known false on every record ends it (``require`` is not
    evaluated: nothing could be violated or unexplained); when every record of the scope is
    in force and nothing is unknown, the answer is two vector operations; three-valued logic
    only runs where it is needed.
    """
    start, end, gov = rule.start, rule.end, rule.governed_by

    def fn(scope: Scope) -> tuple[Bool, Bool]:
        n = scope.n
        active = scope.activity(gov, start, end)
        if active is False:
            zeros = no_rows(n)
            return zeros, zeros
        w = when(scope) if when is not None else None
        if w is not None and w.unknown is None and not some(w.data):
            zeros = no_rows(n)  # the condition is known false everywhere: nothing to require
            return zeros, zeros
        r = require(scope)
        if r.unknown is None and (w is None or w.unknown is None):
            data = np.asarray(r.data, dtype=np.bool_)
            violated = ~spread(data, n)
            if w is not None:
                violated = violated & np.asarray(w.data, dtype=np.bool_)
            if active is not True:
                violated = violated & active
            return violated, no_rows(n)
        v = kleene_not(r)
        if active is not True:
            v = kleene_and(Val(active), v)
        if w is not None:
            v = kleene_and(v, w)
        v = broadcast(v, n)
        violated, _ = truth(v)
        if v.unknown is None or v.unexplained is None:
            return violated, no_rows(n)
        return violated, spread(v.unknown & v.unexplained, n)

    return fn


def build_plan(compiled: Compiled) -> Plan:
    """The closures of the compiled plan (``compiler.plan``), grouped as it says."""
    data = compiler_plan.build(compiled)
    plan = Plan(
        compiled=compiled,
        data=data,
        records=tuple(compiled.layouts[name] for name in compiled.message.records),
        invoice_group=compiled.message.groups.get("invoice"),
        explainer=Explainer(compiled),
        carry={r.name for r in data.records if r.carried},
        retain={r.name for r in data.records if r.retained},
    )
    default = compiled.default_date
    for (name, layout), expr in compiled.date_exprs.items():
        plan.date_fns[(name, layout)] = ExprCompiler(compiled, default)(expr)

    def closure(step: compiler_plan.Step) -> RulePlan:
        rule = compiled.rules[step.rule]
        comp = ExprCompiler(compiled, rule.governed_by)
        when = comp(rule.when) if rule.when is not None else None
        exprs = [e for e in (rule.when, rule.require) if e is not None]
        for e in exprs:
            for node in walk(e):
                if isinstance(node, ir.Aggregate):
                    found = data.aggregate_of(node, rule.mode)
                    plan.aggregates.append(_agg_spec(compiled, comp, node, found))
        return RulePlan(
            rule=rule,
            layout=compiled.layouts[rule.record],
            fn=rule_closure(rule, when, comp(rule.require)),
            check=step.screen,
            flags=_flag_zones(rule, exprs),
        )

    for record in data.records:
        for steps, target in ((record.phase1, plan.phase1), (record.phase2, plan.phase2)):
            if steps:
                target[record.name] = [closure(step) for step in steps]
    groups = {g.name: g for g in compiled.message.groups.values()}
    for g in data.groups:
        plan.openers.extend((closure(step), groups[g.name]) for step in g.complete)
    plan.final = [closure(step) for step in (*data.segments, *data.final)]
    for phase, rules in ((1, plan.phase1), (2, plan.phase2)):
        for name, plans in rules.items():
            screen = zone_screen(plans)
            if screen is not None:
                plan.screens[(phase, name)] = screen
    return plan


def _flag_zones(rule: ir.Rule, exprs: list[ir.Expr]) -> tuple[str, ...]:
    """A format rule's finding explains unknown values of every own zone it reads."""
    names = [rule.zone.name]
    if rule.phase == 1:
        for e in exprs:
            for node in walk(e):
                if isinstance(node, ir.ZoneRef) and node.access == "self":
                    names.append(node.zone.name)
    return tuple(dict.fromkeys(names))


def aggregate_parts(compiled: Compiled, comp: ExprCompiler, node: ir.Aggregate) -> list[Part]:
    """An aggregate's source parts with their closures (condition, value, key)."""
    return [
        Part(
            layout=compiled.layouts[p.record],
            where=comp(p.where) if p.where is not None else None,
            value=comp(p.value) if p.value is not None else None,
            key=comp(p.key) if p.key is not None else None,
        )
        for p in node.parts
    ]


def _agg_spec(
    compiled: Compiled, comp: ExprCompiler, node: ir.Aggregate, found: compiler_plan.AggregatePlan
) -> AggSpec:
    parts = aggregate_parts(compiled, comp, node)
    group = compiled.message.groups.get(node.scope) if node.scope != "sending" else None
    this_key = comp(node.this_key) if node.this_key is not None else None
    return AggSpec(
        node=node,
        mode=found.mode,
        parts=parts,
        this_key=this_key,
        group=group,
        runtime=found.index,
        share=found.source,
    )


_PLANS: dict[str, Plan] = {}


def plan_for(compiled: Compiled) -> Plan:
    """The plan of a compiled rulebook, built once per rulebook hash."""
    found = _PLANS.get(compiled.hash)
    if found is None or found.compiled is not compiled:
        found = build_plan(compiled)
        _PLANS[compiled.hash] = found
    return found
