"""IR expressions evaluated on one record of a whole sending held in memory.

Input: a ``Sending`` (every record's characters, types and groups, the segments, the flags
of the findings so far) and a place (``At``: a record, a segment or the sending).
Output: a ``V`` per expression. Nothing is cached but the aggregates' contributions; every
reference is followed as the language defines it: ``previous`` / ``next`` the adjacent record
(missing when absent or without that zone), ``anchor`` the last record of a type at or before
this one, ``prior`` strictly before, ``final`` the last of the sending, ``segment`` the
segment's zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compiler import Compiled, ir
from tests.reference.aggregates import Contribution, aggregate
from tests.reference.values import (
    Data,
    V,
    from_val,
    kleene_and,
    kleene_not,
    kleene_or,
    lift,
    to_val,
)
from validator.evaluate import version_value
from validator.functions import FUNCTIONS
from validator.values import Val

NONE = -1  # the record type of no record
BAD_TYPE = -2  # a record type that is not digits


@dataclass(frozen=True, slots=True)
class At:
    """Where an expression is evaluated: a record (``row``), a segment, or the sending (both
    None); the rule's mode and governing date; the findings visible (zones flagged)."""

    layout: ir.Layout
    row: int | None
    segment: str | None
    gov: str
    mode: str
    flags: frozenset[tuple[int, str]]
    seg_flags: frozenset[tuple[str, str]]


@dataclass(slots=True)
class Sending:
    """A sending as the reference sees it: everything at once."""

    compiled: Compiled
    rows: list[bytes]
    ordinals: list[int]
    segments: dict[str, bytes]
    today: int
    as_of: int | None
    layouts: list[ir.Layout | None] = field(default_factory=list)
    types: list[int] = field(default_factory=list)
    starts: dict[str, list[int]] = field(default_factory=dict)  # group -> its opener row
    invoices: list[int] = field(default_factory=list)
    contributions: dict[tuple[int, str], list[Contribution]] = field(default_factory=dict)
    phase1_flags: frozenset[tuple[int, str]] = frozenset()

    def __post_init__(self) -> None:
        msg = self.compiled.message
        by_key = {
            int(lay.key): lay
            for name in msg.records
            if (lay := self.compiled.layouts[name]).key and lay.key.isdigit()
        }
        for row in self.rows:
            key = row[: msg.key_length]
            number = int(key) if all(48 <= c <= 57 for c in key) else BAD_TYPE
            self.types.append(number)
            self.layouts.append(by_key.get(number))
        for group in msg.groups.values():
            self.starts[group.name] = self.group_starts(group)
        invoice = msg.groups.get("invoice")
        numbers: dict[int, int] = {}
        for i, held in enumerate(self.layouts):
            if invoice is not None and held is not None and held.name == invoice.opener:
                numbers[i] = len(numbers) + 1
        starts = self.starts.get("invoice", [-1] * len(self.rows))
        self.invoices = [numbers.get(s, 0) for s in starts]

    def group_starts(self, group: ir.Group) -> list[int]:
        """Each record's group occurrence, as the row of its opener (-1: none): an occurrence
        starts at an opener and ends before a record that is not a member or after a closer."""
        out = []
        current = -1
        for i, lay in enumerate(self.layouts):
            if lay is None or lay.name not in group.members:
                current = -1
                out.append(-1)
                continue
            if lay.name == group.opener:
                current = i
            out.append(current)
            if lay.name == group.closer:
                current = -1
        return out

    def name_of(self, row: int) -> str | None:
        lay = self.layouts[row]
        return None if lay is None else lay.name

    def source(self, at: At, access: str, record: str | None) -> int | None:
        """The row a reference reads (None: there is none)."""
        n = len(self.rows)
        if access == "previous":
            return None if at.row is None or at.row == 0 else at.row - 1
        if access == "next":
            return None if at.row is None or at.row + 1 >= n else at.row + 1
        rows = [j for j in range(n) if self.name_of(j) == record]
        if access == "final" or at.row is None:
            return rows[-1] if rows else None
        if access == "anchor":
            before = [j for j in rows if j <= at.row]
        else:  # prior
            before = [j for j in rows if j < at.row]
        return before[-1] if before else None


def parse(text: bytes, zone: ir.Zone, raw: bool) -> tuple[Data, bool]:
    """A zone's value and whether its characters do not fit its format."""
    if raw or zone.kind == "A":
        return text, False
    if zone.kind == "S":
        digits = all(48 <= c <= 57 for c in text[1:])
        ok = text[:1] in (b"+", b"-") and digits
        value = int(text[1:]) if ok else 0
        return (-value if text[:1] == b"-" else value), not ok
    digits = all(48 <= c <= 57 for c in text)
    return (int(text) if digits else 0), not digits


def same_text(a: bytes, b: bytes) -> bool:
    if len(a) != len(b) and 1 in (len(a), len(b)):
        return all(x == y for x in a for y in b)  # one character against every character
    return a == b


class Interpreter:
    """Evaluates expressions on a ``Sending``."""

    def __init__(self, sending: Sending) -> None:
        self.s = sending
        self.compiled = sending.compiled

    def __call__(self, e: ir.Expr, at: At) -> V:
        method = getattr(self, type(e).__name__)
        result: V = method(e, at)
        return result

    # ------------------------------------------------------------------ dates

    def governing(self, name: str, at: At) -> int:
        """The record's governing date ``name`` (the reference date where it cannot be read)."""
        s = self.s
        if s.as_of is not None:
            return s.as_of
        expr = self.compiled.date_exprs.get((name, at.layout.name))
        if expr is None or at.row is None:
            return s.today
        v = self(
            expr,
            At(
                at.layout, at.row, None, self.compiled.default_date, at.mode, at.flags, at.seg_flags
            ),
        )
        d = v.data if isinstance(v.data, int) else 0
        month, day = d // 100 % 100, d % 100
        if (
            v.unknown
            or not (10000101 <= d <= 99991231)
            or not (1 <= month <= 12)
            or not (1 <= day <= 31)
        ):
            return s.today
        return d

    def in_force(self, start: int, end: int, at: At) -> bool:
        if start <= ir.FIRST_DATE and end >= ir.LAST_DATE:
            return True
        return start <= self.governing(at.gov, at) <= end

    # ------------------------------------------------------------------ leaves

    def Const(self, e: ir.Const, at: At) -> V:
        return V(e.value)

    def Today(self, e: ir.Today, at: At) -> V:
        return V(self.s.today)

    def ParamRef(self, e: ir.ParamRef, at: At) -> V:
        param = self.compiled.params[e.name]
        width = param.ty.width if param.ty.kind == "text" else None
        date = self.governing(at.gov, at)
        return V(version_value(param.versions, date, width))  # type: ignore[arg-type]

    def DateRef(self, e: ir.DateRef, at: At) -> V:
        expr = self.compiled.date_exprs.get((e.name, at.layout.name))
        if expr is None:
            return V(0, True, False)
        return self(expr, at)

    def CharmapRef(self, e: ir.CharmapRef, at: At) -> V:
        raise AssertionError("a character map is only an argument of charsum")

    def ZoneRef(self, e: ir.ZoneRef, at: At) -> V:
        zone = e.zone
        s = self.s
        missing = flagged = False
        if e.access == "segment" or (e.access == "self" and at.segment is not None):
            name = e.record if e.access == "segment" else at.segment
            raw = s.segments.get(name or "")
            if raw is None:
                text, missing = b"0" * zone.length, True
            else:
                text = raw[zone.offset : zone.end]
                flagged = (name or "", zone.name) in at.seg_flags
        elif e.access == "self":
            assert at.row is not None
            text = s.rows[at.row][zone.offset : zone.end]
            flagged = (at.row, zone.name) in at.flags
        else:
            src = s.source(at, e.access, e.record)
            if src is not None and e.access in ("previous", "next"):
                lay = s.layouts[src]
                held = lay.by_name.get(zone.name) if lay is not None else None
                if held is None or held.offset != zone.offset:
                    src = None  # the adjacent record has no such zone
            if src is None:
                text, missing = b"0" * zone.length, True
            else:
                text = s.rows[src][zone.offset : zone.end]
                flagged = (src, zone.name) in at.flags
        value, invalid = parse(text, zone, e.raw)
        return V(value, missing or invalid, invalid and not missing and not flagged, flagged)

    def RecordKey(self, e: ir.RecordKey, at: At) -> V:
        src = self.s.source(at, e.access, None)
        return V(NONE if src is None else self.s.types[src])

    def RecordText(self, e: ir.RecordText, at: At) -> V:
        assert at.row is not None
        return V(self.s.rows[at.row][e.offset : e.offset + e.length])

    # ------------------------------------------------------------------ operators

    def Slice(self, e: ir.Slice, at: At) -> V:
        v = self(e.operand, at)
        assert isinstance(v.data, bytes)
        return V(v.data[e.offset : e.offset + e.length], v.unknown, v.unexplained, v.flagged)

    def Unary(self, e: ir.Unary, at: At) -> V:
        v = self(e.operand, at)
        if e.op == "not":
            return kleene_not(v)
        return lift(-int(v.data), v)

    def Arith(self, e: ir.Arith, at: At) -> V:
        a, b = self(e.left, at), self(e.right, at)
        x, y = int(a.data), int(b.data)
        if e.op == "+":
            return lift(x + y, a, b)
        if e.op == "-":
            return lift(x - y, a, b)
        if e.op == "*":
            return lift(x * y, a, b)
        if y == 0:  # division by zero: unknown, and nothing explains it
            return V(0, True, True)
        return lift(x // y if e.op == "div" else x % y, a, b)

    def Compare(self, e: ir.Compare, at: At) -> V:
        a, b = self(e.left, at), self(e.right, at)
        if isinstance(a.data, bytes) and isinstance(b.data, bytes):
            equal = same_text(a.data, b.data)
            return lift(equal if e.op == "=" else not equal, a, b)
        x, y = a.data, b.data
        result = {
            "=": x == y,
            "!=": x != y,
            "<": x < y,  # type: ignore[operator]
            "<=": x <= y,  # type: ignore[operator]
            ">": x > y,  # type: ignore[operator]
            ">=": x >= y,  # type: ignore[operator]
        }[e.op]
        return lift(bool(result), a, b)

    def Logic(self, e: ir.Logic, at: At) -> V:
        a, b = self(e.left, at), self(e.right, at)
        return kleene_and(a, b) if e.op == "and" else kleene_or(a, b)

    def If(self, e: ir.If, at: At) -> V:
        c = self(e.cond, at)
        chosen = self(e.then if c.true else e.other, at)  # an unknown condition: else branch
        unknown = c.unknown or chosen.unknown
        unexplained = (c.unknown and c.unexplained) or chosen.unexplained
        return V(chosen.data, unknown, unexplained and unknown)

    def InSet(self, e: ir.InSet, at: At) -> V:
        v = self(e.operand, at)
        if isinstance(v.data, bytes):
            hit = any(isinstance(t, bytes) and same_text(v.data, t) for t in e.values)
        else:
            hit = any(isinstance(t, int) and t == v.data for t in e.values)
        return lift(hit != e.negated, v)

    def InTable(self, e: ir.InTable, at: At) -> V:
        v = self(e.operand, at)
        table = self.compiled.tables[e.table]
        hit = False
        for version in table.versions:
            if not self.in_force(version.start, version.end, at):
                continue
            values = version.value
            assert isinstance(values, frozenset)
            if isinstance(v.data, bytes):
                width = len(v.data)
                hit |= any(bytes(t).ljust(width, b" ") == v.data for t in values)
            else:
                hit |= v.data in values
        return lift(hit != e.negated, v)

    def Call(self, e: ir.Call, at: At) -> V:
        args = []
        for a in e.args:
            if isinstance(a, ir.CharmapRef):
                values = self.compiled.charmaps[a.name].values
                args.append(Val(np.asarray(values, dtype=np.int64)))
            else:
                args.append(to_val(self(a, at)))
        return from_val(FUNCTIONS[e.func](*args))

    def Aggregate(self, e: ir.Aggregate, at: At) -> V:
        return aggregate(self, e, at)
