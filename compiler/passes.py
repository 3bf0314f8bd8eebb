"""Compiler passes over the IR rules: classification and the checks that need resolved names.

Input: the lowered rules with the message structure.
Output: rules with ``mode`` (stream / opener / final) and ``phase`` set, plus diagnostics:
incomplete aggregates, contexts that cannot exist (``previous`` on an end-of-file check),
``fills`` clauses that do not name a side of the equality, unreachable rules.

``PASSES`` is a tuple of functions ``(rules, message) -> (rules, diagnostics)`` run in order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from compiler import ir
from rulebook.diagnostics import Diagnostic, error, warning

# Library functions whose result can be unknown although their arguments are known.
MAY_BE_UNKNOWN = frozenset({"signed", "niss_ok", "nihii_ok", "bce_ok", "is_time"})


def children(e: ir.Expr) -> Iterator[ir.Expr]:
    """Direct sub-expressions (aggregate parts included)."""
    if isinstance(e, ir.Slice | ir.Unary):
        yield e.operand
    elif isinstance(e, ir.Arith | ir.Compare | ir.Logic):
        yield e.left
        yield e.right
    elif isinstance(e, ir.If):
        yield from (e.cond, e.then, e.other)
    elif isinstance(e, ir.InSet | ir.InTable):
        yield e.operand
    elif isinstance(e, ir.Call):
        yield from e.args
    elif isinstance(e, ir.Aggregate):
        for part in e.parts:
            yield from (x for x in (part.value, part.where, part.key) if x is not None)
        if e.this_key is not None:
            yield e.this_key


def walk(e: ir.Expr) -> Iterator[ir.Expr]:
    """Every node of an expression, depth first."""
    yield e
    for c in children(e):
        yield from walk(c)


def rule_exprs(rule: ir.Rule) -> list[ir.Expr]:
    return [x for x in (rule.when, rule.require) if x is not None]


def outer_nodes(e: ir.Expr) -> Iterator[ir.Expr]:
    """Nodes evaluated on the rule's own record (not inside aggregate parts)."""
    yield e
    if isinstance(e, ir.Aggregate):
        if e.this_key is not None:
            yield from outer_nodes(e.this_key)
        return
    for c in children(e):
        yield from outer_nodes(c)


def never_unknown(e: ir.Expr) -> bool:
    """True when the expression only reads its own record's characters and constants."""
    for node in walk(e):
        if isinstance(node, ir.Aggregate | ir.DateRef):
            return False
        if isinstance(node, ir.ZoneRef) and (
            node.access != "self" or not (node.raw or node.zone.kind == "A")
        ):
            return False
        if isinstance(node, ir.Call) and node.func in MAY_BE_UNKNOWN:
            return False
    return True


def _complete_mode(rule: ir.Rule, agg: ir.Aggregate, msg: ir.Message) -> tuple[str, str | None]:
    """The mode an aggregate forces on the rule, or an error message."""
    order = msg.order
    here = order.get(rule.record)
    if here is None:
        return "stream", None
    if agg.scope != "sending":
        group = msg.groups[agg.scope]
        outside = [p.record for p in agg.parts if p.record not in group.members]
        if outside:
            return "stream", f"{', '.join(outside)} are not records of {agg.scope}"
        if rule.record == group.closer:
            return "stream", None
        if rule.record == group.opener:
            return "opener", None
        return "stream", (
            f"on {rule.record} an aggregate within {agg.scope} would only see part of it; "
            f"put the rule on {group.opener or group.closer}"
        )
    later = [p.record for p in agg.parts if order.get(p.record, -1) >= here]
    if not later:
        return "stream", None
    if rule.record in msg.singletons:
        return "final", None
    return "stream", (
        f"{', '.join(later)} can come after {rule.record}, so the aggregate is not complete on it"
    )


def classify(
    rules: list[ir.Rule], msg: ir.Message | None
) -> tuple[list[ir.Rule], list[Diagnostic]]:
    """Set each rule's mode and phase; diagnose contexts that cannot be evaluated."""
    out: list[ir.Rule] = []
    diags: list[Diagnostic] = []
    for rule in rules:
        exprs = rule_exprs(rule)
        outer = [n for e in exprs for n in outer_nodes(e)]
        modes = {"stream"}
        problems: list[str] = []
        is_segment = msg is not None and rule.record in msg.segments
        if is_segment or rule.per_sending:
            modes.add("final")
        if any(isinstance(n, ir.ZoneRef) and n.access == "final" for n in outer):
            modes.add("final")
        for agg in (n for e in exprs for n in walk(e) if isinstance(n, ir.Aggregate)):
            for part in agg.parts:
                for sub in (x for x in (part.value, part.where, part.key) if x is not None):
                    if any(isinstance(n, ir.ZoneRef) and n.access == "final" for n in walk(sub)):
                        problems.append("an aggregate cannot read records that come later")
            if msg is not None and not rule.per_sending:
                mode, problem = _complete_mode(rule, agg, msg)
                modes.add(mode)
                if problem:
                    diags.append(error("incomplete-aggregate", problem, agg.origin))
        adjacent = [
            n
            for n in outer
            if isinstance(n, ir.RecordKey)
            or (isinstance(n, ir.ZoneRef) and n.access in ("previous", "next", "prior"))
        ]
        mode = "final" if "final" in modes else "opener" if "opener" in modes else "stream"
        if "final" in modes and "opener" in modes:
            problems.append("a rule cannot both wait for its group and for the end of file")
        if mode != "stream" and adjacent:
            problems.append(
                "'previous'/'next' cannot be used in a rule evaluated "
                + ("at end of file" if mode == "final" else "when its group is complete")
            )
        if rule.per_sending and any(
            isinstance(n, ir.ZoneRef | ir.RecordText) and getattr(n, "access", "self") == "self"
            for n in outer
        ):
            problems.append("a rule 'per sending' is about the whole file, not one record's zones")
        for problem in problems:
            diags.append(error("bad-context", problem, rule.origin))
        phase = 1 if all(never_unknown(e) for e in exprs) else 2
        out.append(dataclasses.replace(rule, mode=mode, phase=phase))
    return out, diags


def _same_ref(a: ir.Expr, b: ir.ZoneRef) -> bool:
    return (
        isinstance(a, ir.ZoneRef)
        and a.access == b.access
        and a.record == b.record
        and a.zone == b.zone
    )


def check_fills(
    rules: list[ir.Rule], msg: ir.Message | None
) -> tuple[list[ir.Rule], list[Diagnostic]]:
    """A 'fills' target must be one side of the rule's top-level equality."""
    diags: list[Diagnostic] = []
    for rule in rules:
        if rule.fills is None:
            continue
        req = rule.require
        if not (
            isinstance(req, ir.Compare)
            and req.op == "="
            and (_same_ref(req.left, rule.fills) or _same_ref(req.right, rule.fills))
        ):
            diags.append(
                error(
                    "bad-fill",
                    f"rule {rule.code} fills {rule.fills.zone.name}, which is not one side of "
                    "its 'require … = …'",
                    rule.origin,
                )
            )
    return rules, diags


def check_reachable(
    rules: list[ir.Rule], msg: ir.Message | None
) -> tuple[list[ir.Rule], list[Diagnostic]]:
    """Rules on records outside the message, or with a constant-false condition, never run."""
    diags: list[Diagnostic] = []
    if msg is None:
        return rules, diags
    for rule in rules:
        if rule.record not in msg.order and rule.record not in msg.segments:
            diags.append(
                warning(
                    "unreachable-rule",
                    f"{rule.record} is not part of message {msg.name}, so rule {rule.code} never "
                    "runs",
                    rule.origin,
                )
            )
        elif isinstance(rule.when, ir.Const) and rule.when.value is False:
            diags.append(
                warning("unreachable-rule", f"rule {rule.code} has 'when false'", rule.origin)
            )
    return rules, diags


Pass = Callable[[list[ir.Rule], ir.Message | None], tuple[list[ir.Rule], list[Diagnostic]]]
PASSES: tuple[Pass, ...] = (classify, check_fills, check_reachable)


def run_passes(
    rules: list[ir.Rule], msg: ir.Message | None
) -> tuple[list[ir.Rule], list[Diagnostic]]:
    diags: list[Diagnostic] = []
    for step in PASSES:
        rules, found = step(rules, msg)
        diags.extend(found)
    return rules, diags
