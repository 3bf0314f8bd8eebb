"""``if c then a else b``: where the condition is known and the same for every record only
that branch is evaluated; the result is the one of evaluating both and picking per record
(values, unknown and unexplained rows)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from compiler import Compiled, ir
from validator.evaluate import ExprCompiler

N = 3


def const(value: int | bool) -> ir.Const:
    return ir.Const(value=value, ty=ir.BOOL if isinstance(value, bool) else ir.INT)


def unknown_int() -> ir.Expr:
    """1 div 0: unknown and unexplained on every record."""
    return ir.Arith(op="div", left=const(1), right=const(0))


def evaluate(compiled: Compiled, e: ir.Expr) -> dict[str, Any]:
    scope: Any = SimpleNamespace(n=N)
    v = ExprCompiler(compiled, compiled.default_date)(e)(scope)
    data = np.broadcast_to(np.asarray(v.data), (N,))

    def rows(mask: np.ndarray | None) -> list[bool]:
        return [False] * N if mask is None else np.broadcast_to(mask, (N,)).tolist()

    return {"data": data.tolist(), "unknown": rows(v.unknown), "unexplained": rows(v.unexplained)}


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        (const(True), {"data": [0] * N, "unknown": [True] * N, "unexplained": [True] * N}),
        (const(False), {"data": [7] * N, "unknown": [False] * N, "unexplained": [False] * N}),
        (  # an unknown condition: unknown whatever the branches
            ir.Compare(op="=", left=unknown_int(), right=const(0)),
            {"data": [7] * N, "unknown": [True] * N, "unexplained": [True] * N},
        ),
    ],
)
def test_if_takes_the_branch_of_its_condition(
    compiled: Compiled, cond: ir.Expr, expected: dict[str, Any]
) -> None:
    e = ir.If(cond=cond, then=unknown_int(), other=const(7), ty=ir.INT)
    assert evaluate(compiled, e) == expected


def test_a_known_branch_stays_known(compiled: Compiled) -> None:
    e = ir.If(cond=const(True), then=const(5), other=unknown_int(), ty=ir.INT)
    assert evaluate(compiled, e) == {
        "data": [5] * N,
        "unknown": [False] * N,
        "unexplained": [False] * N,
    }
