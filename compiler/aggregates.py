"""Lowering of aggregates: ``sum(ET30, ET50: amount where account = 0) within invoice``.

Input: an AST aggregate written in a rule (context: the rule's record).
Output: an IR ``Aggregate`` with one part per source record type, each part's value and
condition resolved against that record's own layout, and an optional equality key
(``where ET20.destination = this.mutuality``) that the validator turns into a group-by.
"""

from __future__ import annotations

from compiler import ir
from compiler.expressions import Ctx, ExprLowerer, LowerError
from rulebook import syntax as s


def _conjuncts(e: s.Expr | None) -> list[s.Expr]:
    if e is None:
        return []
    if isinstance(e, s.Binary) and e.op == "and":
        return [*_conjuncts(e.left), *_conjuncts(e.right)]
    return [e]


def _mentions_this(e: object) -> bool:
    if isinstance(e, s.Ref):
        return e.context == "this"
    if isinstance(e, s.Literal | s.Name | s.RecordText):
        return False
    if isinstance(e, s.Slice | s.Unary):
        return _mentions_this(e.operand)
    if isinstance(e, s.Binary):
        return _mentions_this(e.left) or _mentions_this(e.right)
    if isinstance(e, s.Membership):
        return _mentions_this(e.operand)
    if isinstance(e, s.IfExpr):
        return any(_mentions_this(x) for x in (e.cond, e.then, e.other))
    if isinstance(e, s.Call):
        return any(_mentions_this(a) for a in e.args)
    if isinstance(e, s.Aggregate):
        return _mentions_this(e.value) or _mentions_this(e.where)
    return False


def _unthis(e: s.Expr) -> s.Expr:
    """The rule record's side of a key: 'this.zone' becomes the plain zone name."""
    import dataclasses

    if isinstance(e, s.Ref) and e.context == "this":
        return s.Name(name=e.zone, span=e.span)
    if isinstance(e, s.Binary):
        return dataclasses.replace(e, left=_unthis(e.left), right=_unthis(e.right))
    if isinstance(e, s.Unary | s.Slice):
        return dataclasses.replace(e, operand=_unthis(e.operand))
    if isinstance(e, s.Call):
        return dataclasses.replace(e, args=tuple(_unthis(a) for a in e.args))
    return e


def _and(parts: list[s.Expr]) -> s.Expr | None:
    if not parts:
        return None
    result = parts[0]
    for p in parts[1:]:
        result = s.Binary(op="and", left=result, right=p, span=p.span)
    return result


def lower_aggregate(lw: ExprLowerer, e: s.Aggregate, ctx: Ctx) -> ir.Expr:
    if ctx.in_aggregate:
        raise lw.fail("bad-context", "an aggregate cannot contain another aggregate", e.span)
    msg = lw.message
    if e.scope != "sending" and (msg is None or e.scope not in msg.groups):
        known = ["sending", *(msg.groups if msg else [])]
        raise lw.fail(
            "unknown-production",
            f"{e.scope!r} is neither 'sending' nor a group of the message ({', '.join(known)})",
            e.span,
        )
    if e.func == "sum" and e.value is None:
        raise lw.fail("type-mismatch", "sum needs a value: sum(ET50: amount)", e.span)
    if e.func == "count" and e.value is not None:
        raise lw.fail("type-mismatch", "count takes no value: count(ET50 where …)", e.span)

    key_this: s.Expr | None = None
    key_other: s.Expr | None = None
    rest: list[s.Expr] = []
    for conj in _conjuncts(e.where):
        if not _mentions_this(conj):
            rest.append(conj)
            continue
        if not (isinstance(conj, s.Binary) and conj.op == "=") or key_this is not None:
            raise lw.fail(
                "unsupported-join",
                "'this' may appear once, as 'contributor key = this.key'",
                conj.span,
            )
        left_this, right_this = _mentions_this(conj.left), _mentions_this(conj.right)
        this_side, other_side = (conj.left, conj.right) if left_this else (conj.right, conj.left)
        if left_this and right_this:
            raise lw.fail(
                "unsupported-join", "write the key as 'contributor key = this.zone'", conj.span
            )
        key_this = _unthis(this_side)
        key_other = other_side
    where = _and(rest)

    this_key: ir.Expr | None = None
    if key_this is not None:
        this_key = lw.expr(key_this, Ctx(record=ctx.rule_record, rule_record=ctx.rule_record))
        lw.expect(this_key, "int", key_this.span, "an aggregate key")

    parts: list[ir.AggPart] = []
    failed = False
    for source in e.sources:
        layout = lw.layout(source, e.span)
        if layout.kind != "record" or (msg is not None and source not in msg.order):
            raise lw.fail("unknown-record", f"{source} is not a record of the message", e.span)
        sctx = Ctx(record=source, rule_record=ctx.rule_record, in_aggregate=True)
        try:
            value = None
            if e.value is not None:
                value = lw.expect(lw.expr(e.value, sctx), "int", e.value.span, "a summed value")
            cond = None
            if where is not None:
                cond = lw.expect(lw.expr(where, sctx), "bool", where.span, "an aggregate condition")
            key = None
            if key_other is not None:
                key = lw.expect(lw.expr(key_other, sctx), "int", key_other.span, "an aggregate key")
        except LowerError:
            failed = True
            continue
        parts.append(ir.AggPart(record=source, value=value, where=cond, key=key))
    if failed:
        raise LowerError()
    return ir.Aggregate(
        func=e.func, parts=tuple(parts), scope=e.scope, this_key=this_key, origin=e.span
    )
