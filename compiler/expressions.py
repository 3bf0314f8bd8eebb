"""Lowering of rule expressions: AST expressions -> typed IR expressions.

Input: an AST expression and the context it is written in (the rule's record, or one source
record of an aggregate), plus the resolved layouts, message structure and data declarations.
Output: an IR expression with every name resolved and every node typed, or diagnostics
(unknown names with "did you mean", type mismatches, forward references, bad slices …).

Zone references are lowered to their value first; they become their raw characters where the
context asks for text (library functions on characters, slices, equality of two zones of the
same width — which is how the instructions' "contenu différent" links compare).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from compiler import ir
from compiler.library import FUNCTIONS
from rulebook import syntax as s
from rulebook.diagnostics import Diagnostic, did_you_mean, error
from rulebook.spans import Span

MAX_INT_DIGITS = 18


class LowerError(Exception):
    """Internal: aborts the lowering of one expression (the diagnostic is already recorded)."""


@dataclass(frozen=True, slots=True)
class Ctx:
    """Where an expression is written: the record whose zones bare names denote."""

    record: str  # layout name: the rule's record, or the aggregate source record
    rule_record: str  # the record of the rule (what 'this' denotes)
    in_aggregate: bool = False


def date_int(value: dt.date) -> int:
    return value.year * 10000 + value.month * 100 + value.day


def is_rawable(e: ir.Expr) -> bool:
    return isinstance(e, ir.ZoneRef | ir.Slice | ir.RecordText) or (
        isinstance(e, ir.Const) and e.ty.kind == "text"
    )


def as_raw(e: ir.Expr) -> ir.Expr:
    """The characters of a zone reference (other raw-able expressions are already text)."""
    if isinstance(e, ir.ZoneRef) and not e.raw:
        return replace(e, raw=True, ty=ir.text(e.zone.length))
    return e


class ExprLowerer:
    """Resolves and types expressions against the compiled layouts and declarations."""

    def __init__(
        self,
        layouts: dict[str, ir.Layout],
        message: ir.Message | None,
        tables: dict[str, ir.Table],
        params: dict[str, ir.Param],
        charmaps: dict[str, ir.Charmap],
        dates: set[str],
        diags: list[Diagnostic],
        answer_only: frozenset[str] = frozenset(),
    ) -> None:
        self.layouts = layouts
        self.answer_only = answer_only  # records only answer messages carry (ET91, ET92)
        self.message = message
        self.tables = tables
        self.params = params
        self.charmaps = charmaps
        self.dates = dates
        self.diags = diags

    # ------------------------------------------------------------------ errors

    def fail(self, code: str, message: str, span: Span, hint: str | None = None) -> LowerError:
        self.diags.append(error(code, message, span, hint))
        return LowerError()

    def lower(self, e: s.Expr, ctx: Ctx) -> ir.Expr | None:
        """Lower one expression; None if it had errors (already recorded)."""
        try:
            return self.expr(e, ctx)
        except LowerError:
            return None

    # ------------------------------------------------------------------ names and zones

    def layout(self, name: str, span: Span) -> ir.Layout:
        found = self.layouts.get(name)
        if found is None:
            raise self.fail(
                "unknown-record",
                f"no layout declares {name}",
                span,
                did_you_mean(name, self.layouts),
            )
        return found

    def zone(self, layout: ir.Layout, name: str, span: Span) -> ir.Zone:
        found = layout.by_name.get(name)
        if found is None:
            raise self.fail(
                "unknown-zone",
                f"{layout.name} has no zone named {name!r}",
                span,
                did_you_mean(name, layout.by_name),
            )
        return found

    def access_for(self, ctx: Ctx, target: str, span: Span) -> str:
        """How a zone of record ``target`` is reached from the context record."""
        target_layout = self.layout(target, span)
        if target_layout.kind == "segment":
            return "segment"
        if target == ctx.record:
            return "self"
        here = self.layouts.get(ctx.record)
        if here is not None and here.kind == "segment":
            return "final"
        msg = self.message
        if msg is None or target not in msg.order or ctx.record not in msg.order:
            raise self.fail(
                "forward-reference",
                f"{target} is not placed in the message structure, so {ctx.record} cannot "
                "refer to it",
                span,
            )
        if msg.order[target] < msg.order[ctx.record]:
            return "anchor"
        if target in msg.singletons:
            return "final"
        raise self.fail(
            "forward-reference",
            f"{target} comes after {ctx.record} and is not unique in the sending, so "
            f"'{target}.…' has no single meaning on {ctx.record}",
            span,
        )

    def zone_ref(self, access: str, record: str | None, zone: ir.Zone, span: Span) -> ir.ZoneRef:
        if zone.value_type == ir.INT and zone.length > MAX_INT_DIGITS + (zone.kind == "S"):
            ty = ir.text(zone.length)  # too wide for a number: only usable as text
            return ir.ZoneRef(access=access, record=record, zone=zone, raw=True, ty=ty, origin=span)
        return ir.ZoneRef(
            access=access, record=record, zone=zone, raw=False, ty=zone.value_type, origin=span
        )

    def name(self, e: s.Name, ctx: Ctx) -> ir.Expr:
        layout = self.layout(ctx.record, e.span)
        zone = layout.by_name.get(e.name)
        if zone is not None:
            return self.zone_ref("self", ctx.record, zone, e.span)
        if e.name in self.params:
            param = self.params[e.name]
            if param.ty.kind == "percent":
                raise self.fail(
                    "type-mismatch", f"the percentage {e.name} cannot be used in a rule", e.span
                )
            return ir.ParamRef(name=e.name, ty=param.ty, origin=e.span)
        if e.name in self.dates:
            return ir.DateRef(name=e.name, origin=e.span)
        if e.name in self.charmaps:
            return ir.CharmapRef(name=e.name, origin=e.span)
        candidates = [*layout.by_name, *self.params, *self.dates, *self.charmaps]
        raise self.fail(
            "unknown-name",
            f"{e.name!r} is not a zone of {ctx.record}, a parameter, a date or a charmap",
            e.span,
            did_you_mean(e.name, candidates),
        )

    def ref(self, e: s.Ref, ctx: Ctx) -> ir.Expr:
        if e.context == "this":
            if not ctx.in_aggregate:
                return self.name(s.Name(name=e.zone, span=e.span), ctx)
            raise self.fail(
                "unsupported-join",
                "inside an aggregate, 'this' is only allowed as 'key = this.key' in 'where'",
                e.span,
            )
        if e.context in ("previous", "next"):
            return self.adjacent(e, ctx)
        assert e.record is not None
        if e.context == "previous_of":
            layout = self.layout(e.record, e.span)
            zone = self.zone(layout, e.zone, e.span)
            here = self.layouts[ctx.record]
            if here.kind == "segment" or layout.kind == "segment":
                raise self.fail("bad-context", "'previous ETxx' is about records", e.span)
            return self.zone_ref("prior", e.record, zone, e.span)
        layout = self.layout(e.record, e.span)
        zone = self.zone(layout, e.zone, e.span)
        access = self.access_for(ctx, e.record, e.span)
        return self.zone_ref(access, e.record, zone, e.span)

    def adjacent(self, e: s.Ref, ctx: Ctx) -> ir.Expr:
        here = self.layouts[ctx.record]
        if here.kind == "segment" or ctx.in_aggregate:
            raise self.fail(
                "bad-context", f"'{e.context}' means the record before or after this one", e.span
            )
        records = [
            lay
            for lay in self.layouts.values()
            if lay.kind == "record" and lay.name not in self.answer_only
        ]
        holders = [lay.by_name[e.zone] for lay in records if e.zone in lay.by_name]
        if not holders:
            names = {n for lay in records for n in lay.by_name}
            raise self.fail(
                "unknown-zone",
                f"no record has a zone named {e.zone!r}",
                e.span,
                did_you_mean(e.zone, names),
            )
        first = holders[0]
        for other in holders[1:]:
            if (other.offset, other.length, other.kind) != (first.offset, first.length, first.kind):
                raise self.fail(
                    "ambiguous-zone",
                    f"zone {e.zone!r} is not at the same place in every record "
                    f"({first.layout} and {other.layout} differ)",
                    e.span,
                )
        if (
            first.offset == 0
            and all(lay.key is not None for lay in records)
            and all(len(lay.key or "") == first.length for lay in records)
        ):
            return ir.RecordKey(access=e.context, origin=e.span)
        return self.zone_ref(e.context, None, first, e.span)

    # ------------------------------------------------------------------ expressions

    def expr(self, e: s.Expr, ctx: Ctx) -> ir.Expr:
        if isinstance(e, s.Literal):
            return self.literal(e)
        if isinstance(e, s.Name):
            return self.name(e, ctx)
        if isinstance(e, s.Ref):
            return self.ref(e, ctx)
        if isinstance(e, s.RecordText):
            layout = self.layout(ctx.record, e.span)
            if not 1 <= e.lo <= e.hi <= layout.length:
                raise self.fail(
                    "bad-slice",
                    f"record[{e.lo}..{e.hi}] is outside the {layout.length} positions of "
                    f"{layout.name}",
                    e.span,
                )
            width = e.hi - e.lo + 1
            return ir.RecordText(offset=e.lo - 1, length=width, ty=ir.text(width), origin=e.span)
        if isinstance(e, s.Slice):
            return self.slice(e, ctx)
        if isinstance(e, s.Unary):
            return self.unary(e, ctx)
        if isinstance(e, s.Binary):
            return self.binary(e, ctx)
        if isinstance(e, s.Membership):
            return self.membership(e, ctx)
        if isinstance(e, s.IfExpr):
            return self.if_expr(e, ctx)
        if isinstance(e, s.Call):
            return self.call(e, ctx)
        assert isinstance(e, s.Aggregate)
        from compiler.aggregates import lower_aggregate

        return lower_aggregate(self, e, ctx)

    def literal(self, e: s.Literal) -> ir.Expr:
        if e.kind == "int":
            assert isinstance(e.value, int)
            return ir.Const(value=e.value, ty=ir.INT, origin=e.span)
        if e.kind == "str":
            assert isinstance(e.value, str)
            data = e.value.encode("latin-1", "replace")
            return ir.Const(value=data, ty=ir.text(len(data)), origin=e.span)
        if e.kind == "bool":
            assert isinstance(e.value, bool)
            return ir.Const(value=e.value, ty=ir.BOOL, origin=e.span)
        if e.kind == "date":
            assert isinstance(e.value, dt.date)
            return ir.Const(value=date_int(e.value), ty=ir.DATE, origin=e.span)
        if e.kind == "today":
            return ir.Today(origin=e.span)
        raise self.fail("type-mismatch", "a percentage is only a parameter value", e.span)

    def expect(self, e: ir.Expr, kind: str, span: Span, what: str) -> ir.Expr:
        if e.ty.kind != kind:
            raise self.fail("type-mismatch", f"{what} must be {kind}, not {e.ty}", span)
        return e

    def raw(self, e: ir.Expr, span: Span, what: str) -> ir.Expr:
        if not is_rawable(e):
            raise self.fail(
                "type-mismatch", f"{what} must be the characters of a zone, not {e.ty}", span
            )
        return as_raw(e)

    def slice(self, e: s.Slice, ctx: Ctx) -> ir.Expr:
        operand = self.raw(self.expr(e.operand, ctx), e.span, "a sliced value")
        width = operand.ty.width or 0
        if not 1 <= e.lo <= e.hi <= width:
            raise self.fail(
                "bad-slice", f"[{e.lo}..{e.hi}] is outside a text of {width} characters", e.span
            )
        length = e.hi - e.lo + 1
        return ir.Slice(
            operand=operand, offset=e.lo - 1, length=length, ty=ir.text(length), origin=e.span
        )

    def unary(self, e: s.Unary, ctx: Ctx) -> ir.Expr:
        operand = self.expr(e.operand, ctx)
        kind = "bool" if e.op == "not" else "int"
        self.expect(operand, kind, e.span, f"the operand of '{e.op}'")
        return ir.Unary(op=e.op, operand=operand, ty=operand.ty, origin=e.span)

    def binary(self, e: s.Binary, ctx: Ctx) -> ir.Expr:
        left = self.expr(e.left, ctx)
        right = self.expr(e.right, ctx)
        if e.op in ("and", "or"):
            self.expect(left, "bool", e.left.span, f"the left side of '{e.op}'")
            self.expect(right, "bool", e.right.span, f"the right side of '{e.op}'")
            return ir.Logic(op=e.op, left=left, right=right, origin=e.span)
        if e.op in ("+", "-", "*", "div", "mod"):
            self.expect(left, "int", e.left.span, f"the left side of '{e.op}'")
            self.expect(right, "int", e.right.span, f"the right side of '{e.op}'")
            return ir.Arith(op=e.op, left=left, right=right, origin=e.span)
        return self.compare(e.op, left, right, e.span)

    def compare(self, op: str, left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
        equality = op in ("=", "!=")
        if equality and is_rawable(left) and is_rawable(right):
            pair = self.text_pair(left, right, span)
            if pair is not None:
                return ir.Compare(op=op, left=pair[0], right=pair[1], origin=span)
        lk, rk = left.ty.kind, right.ty.kind
        if lk != rk or lk == "charmap" or (not equality and lk not in ("int", "date")):
            raise self.fail("type-mismatch", f"cannot compare {left.ty} {op} {right.ty}", span)
        if lk == "text":
            pair = self.text_pair(left, right, span)
            assert pair is not None
            left, right = pair
        return ir.Compare(op=op, left=left, right=right, origin=span)

    def text_pair(
        self, left: ir.Expr, right: ir.Expr, span: Span
    ) -> tuple[ir.Expr, ir.Expr] | None:
        """Both sides as characters of one width, or None when they should compare as values."""
        lconst = isinstance(left, ir.Const)
        rconst = isinstance(right, ir.Const)
        if lconst and rconst:
            return None
        if rconst or lconst:
            zone_side, const = (left, right) if rconst else (right, left)
            assert isinstance(const, ir.Const) and isinstance(const.value, bytes)
            raw = as_raw(zone_side)
            fitted = self.fit(const.value, raw, span)
            fitted_const = ir.Const(value=fitted, ty=raw.ty, origin=const.origin)
            return (raw, fitted_const) if rconst else (fitted_const, raw)
        numeric_kinds = ("int", "date")
        if (
            isinstance(left, ir.ZoneRef)
            and isinstance(right, ir.ZoneRef)
            and left.ty.kind in numeric_kinds
            and left.ty == right.ty
        ):
            return None  # two numbers: compare values, so a format error is reported once
        lraw, rraw = as_raw(left), as_raw(right)
        same_kind = not (
            isinstance(left, ir.ZoneRef)
            and isinstance(right, ir.ZoneRef)
            and left.zone.kind != right.zone.kind
        )
        if lraw.ty.width == rraw.ty.width and same_kind:
            return lraw, rraw
        if left.ty.kind in ("int", "date") and left.ty == right.ty:
            return None
        raise self.fail(
            "width-mismatch",
            f"cannot compare characters of different widths ({lraw.ty.width} and {rraw.ty.width})",
            span,
        )

    def fit(self, value: bytes, raw: ir.Expr, span: Span) -> bytes:
        """A text literal padded to a text of the zone's width (A zones: blanks on the right)."""
        width = raw.ty.width or 0
        alnum = not isinstance(raw, ir.ZoneRef) or raw.zone.kind == "A"
        if len(value) == width:
            return value
        if len(value) < width and alnum:
            return value.ljust(width, b" ")
        raise self.fail(
            "width-mismatch",
            f"the text {value.decode('latin-1')!r} does not fit a zone of {width} characters",
            span,
        )

    def membership(self, e: s.Membership, ctx: Ctx) -> ir.Expr:
        operand = self.expr(e.operand, ctx)
        if e.table is not None:
            table = self.tables.get(e.table)
            if table is None:
                raise self.fail(
                    "unknown-name",
                    f"no table named {e.table!r}",
                    e.span,
                    did_you_mean(e.table, self.tables),
                )
            if table.ty.kind == "text":
                operand = self.raw(operand, e.span, f"a value looked up in {e.table}")
                longest = max((len(v) for ver in table.versions for v in ver.value), default=0)  # type: ignore[attr-defined]
                if longest > (operand.ty.width or 0):
                    raise self.fail(
                        "width-mismatch",
                        f"table {e.table} holds values longer than {operand.ty.width} characters",
                        e.span,
                    )
            else:
                self.expect(operand, "int", e.span, f"a value looked up in {e.table}")
            return ir.InTable(operand=operand, table=e.table, negated=e.negated, origin=e.span)
        assert e.values is not None
        kinds = {v.kind for v in e.values}
        if kinds == {"str"}:
            raw = self.raw(operand, e.span, "a value compared with texts")
            values: tuple[int | bytes, ...] = tuple(
                self.fit(str(v.value).encode("latin-1", "replace"), raw, v.span) for v in e.values
            )
            return ir.InSet(operand=raw, values=values, negated=e.negated, origin=e.span)
        if kinds == {"int"}:
            self.expect(operand, "int", e.span, "a value compared with numbers")
            ints = tuple(int(v.value) for v in e.values)  # type: ignore[call-overload]
            return ir.InSet(operand=operand, values=ints, negated=e.negated, origin=e.span)
        if kinds == {"date"}:
            self.expect(operand, "date", e.span, "a value compared with dates")
            dates = tuple(date_int(v.value) for v in e.values)  # type: ignore[arg-type]
            return ir.InSet(operand=operand, values=dates, negated=e.negated, origin=e.span)
        raise self.fail(
            "type-mismatch", "a list of values must be all numbers or all texts", e.span
        )

    def if_expr(self, e: s.IfExpr, ctx: Ctx) -> ir.Expr:
        cond = self.expect(self.expr(e.cond, ctx), "bool", e.cond.span, "an 'if' condition")
        then = self.expr(e.then, ctx)
        other = self.expr(e.other, ctx)
        if then.ty.kind == "text" and other.ty.kind == "text":
            if then.ty.width != other.ty.width:
                raise self.fail("width-mismatch", "both branches must have the same width", e.span)
            then, other = as_raw(then), as_raw(other)
        elif then.ty != other.ty:
            raise self.fail(
                "type-mismatch",
                f"the branches have different types ({then.ty}, {other.ty})",
                e.span,
            )
        return ir.If(cond=cond, then=then, other=other, ty=then.ty, origin=e.span)

    def call(self, e: s.Call, ctx: Ctx) -> ir.Expr:
        sig = FUNCTIONS.get(e.func)
        if sig is None:
            raise self.fail(
                "unknown-function",
                f"the check library has no function {e.func!r}",
                e.span,
                did_you_mean(e.func, FUNCTIONS),
            )
        if len(e.args) != len(sig.params):
            raise self.fail(
                "bad-arity",
                f"{e.func} takes {len(sig.params)} argument(s), not {len(e.args)}",
                e.span,
            )
        args: list[ir.Expr] = []
        for index, (kind, arg) in enumerate(zip(sig.params, e.args, strict=True), start=1):
            lowered = self.expr(arg, ctx)
            what = f"argument {index} of {e.func}"
            if kind == "raw":
                lowered = self.raw(lowered, arg.span, what)
            else:
                self.expect(lowered, kind, arg.span, what)
            args.append(lowered)
        return ir.Call(func=e.func, args=tuple(args), ty=sig.result, origin=e.span)
