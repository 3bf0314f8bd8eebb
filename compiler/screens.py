"""Checks the validator can screen together, recognised on the IR (no numpy here).

Input: a rule and its layout.
Output: ``CharCheck`` when the rule only asks every character of a span of its own record to be
in a set (``numeric(Z)``, ``zero(Z)``, ``blank(Z)``, ``only(Z, "…")``, ``not has_any(Z, "…")``,
``Z[1] in ("+", "-")``, ``Z[1] = "0"`` … on raw characters, no ``when``); ``AnchorCheck`` when it
only asks a zone of its own record to equal the same-length zone of its anchor record. The
validation plan (``compiler.plan``) lists them; ``validator.screen`` evaluates them together.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler import ir

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


def own_span(e: ir.Expr) -> tuple[int, int] | None:
    """(offset, length) in the record of characters read from the scope's own record."""
    if isinstance(e, ir.ZoneRef) and e.access == "self" and e.raw:
        return e.zone.offset, e.zone.length
    if isinstance(e, ir.RecordText):
        return e.offset, e.length
    if isinstance(e, ir.Slice):
        inner = own_span(e.operand)
        if inner is not None:
            return inner[0] + e.offset, e.length
    return None
