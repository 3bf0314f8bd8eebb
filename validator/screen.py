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

Likewise the rules that only ask a zone of their own record to equal the same-length zone of
their anchor record (``self.Z = anchor ET20.Z``, both digits or both text, no ``when``):
where every record's characters equal its anchor's, all digits where the zones are numeric,
and every record has its anchor, the values are known and equal. The anchor's characters are
read once per record type and anchor type for all such rules, from the rows the rules read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from compiler import ir
from validator.evaluate import Scope, batch_sources, chunk_sources, own_span
from validator.values import Bool, Ints, some

if TYPE_CHECKING:
    from validator.plan import RulePlan

Runs = tuple[tuple[int, int], ...]  # allowed characters as runs of codes: (first, count)

DIGITS = frozenset(range(48, 58))
ALL = frozenset(range(256))
FUNCTION_SETS = {
    "numeric": DIGITS,
    "zero": frozenset({48}),
    "blank": frozenset({32}),
    "empty": frozenset({32, 48}),
}


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


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    """A rule that requires ``offset .. offset + length`` of its own record to equal the
    same-length zone at ``anchor_offset`` of its ``anchor`` record: digits on both sides
    (``digits``, zones N or D) or text on both."""

    offset: int
    length: int
    anchor: str
    anchor_offset: int
    digits: bool


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


DIGIT_KINDS = frozenset({"N", "D"})  # zones whose value is their digits


def anchor_check(rule: ir.Rule, layout: ir.Layout) -> AnchorCheck | None:
    """The rule as an ``AnchorCheck``, or None if it is not one."""
    e = rule.require
    if rule.when is not None or layout.kind != "record":
        return None
    if not isinstance(e, ir.Compare) or e.op != "=":
        return None
    for own, other in ((e.left, e.right), (e.right, e.left)):
        if not (isinstance(own, ir.ZoneRef) and isinstance(other, ir.ZoneRef)):
            return None
        if own.access != "self" or own.zone.layout != layout.name:
            continue
        if other.access != "anchor" or other.record is None or own.raw != other.raw:
            continue
        mine, theirs = own.zone, other.zone
        if mine.length != theirs.length:
            continue
        digits = not own.raw and mine.kind in DIGIT_KINDS and theirs.kind in DIGIT_KINDS
        text = own.raw or (mine.kind == "A" and theirs.kind == "A")
        if digits or text:
            return AnchorCheck(mine.offset, mine.length, other.record, theirs.offset, digits)
    return None


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
class AnchorScreen:
    """The anchor checks among one record type's rules of one phase against one anchor
    record type, flattened: each check is its columns one after the other."""

    anchor: str
    positions: Ints  # each check's position in the rule list
    check_starts: Ints  # where each check's columns start among the columns
    own: Ints  # each column's character position in the own record
    theirs: Ints  # and in the anchor record
    digits: Bool  # per column: its character must be a digit

    def quiet(self, scope: Scope) -> Bool | None:
        """Per check, whether it holds on every record of ``scope`` (None: not told)."""
        if scope.parts is None:
            found = chunk_sources(scope, "anchor", self.anchor)
        elif scope.batch is not None:
            found = batch_sources(scope, "anchor", self.anchor)
        else:
            return None
        if found is None:
            return None
        target, positions, missing = found
        if some(missing):  # a record without its anchor: evaluated
            return None
        theirs = target.cols[self.theirs].take(positions, axis=1)
        mine = scope.cols[self.own]
        same = mine == theirs
        if self.digits.any():
            same[self.digits] &= mine[self.digits] - np.uint8(48) < 10  # others wrap
        return np.logical_and.reduceat(np.logical_and.reduce(same, axis=1), self.check_starts)


@dataclass(frozen=True, slots=True)
class ZoneScreen:
    """The character checks among one record type's rules of one phase (see the module),
    flattened: each check is its columns one after the other, each column its allowed runs
    (``pair_*``: one entry per column and run); and its anchor checks, per anchor type."""

    positions: Ints  # each check's position in the rule list
    check_starts: Ints  # where each check's columns start among the columns
    column_starts: Ints  # where each column's runs start among the pairs
    pair_column: Ints  # the character position of each pair
    pair_first: Ints  # the first code of its run
    pair_end: Ints  # one past its last code
    anchors: tuple[AnchorScreen, ...] = ()

    def keep(self, scope: Scope, plans: list[RulePlan]) -> list[RulePlan]:
        """The rules of ``plans`` to evaluate one by one on ``scope``."""
        if scope.is_segment or scope.n == 0:
            return plans
        quiet = np.zeros(len(plans), dtype=np.bool_)
        if self.positions.size:
            cols = scope.cols  # per character position, its smallest and largest character
            low = np.minimum.reduce(cols, axis=1).astype(np.int16)[self.pair_column]
            high = np.maximum.reduce(cols, axis=1).astype(np.int16)[self.pair_column]
            fits = (low >= self.pair_first) & (high < self.pair_end)  # the range within the run
            column_ok = np.logical_or.reduceat(fits, self.column_starts)
            quiet[self.positions] = np.logical_and.reduceat(column_ok, self.check_starts)
        for anchored in self.anchors:
            holds = anchored.quiet(scope)
            if holds is not None:
                quiet[anchored.positions] = holds
        return [rp for rp, q in zip(plans, quiet.tolist(), strict=True) if not q]


def ints(values: list[int], dtype: type = np.intp) -> Ints:
    return np.array(values, dtype=dtype)


def zone_screen(plans: list[RulePlan]) -> ZoneScreen | None:
    checks = [(i, rp.check) for i, rp in enumerate(plans) if isinstance(rp.check, CharCheck)]
    anchored = [(i, rp.check) for i, rp in enumerate(plans) if isinstance(rp.check, AnchorCheck)]
    if not checks and not anchored:
        return None
    check_starts: list[int] = []
    column_starts: list[int] = []
    pairs: list[tuple[int, int, int]] = []
    for _, check in checks:
        check_starts.append(len(column_starts))
        runs = runs_of(check.allowed) or ((0, 0),)  # nothing allowed: an empty run
        for column in range(check.offset, check.end):
            column_starts.append(len(pairs))
            pairs.extend((column, first, first + count) for first, count in runs)
    return ZoneScreen(
        positions=ints([i for i, _ in checks]),
        check_starts=ints(check_starts),
        column_starts=ints(column_starts),
        pair_column=ints([c for c, _, _ in pairs]),
        pair_first=ints([f for _, f, _ in pairs], np.int16),
        pair_end=ints([e for _, _, e in pairs], np.int16),
        anchors=tuple(
            anchor_screen(record, [(i, a) for i, a in anchored if a.anchor == record])
            for record in sorted({a.anchor for _, a in anchored})
        ),
    )


def anchor_screen(record: str, checks: list[tuple[int, AnchorCheck]]) -> AnchorScreen:
    starts: list[int] = []
    own: list[int] = []
    theirs: list[int] = []
    digits: list[bool] = []
    for _, a in checks:
        starts.append(len(own))
        own.extend(range(a.offset, a.offset + a.length))
        theirs.extend(range(a.anchor_offset, a.anchor_offset + a.length))
        digits.extend([a.digits] * a.length)
    return AnchorScreen(
        anchor=record,
        positions=ints([i for i, _ in checks]),
        check_starts=ints(starts),
        own=ints(own),
        theirs=ints(theirs),
        digits=np.array(digits, dtype=np.bool_),
    )
