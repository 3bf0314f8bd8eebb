"""Expressions computed on the records of a whole sending held in memory: the seam the
generator fills derived zones through (``generator.derive``), with the validator's evaluator
and the plan's governing dates, so a written zone is exactly what the validator will expect.

Input: the compiled rulebook, the sending's records as a ``(n, record length)`` byte array and
its segments, the record type (or segment) to evaluate on, an expression, optionally the rule
it comes from (its period, governing date and ``when``).
Output: ``Computed``: the rows evaluated, one value per row (text: one row of characters), the
rows where the rule applies and the value is known, and for a zone written on another record
(``previous``, ``anchor`` …) the row each record writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compiler import Compiled, ir
from compiler.passes import walk
from validator.aggregates import AggRuntime
from validator.chunk import Chunk
from validator.evaluate import ExprCompiler
from validator.plan import aggregate_parts, plan_for
from validator.scope import Env, Scope
from validator.values import Bool, Bytes2D, Ints, broadcast, truth
from validator.zones import as_columns


@dataclass(frozen=True, slots=True)
class Computed:
    """An expression's values on the records of one type (or on a segment)."""

    rows: Ints  # the rows evaluated (a segment: [0])
    data: np.ndarray  # one value per row; a text: (rows, characters)
    active: Bool  # the rule applies (in force, 'when' true) and the value is known
    chunk: Chunk

    def targets(self, access: str, record: str | None) -> Ints:
        """The row each evaluated record's ``access`` reference reads (-1: none)."""
        if access == "self":
            return self.rows
        return self.chunk.source_rows(self.rows, access, record)


def compute(
    compiled: Compiled,
    rows: Bytes2D,
    segments: dict[str, np.ndarray],
    *,
    record: str,
    expr: ir.Expr,
    today: int,
    rule: ir.Rule | None = None,
) -> Computed:
    """``expr`` on every record of type ``record`` (or on that segment), as the validator
    evaluates it on the whole sending in one block."""
    plan = plan_for(compiled)
    chunk = whole(compiled, rows)
    chunk.segments = segments
    env = Env(compiled=compiled, today=today, as_of=None, date_fns=plan.date_fns)
    gov = rule.governed_by if rule else compiled.default_date
    comp = ExprCompiler(compiled, gov)
    mode = "opener" if rule is not None and rule.mode == "opener" else "stream"
    exprs = [expr] + ([rule.when] if rule and rule.when else [])
    for e in exprs:
        for node in walk(e):
            if isinstance(node, ir.Aggregate):
                runtime = AggRuntime(
                    node=node,
                    mode=mode,
                    parts=aggregate_parts(compiled, comp, node),
                    this_key=comp(node.this_key) if node.this_key is not None else None,
                    group=compiled.message.groups.get(node.scope),
                )
                runtime.contributions(chunk, env, {})
                env.aggregates[id(node)] = runtime
    layout = compiled.layouts[record]
    if layout.kind == "segment":
        scope = Scope(chunk, layout, np.zeros(1, dtype=np.int64), env)
        scope.segment_row = segments.get(layout.name)
        if scope.segment_row is None:
            return Computed(scope.idx, np.zeros(1), np.zeros(1, dtype=np.bool_), chunk)
    else:
        scope = Scope(chunk, layout, chunk.rows_of(layout.name), env)
    value = broadcast(comp(expr)(scope), scope.n)
    active = np.ones(scope.n, dtype=np.bool_)
    if rule is not None:
        dates = scope.gov(gov)
        active &= (dates >= rule.start) & (dates <= rule.end)
        if rule.when is not None:
            when_true, _ = truth(broadcast(comp(rule.when)(scope), scope.n))
            active &= when_true
    if value.unknown is not None:
        active &= ~np.broadcast_to(value.unknown, (scope.n,))
    if expr.ty.kind == "text":
        data = as_columns(value, scope.n).data.T  # one row of characters per record
    else:
        data = np.broadcast_to(np.asarray(value.data), (scope.n,))
    return Computed(scope.idx, data, active, chunk)


def layouts_of(compiled: Compiled, rows: Bytes2D) -> tuple[tuple[ir.Layout, ...], Ints]:
    """The message's record layouts and each row's index among them (-1: no known type)."""
    chunk = whole(compiled, rows)
    return chunk.layouts, np.asarray(chunk.layout_of)


def whole(compiled: Compiled, rows: Bytes2D) -> Chunk:
    """The sending's records as one block (no context before, nothing after)."""
    n = rows.shape[0]
    return Chunk(
        rows=rows,
        ordinals=np.arange(1, n + 1, dtype=np.int64),
        is_new=np.ones(n, dtype=np.bool_),
        invoices=np.zeros(n, dtype=np.int64),
        layouts=plan_for(compiled).records,
        key_length=compiled.message.key_length,
        eof=True,
    )
