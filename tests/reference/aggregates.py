"""Aggregates as the reference computes them: every contributing record of the sending read
one by one, then summed over the records the aggregate covers for the record asking."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from compiler import ir
from tests.reference.values import V

if TYPE_CHECKING:
    from tests.reference.interpreter import At, Interpreter


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one record contributes to an aggregate."""

    row: int
    value: int  # 0 unless counted
    unknown: bool  # its condition or value is unknown
    unexplained: bool
    key: int | None  # its key (None: not keyed, or unknown)
    key_unknown: bool
    key_unexplained: bool


def contributions(evaluate: Interpreter, e: ir.Aggregate, at: At) -> list[Contribution]:
    """Every record's contribution, its zones read with the findings of phase 1 (the
    aggregates are fed as the records stream)."""
    key = (id(e), at.gov)
    found = evaluate.s.contributions.get(key)
    if found is not None:
        return found
    found = []
    for j, lay in enumerate(evaluate.s.layouts):
        part = next((p for p in e.parts if lay is not None and p.record == lay.name), None)
        if part is None or lay is None:
            continue
        here = replace(
            at,
            layout=lay,
            row=j,
            segment=None,
            flags=evaluate.s.phase1_flags,
            seg_flags=frozenset(),
        )
        w = evaluate(part.where, here) if part.where is not None else V(True)
        v = evaluate(part.value, here) if part.value is not None else V(1)
        counted = w.true and not v.unknown
        unknown = w.unknown or (w.true and v.unknown)
        unexplained = (w.unknown and w.unexplained) or (w.true and v.unexplained)
        k = evaluate(part.key, here) if part.key is not None else None
        found.append(
            Contribution(
                row=j,
                value=int(v.data) if counted else 0,
                unknown=unknown,
                unexplained=unexplained,
                key=None if k is None or k.unknown else int(k.data),
                key_unknown=k is not None and k.unknown,
                key_unexplained=k is not None and k.unknown and k.unexplained,
            )
        )
    evaluate.s.contributions[key] = found
    return found


def aggregate(evaluate: Interpreter, e: ir.Aggregate, at: At) -> V:
    """An aggregate's value on a record: running over the sending or within the record's
    group occurrence, the whole occurrence for a rule on its opener, the sending's totals at
    its end; keyed, the contributions with the record's key (and every unknown key)."""
    found = contributions(evaluate, e, at)
    if e.this_key is not None:
        this = evaluate(e.this_key, at)
        if at.mode == "final":
            chosen = found
        else:
            assert at.row is not None
            chosen = [c for c in found if c.row <= at.row]
        total = totals(chosen, int(this.data))
        unknown = total.unknown or this.unknown
        unexplained = total.unexplained or (this.unknown and this.unexplained)
        return V(total.data, unknown, unexplained and unknown)
    if at.mode == "final":
        return totals(found)
    assert at.row is not None
    if e.scope == "sending":
        return totals([c for c in found if c.row <= at.row])
    starts = evaluate.s.starts[e.scope]
    start = starts[at.row]
    if start < 0:  # not in an occurrence of the group: the structure rules say why
        return V(0, True, False)
    last = at.row
    if at.mode == "opener":
        last = max(j for j, s in enumerate(starts) if s == start)
    return totals([c for c in found if start <= c.row <= last])


def totals(found: list[Contribution], key: int | None = None) -> V:
    """The sum of contributions (those with ``key``, plus the unknown keys' counts)."""
    value = unknown = unexplained = 0
    for c in found:
        if key is None or c.key == key:
            value += c.value
            unknown += c.unknown
            unexplained += c.unexplained
        if key is not None and c.key_unknown and (c.value != 0 or c.unknown):
            unknown += 1
            unexplained += c.key_unexplained
    return V(value, unknown > 0, unknown > 0 and unexplained > 0)
