"""The evaluator: IR expressions compiled once into closures over numpy columns.

Input: IR expressions of the compiled rulebook.
Output: for each expression a function ``Scope -> Val``; a scope is the set of records of one
type in one chunk. The scope transposes its records once, so a zone of width w over n
records is a contiguous ``(w, n)`` block and every check is a few full-width vector
operations: the cost per record is nanoseconds per rule, not an interpreter step per
character.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler import ir
from compiler.screens import own_span
from validator.chunk import NONE
from validator.functions import FUNCTIONS
from validator.values import (
    Bool,
    Val,
    broadcast,
    kleene_and,
    kleene_not,
    kleene_or,
    lift,
    member,
    some,
    sorted_ints,
    spread,
    truth,
)

if TYPE_CHECKING:
    from compiler import Compiled

from validator.charsum import pair_charsum
from validator.scope import FIRST_DATE, LAST_DATE, Fn, Scope
from validator.zones import as_columns, zone_value

# --------------------------------------------------------------------------- compiler

_COMPARE = {
    "=": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


class ExprCompiler:
    """Turns IR expressions into closures; one instance per governing date name."""

    def __init__(self, compiled: Compiled, gov_name: str) -> None:
        self.compiled = compiled
        self.gov_name = gov_name

    def __call__(self, e: ir.Expr) -> Fn:
        method = getattr(self, "c_" + type(e).__name__)
        fn: Fn = method(e)
        return fn

    def c_Const(self, e: ir.Const) -> Fn:
        value = Val.const(e.value)
        return lambda scope: value

    def c_Today(self, e: ir.Today) -> Fn:
        return lambda scope: Val.const(scope.env.today)

    def c_ParamRef(self, e: ir.ParamRef) -> Fn:
        param = self.compiled.params[e.name]
        gov_name = self.gov_name
        width = param.ty.width if param.ty.kind == "text" else None

        versions = param.versions
        if len(versions) == 1 and versions[0].start <= FIRST_DATE and versions[0].end >= LAST_DATE:
            constant = Val.const(version_value(versions, FIRST_DATE, width))
            return lambda scope: constant  # one value on any date

        def fn(scope: Scope) -> Val:
            dates = scope.gov(gov_name)
            first = dates[0] if scope.n else 0
            if scope.n == 0 or bool(np.all(dates == first)):
                return Val.const(version_value(versions, int(first), width))
            values = [Val.const(version_value(versions, int(d), width)).data for d in dates]
            if width is not None:
                return Val(np.concatenate([v.reshape(-1, 1) for v in values], axis=1))
            return Val(np.array(values))

        return fn

    def c_DateRef(self, e: ir.DateRef) -> Fn:
        def fn(scope: Scope) -> Val:
            found = scope.env.date_fns.get((e.name, scope.layout.name))
            if found is None:
                return Val(np.zeros(scope.n, np.int64), np.ones(scope.n, np.bool_), None)
            return found(scope)

        return fn

    def c_CharmapRef(self, e: ir.CharmapRef) -> Fn:
        lut = Val(np.asarray(self.compiled.charmaps[e.name].values, dtype=np.int64))
        return lambda scope: lut

    def c_ZoneRef(self, e: ir.ZoneRef) -> Fn:
        return lambda scope: zone_value(scope, e)

    def c_RecordKey(self, e: ir.RecordKey) -> Fn:
        access = e.access

        def fn(scope: Scope) -> Val:
            if scope.batch is not None:
                rows = scope.sources(access, None)
                types = scope.batch.types[np.maximum(rows, 0)]
                return Val(np.where(rows < 0, NONE, types))
            if scope.parts is not None:
                return scope.each(fn)
            src = scope.chunk.source_rows(scope.idx, access, None)
            types = scope.chunk.types[np.minimum(np.maximum(src, 0), max(scope.chunk.n - 1, 0))]
            return Val(np.where(src < 0, NONE, types))

        return fn

    def c_RecordText(self, e: ir.RecordText) -> Fn:
        offset, length = e.offset, e.length
        return lambda scope: Val(scope.text(offset, length))

    def c_Slice(self, e: ir.Slice) -> Fn:
        operand = self(e.operand)
        lo, hi = e.offset, e.offset + e.length

        def fn(scope: Scope) -> Val:
            v = operand(scope)
            data = np.asarray(v.data)
            if data.ndim == 1:
                data = data.reshape(-1, 1)
            return Val(data[lo:hi], v.unknown, v.unexplained, v.flagged)

        return fn

    def c_Unary(self, e: ir.Unary) -> Fn:
        operand = self(e.operand)
        if e.op == "not":
            return lambda scope: kleene_not(operand(scope))

        def neg(scope: Scope) -> Val:
            v = operand(scope)
            return lift(-np.asarray(v.data, dtype=np.int64), v)

        return neg

    def c_Arith(self, e: ir.Arith) -> Fn:
        left, right = self(e.left), self(e.right)
        op = e.op

        def fn(scope: Scope) -> Val:
            a, b = left(scope), right(scope)
            x = np.asarray(a.data, dtype=np.int64)
            y = np.asarray(b.data, dtype=np.int64)
            if op == "+":
                return lift(x + y, a, b)
            if op == "-":
                return lift(x - y, a, b)
            if op == "*":
                return lift(x * y, a, b)
            zero = y == 0
            safe = np.where(zero, 1, y)
            quotient = x // safe if op == "div" else x % safe
            result = lift(np.where(zero, 0, quotient), a, b)
            if np.any(zero):
                bad = np.broadcast_to(zero, result.data.shape)
                unknown = bad if result.unknown is None else result.unknown | bad
                unexplained = bad if result.unexplained is None else result.unexplained | bad
                result = Val(result.data, unknown, unexplained)
            return result

        return fn

    def c_Compare(self, e: ir.Compare) -> Fn:
        left, right = self(e.left), self(e.right)
        op = e.op
        text = e.left.ty.kind == "text"
        compare = _COMPARE[op]

        def fn(scope: Scope) -> Val:
            a, b = left(scope), right(scope)
            if text:
                x, y = np.asarray(a.data), np.asarray(b.data)
                x = x.reshape(-1, 1) if x.ndim == 1 else x
                y = y.reshape(-1, 1) if y.ndim == 1 else y
                equal = np.logical_and.reduce(x == y, axis=0)
                return lift(equal if op == "=" else ~equal, a, b)
            return lift(compare(a.data, b.data), a, b)

        return fn

    def c_Logic(self, e: ir.Logic) -> Fn:
        left, right = self(e.left), self(e.right)
        combine = kleene_and if e.op == "and" else kleene_or
        return lambda scope: combine(left(scope), right(scope))

    def c_If(self, e: ir.If) -> Fn:
        cond, then, other = self(e.cond), self(e.then), self(e.other)
        text = e.ty.kind == "text"

        def fn(scope: Scope) -> Val:
            c = cond(scope)
            if not text and c.unknown is None:  # one branch for every record: only it
                known = np.asarray(c.data, dtype=np.bool_)
                chosen = None
                if np.logical_and.reduce(known, axis=None):
                    chosen = then
                elif not some(known):
                    chosen = other
                if chosen is not None:
                    v = chosen(scope)
                    return broadcast(Val(v.data, v.unknown, v.unexplained), scope.n)
            a, b = then(scope), other(scope)
            ct, _ = truth(c)
            ct = spread(ct, scope.n)
            if text:
                data = np.where(
                    ct[None, :], as_columns(a, scope.n).data, as_columns(b, scope.n).data
                )
            else:
                data = np.where(ct, a.data, b.data)
            unknown, unexplained = _pick(c, ct, a, b, scope.n)
            return Val(data, unknown, unexplained)

        return fn

    def c_InSet(self, e: ir.InSet) -> Fn:
        operand = self(e.operand)
        negated = e.negated
        ints = sorted_ints(v for v in e.values if isinstance(v, int))
        texts = [
            np.frombuffer(v, dtype=np.uint8)[:, None] for v in e.values if isinstance(v, bytes)
        ]

        def fn(scope: Scope) -> Val:
            v = operand(scope)
            if texts:
                data = np.asarray(v.data)
                data = data.reshape(-1, 1) if data.ndim == 1 else data
                hit = np.zeros(data.shape[1], dtype=np.bool_)
                for t in texts:
                    hit |= np.logical_and.reduce(data == t, axis=0)
            else:
                hit = member(v.data, ints)
            return lift(~hit if negated else hit, v)

        return fn

    def c_InTable(self, e: ir.InTable) -> Fn:
        operand = self(e.operand)
        table = self.compiled.tables[e.table]
        negated = e.negated
        gov_name = self.gov_name
        text = table.ty.kind == "text"

        numbers = [
            sorted_ints(v.value) if not text else np.zeros(0, np.int64) for v in table.versions
        ]
        padded: dict[tuple[int, int], list[np.ndarray]] = {}  # (version, width) -> values

        def members(data: np.ndarray, k: int) -> Bool:
            if not text:
                return member(data, numbers[k])
            width = data.shape[0]
            columns = padded.get((k, width))
            if columns is None:
                values = table.versions[k].value
                assert isinstance(values, frozenset)
                columns = [
                    np.frombuffer(bytes(v).ljust(width, b" "), dtype=np.uint8)[:, None]
                    for v in sorted(values)
                ]
                padded[(k, width)] = columns
            hit = np.zeros(data.shape[1], dtype=np.bool_)
            for column in columns:
                hit |= np.logical_and.reduce(data == column, axis=0)
            return hit

        def fn(scope: Scope) -> Val:
            v = operand(scope)
            data = as_columns(v, scope.n).data if text else spread(v.data, scope.n)
            hit: Bool | None = None
            for k, version in enumerate(table.versions):
                active = scope.activity(gov_name, version.start, version.end)
                if active is False:
                    continue
                found = members(data, k) if active is True else active & members(data, k)
                hit = found if hit is None else hit | found
            if hit is None:
                hit = np.zeros(scope.n, dtype=np.bool_)
            return lift(~hit if negated else hit, v)

        return fn

    def c_Call(self, e: ir.Call) -> Fn:
        if e.func == "charsum" and isinstance(e.args[1], ir.CharmapRef):
            span = own_span(e.args[0])
            if span is not None and span[0] % 2 == 0 and span[1] % 2 == 0:
                values = self.compiled.charmaps[e.args[1].name].values
                return pair_charsum(span, values, self._generic_call(e))
        return self._generic_call(e)

    def _generic_call(self, e: ir.Call) -> Fn:
        impl = FUNCTIONS[e.func]
        args = [self(a) for a in e.args]
        columns = [a.ty.kind == "text" and not isinstance(a, ir.Const) for a in e.args]

        def fn(scope: Scope) -> Val:
            values = []
            for arg, as_text in zip(args, columns, strict=True):
                v = arg(scope)
                values.append(as_columns(v, scope.n) if as_text else v)
            return impl(*values)

        return fn

    def c_Aggregate(self, e: ir.Aggregate) -> Fn:
        key = id(e)

        def fn(scope: Scope) -> Val:
            if scope.parts is not None:  # each file's own running totals
                runtimes = [part.env.aggregates[key] for part in scope.parts]
                return runtimes[0].joined_value(runtimes, scope)
            return scope.env.aggregates[key].value_at(scope)

        return fn


def version_value(versions: tuple[ir.Version, ...], date: int, width: int | None = None) -> object:
    """The value of a dated value's version in force at ``date`` (text padded to ``width``;
    none in force: blanks or 0)."""
    for version in versions:
        if version.start <= date <= version.end:
            value = version.value
            if width is not None and isinstance(value, bytes):
                return value.ljust(width, b" ")
            return value
    return b" " * width if width is not None else 0


def _pick(c: Val, ct: Bool, a: Val, b: Val, n: int) -> tuple[Bool | None, Bool | None]:
    """Unknown/unexplained masks of ``if c then a else b``."""
    if c.unknown is None and a.unknown is None and b.unknown is None:
        return None, None
    zeros = np.zeros(n, dtype=np.bool_)

    def mask(m: Bool | None) -> Bool:
        return zeros if m is None else spread(m, n)

    unknown = mask(c.unknown) | np.where(ct, mask(a.unknown), mask(b.unknown))
    unexplained = (mask(c.unexplained) & mask(c.unknown)) | np.where(
        ct, mask(a.unexplained), mask(b.unexplained)
    )
    return unknown, unexplained & unknown
