"""Character checks screened together: the rules that only ask every character of a span of
their own record to be in a set.

Input: the rules of one record type and phase (``RulePlan``), each with its ``CharCheck`` if
it is one: ``numeric(Z)``, ``zero(Z)``, ``blank(Z)``, ``only(Z, "…")``, ``not has_any(Z,
"…")``, ``Z[1] in ("+", "-")``, ``Z[1] = "0"`` … on raw characters of the record, with no
``when``.
Output: the rules worth evaluating on a scope. Each such rule costs microseconds of overhead
for nanoseconds of work; screened together, the smallest and largest character of each
column over all the records tell at once which checks cannot be violated (every column's
range within one run of allowed characters). Only the others go through their own closure
and the report. A raw character is never unknown, so a screened rule has nothing to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from compiler import ir
from validator.evaluate import Scope, own_span
from validator.values import Ints

if TYPE_CHECKING:
    from validator.plan import RulePlan

Runs = tuple[tuple[int, int], ...]  # allowed characters as runs of codes: (first, count)

DIGITS = frozenset(range(48, 58))
ALL = frozenset(range(256))
FUNCTION_SETS = {"numeric": DIGITS, "zero": frozenset({48}), "blank": frozenset({32})}


@dataclass(frozen=True, slots=True)
class CharCheck:
    """A rule that requires every character of ``offset .. offset + length`` of its own
    record to be one of ``allowed``."""

    offset: int
    length: int
    allowed: frozenset[int]

    @property
    def end(self) -> int:
        return self.offset + self.length


def runs_of(codes: frozenset[int]) -> Runs:
    """The codes as runs of consecutive codes, e.g. the digits as ((48, 10),)."""
    runs: list[tuple[int, int]] = []
    for code in sorted(codes):
        if runs and runs[-1][0] + runs[-1][1] == code:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((code, 1))
    return tuple(runs)


def char_check(rule: ir.Rule, layout: ir.Layout) -> CharCheck | None:
    """The rule as a ``CharCheck``, or None if it is not one."""
    if rule.when is not None or layout.kind != "record":
        return None
    e, negated = rule.require, False
    if isinstance(e, ir.Unary) and e.op == "not":
        e, negated = e.operand, True
    found: tuple[tuple[int, int] | None, frozenset[int]] | None = None
    if isinstance(e, ir.Call) and e.args:
        span = _own(e.args[0], layout)
        if e.func in FUNCTION_SETS and len(e.args) == 1 and not negated:
            found = span, FUNCTION_SETS[e.func]
        elif e.func in ("only", "has_any") and len(e.args) == 2:
            chars = _text(e.args[1])
            if chars is not None and negated == (e.func == "has_any"):
                found = span, chars if e.func == "only" else ALL - chars  # not has_any
    elif isinstance(e, ir.InSet) and not negated:
        chars = _single_characters(e.values)
        if chars is not None:
            found = _own(e.operand, layout, width=1), ALL - chars if e.negated else chars
    elif isinstance(e, ir.Compare) and e.op in ("=", "!=") and not negated:
        for side, other in ((e.left, e.right), (e.right, e.left)):
            chars = _text(other)
            if chars is not None and isinstance(other, ir.Const) and len(other.value) == 1:  # type: ignore[arg-type]
                found = _own(side, layout, width=1), ALL - chars if e.op == "!=" else chars
                break
    if found is None:
        return None
    span, allowed = found
    return None if span is None else CharCheck(span[0], span[1], allowed)


def _own(e: ir.Expr, layout: ir.Layout, width: int | None = None) -> tuple[int, int] | None:
    """The span of raw characters of the rule's own record ``e`` reads (of ``width``)."""
    inner = e
    while isinstance(inner, ir.Slice):
        inner = inner.operand
    if isinstance(inner, ir.ZoneRef) and inner.zone.layout != layout.name:
        return None
    span = own_span(e)
    if span is None or span[1] == 0 or (width is not None and span[1] != width):
        return None
    return span


def _text(e: ir.Expr) -> frozenset[int] | None:
    if isinstance(e, ir.Const) and isinstance(e.value, bytes) and e.value:
        return frozenset(e.value)
    return None


def _single_characters(values: tuple[int | bytes, ...]) -> frozenset[int] | None:
    if values and all(isinstance(v, bytes) and len(v) == 1 for v in values):
        return frozenset(v[0] for v in values)  # type: ignore[index]
    return None


@dataclass(frozen=True, slots=True)
class CheckGroup:
    """The checks of one allowed set: their rules' positions, the columns of each (indexes in
    ``ZoneScreen.columns``, one check after the other) and where each check starts."""

    positions: Ints
    entries: Ints
    bounds: Ints
    runs: Runs


@dataclass(frozen=True, slots=True)
class ZoneScreen:
    """The character checks among one record type's rules of one phase (see the module)."""

    columns: Ints  # the character positions the checks read, each once
    groups: tuple[CheckGroup, ...]

    def keep(self, scope: Scope, plans: list[RulePlan]) -> list[RulePlan]:
        """The rules of ``plans`` to evaluate one by one on ``scope``."""
        if scope.is_segment or scope.n == 0:
            return plans
        text = scope.cols[self.columns]
        low = np.minimum.reduce(text, axis=1).astype(np.int16)  # per column, over the records
        high = np.maximum.reduce(text, axis=1).astype(np.int16)
        quiet = np.zeros(len(plans), dtype=np.bool_)
        for group in self.groups:
            lo, hi = low[group.entries], high[group.entries]
            fits = np.zeros(lo.shape, dtype=np.bool_)
            for first, count in group.runs:  # the column's range within one run
                fits |= (lo >= first) & (hi < first + count)
            quiet[group.positions] = np.logical_and.reduceat(fits, group.bounds)
        return [rp for rp, q in zip(plans, quiet.tolist(), strict=True) if not q]


def zone_screen(plans: list[RulePlan]) -> ZoneScreen | None:
    checks = [(i, rp.check) for i, rp in enumerate(plans) if rp.check is not None]
    if not checks:
        return None
    columns = sorted({c for _, check in checks for c in range(check.offset, check.end)})
    column_at = {c: k for k, c in enumerate(columns)}
    by_set: dict[frozenset[int], list[tuple[int, CharCheck]]] = {}
    for i, check in checks:
        by_set.setdefault(check.allowed, []).append((i, check))
    groups = []
    for allowed, members in by_set.items():
        entries: list[int] = []
        bounds: list[int] = []
        for _, check in members:
            bounds.append(len(entries))
            entries.extend(column_at[c] for c in range(check.offset, check.end))
        groups.append(
            CheckGroup(
                positions=np.array([i for i, _ in members], dtype=np.intp),
                entries=np.array(entries, dtype=np.intp),
                bounds=np.array(bounds, dtype=np.intp),
                runs=runs_of(allowed),
            )
        )
    return ZoneScreen(columns=np.array(columns, dtype=np.intp), groups=tuple(groups))
