"""The validation plan printed (``rulebook plan``) and as JSON (``--format json``).

Input: a ``ValidationPlan`` (``compiler.plan``), optionally one record type.
Output: deterministic text, the form golden tests pin: rules by code, zone, period, what they
read beyond their own record and how they are screened; aggregates in prefix notation
(``compiler.dump``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler import ir
from compiler.dump import day, expr
from compiler.plan import (
    AggregatePlan,
    GroupPlan,
    RecordPlan,
    Step,
    ValidationPlan,
)
from compiler.screens import AnchorCheck, CharCheck, runs_of


def rules(n: int) -> str:
    return f"{n} rule" if n == 1 else f"{n} rules"


def characters(allowed: frozenset[int]) -> str:
    """A set of character codes in a few words: ``0-9``, ``' '``, ``'+' '-'``."""
    if not allowed:
        return "nothing"
    if len(allowed) > 128:
        return "anything but " + characters(frozenset(range(256)) - allowed)
    out = []
    for first, count in runs_of(allowed):
        a, b = chr(first), chr(first + count - 1)
        out.append(repr(a) if count == 1 else f"{a}-{b}" if a.isalnum() else f"{a!r}-{b!r}")
    return " ".join(out)


def screen_text(check: CharCheck | AnchorCheck | None) -> str:
    if isinstance(check, CharCheck):
        return f"screened: {check.offset + 1}..{check.end} in {characters(check.allowed)}"
    if isinstance(check, AnchorCheck):
        at = check.anchor_offset + 1
        return (
            f"screened: {check.offset + 1}..{check.offset + check.length} = {check.anchor} {at}.."
        )
    return ""


def period(step: Step) -> str:
    if step.start <= ir.FIRST_DATE and step.end >= ir.LAST_DATE:
        return ""
    return f"{day(step.start)}..{day(step.end)}"


def step_line(step: Step) -> str:
    parts = [f"{step.code:<9}", f"z {step.zone:<6}"]
    if period(step):
        parts.append(period(step))
    if step.reads:
        parts.append("reads " + ", ".join(step.reads))
    if step.screen is not None:
        parts.append(screen_text(step.screen))
    return "    " + " ".join(parts).rstrip()


def aggregate_lines(a: AggregatePlan) -> list[str]:
    node = a.node
    lines = [f"  A{a.index + 1:<3} {node.func} {a.how} (source S{a.source + 1})"]
    for p in node.parts:
        bits = [p.record]
        if p.value is not None:
            bits.append(f"value={expr(p.value)}")
        if p.where is not None:
            bits.append(f"where={expr(p.where)}")
        if p.key is not None:
            bits.append(f"key={expr(p.key)}")
        lines.append("       " + " ".join(bits))
    return lines


@dataclass(frozen=True, slots=True)
class Selection:
    """What of a plan concerns one record type (or everything)."""

    records: tuple[RecordPlan, ...]
    groups: tuple[tuple[GroupPlan, tuple[Step, ...]], ...]  # with their steps on the record
    final: tuple[Step, ...]
    aggregates: tuple[AggregatePlan, ...]
    dates: tuple[tuple[str, str, ir.Expr], ...]


def select(plan: ValidationPlan, record: str | None) -> Selection:
    """The record type's rules, its groups' rules on it, the end-of-sending rules on it, the
    aggregates it feeds or its rules read, its dates; everything when ``record`` is None."""
    records = tuple(r for r in plan.records if record is None or r.name == record)
    groups = tuple(
        (g, tuple(s for s in g.complete if record is None or s.record == record))
        for g in plan.groups
        if record is None or record in g.members
    )
    final = tuple(s for s in plan.final if record is None or s.record == record)
    wanted: set[int] = set()
    for r in records:
        wanted.update(r.contributes)
        wanted.update(_aggregates_read([*r.phase1, *r.phase2]))
    for _, steps in groups:
        wanted.update(_aggregates_read(steps))
    wanted.update(_aggregates_read(final))
    aggregates = tuple(a for a in plan.aggregates if record is None or a.index in wanted)
    dates = tuple(d for d in plan.dates if record is None or d[1] == record)
    return Selection(records, groups, final, aggregates, dates)


def text(plan: ValidationPlan, codes: list[str], record: str | None = None) -> str:
    """The plan as text; ``codes[i]``: the code of rule ``i`` (aggregate readers);
    ``record``: only what concerns that record type (``select``)."""
    lines = [
        f"validation plan of message {plan.message}, rulebook {plan.version} ({plan.hash})",
        f"default governing date: {plan.default_date}",
    ]
    chosen = select(plan, record)
    if record is None:
        lines += ["", f"segments, before the records (phase 1): {rules(len(plan.segments))}"]
        lines += [step_line(s) for s in plan.segments]
    for r in chosen.records:
        kept = [
            words
            for words, on in (
                ("carried from block to block", r.carried),
                ("kept to the end", r.retained),
            )
            if on
        ]
        lines += ["", f"record {r.name}" + (f" ({'; '.join(kept)})" if kept else "")]
        screened = sum(s.screen is not None for s in r.phase1)
        lines.append(
            f"  phase 1, never unknown (evaluated first): {rules(len(r.phase1))}, "
            f"{screened} screened together"
        )
        lines += [step_line(s) for s in r.phase1]
        own = sum(s.own for s in r.phase2)
        lines.append(
            f"  phase 2, values: {rules(len(r.phase2))} ({own} on its own record, "
            f"{len(r.phase2) - own} reading others)"
        )
        lines += [step_line(s) for s in r.phase2]
        if r.contributes:
            lines.append("  contributes to " + " ".join(f"A{k + 1}" for k in r.contributes))
    for g, steps in chosen.groups:
        lines += ["", f"group {g.name}: {g.opener} .. {g.closer or '-'} ({' '.join(g.members)})"]
        if g.complete:
            lines.append(
                f"  once an occurrence is complete, on its {g.opener}: {rules(len(g.complete))}"
            )
            lines += [step_line(s) for s in steps]
    if chosen.final:
        lines += ["", f"end of the sending, in this order: {rules(len(chosen.final))}"]
        lines += [step_line(s) for s in chosen.final]
    if chosen.aggregates:
        sources = len({a.source for a in plan.aggregates})
        lines += [
            "",
            f"aggregates: {len(plan.aggregates)} computed once each for "
            f"{sum(len(a.readers) for a in plan.aggregates)} rules, from {sources} sources",
        ]
        for a in chosen.aggregates:
            lines += aggregate_lines(a)
            lines.append("       read by " + " ".join(dict.fromkeys(codes[i] for i in a.readers)))
    if chosen.dates:
        lines += ["", "dates"]
        lines += [f"  {n} on {lay}: {expr(e)}" for n, lay, e in chosen.dates]
    return "\n".join(lines) + "\n"


def _aggregates_read(steps: list[Step] | tuple[Step, ...]) -> set[int]:
    return {k for s in steps for k in s.aggregates}


def step_json(s: Step) -> dict[str, Any]:
    screen: dict[str, Any] | None = None
    if isinstance(s.screen, CharCheck):
        screen = {
            "kind": "characters",
            "start": s.screen.offset + 1,
            "end": s.screen.end,
            "allowed": characters(s.screen.allowed),
        }
    elif isinstance(s.screen, AnchorCheck):
        screen = {
            "kind": "anchor",
            "start": s.screen.offset + 1,
            "end": s.screen.offset + s.screen.length,
            "anchor": s.screen.anchor,
            "anchor_start": s.screen.anchor_offset + 1,
        }
    return {
        "code": s.code,
        "record": s.record,
        "zone": s.zone,
        "valid_from": ir.iso_day(s.start),
        "valid_until": ir.iso_day(s.end),
        "phase": s.phase,
        "own_record": s.own,
        "reads": list(s.reads),
        "screen": screen,
    }


def as_json(plan: ValidationPlan, codes: list[str], record: str | None = None) -> dict[str, Any]:
    """The plan as JSON: the same content as ``text``, for the same ``record``."""
    chosen = select(plan, record)
    return {
        "message": plan.message,
        "rulebook": {"version": plan.version, "hash": plan.hash},
        "default_date": plan.default_date,
        "segments": [step_json(s) for s in plan.segments] if record is None else [],
        "records": [
            {
                "record": r.name,
                "carried": r.carried,
                "kept_to_end": r.retained,
                "phase1": [step_json(s) for s in r.phase1],
                "phase2": [step_json(s) for s in r.phase2],
                "contributes": [f"A{k + 1}" for k in r.contributes],
            }
            for r in chosen.records
        ],
        "groups": [
            {
                "group": g.name,
                "opener": g.opener,
                "closer": g.closer,
                "members": list(g.members),
                "when_complete": [step_json(s) for s in steps],
            }
            for g, steps in chosen.groups
        ],
        "end_of_sending": [step_json(s) for s in chosen.final],
        "aggregates": [
            {
                "id": f"A{a.index + 1}",
                "func": a.node.func,
                "how": a.how,
                "source": f"S{a.source + 1}",
                "notation": expr(a.node),
                "read_by": list(dict.fromkeys(codes[i] for i in a.readers)),
            }
            for a in chosen.aggregates
        ],
        "dates": [{"date": n, "record": lay, "notation": expr(e)} for n, lay, e in chosen.dates],
    }
