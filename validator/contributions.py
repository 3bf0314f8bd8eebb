"""What records contribute to aggregates, and the small totals arithmetic every aggregate
shares.

Input: an aggregate's source parts (record type, condition, value, key) compiled to closures,
and the records of those types in a chunk (or in the chunks of a batch).
Output: per record its contribution, whether it is unknown (and unexplained), and for keyed
aggregates its key; totals as ``Val`` (unknown when an unknown contribution was counted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from compiler import ir
from validator.scope import Fn, Scope
from validator.values import Bool, Ints, Val, some, spread, truth

KeyedPart = tuple[Ints, Ints, Bool | None, Bool | None]  # rows, keys, unknown, unexplained
Contributions = tuple[Ints, Ints | None, Ints | None, list[KeyedPart]]


@dataclass(slots=True)
class Part:
    """One source record type of an aggregate, its closures compiled."""

    layout: ir.Layout
    where: Fn | None
    value: Fn | None
    key: Fn | None


@dataclass(slots=True)
class Totals:
    """Running sum, count of unknown contributions, count of unexplained ones."""

    value: int = 0
    unknown: int = 0
    unexplained: int = 0


NO_TOTALS = Totals()  # read only


def source_contributions(
    parts: list[Part], n: int, rows: Callable[[ir.Layout], tuple[Scope, Ints, Bool] | None]
) -> Contributions:
    """Contributions of an aggregate's source parts to ``n`` records: ``rows`` gives, for a
    source record type, its scope, the positions of its records among the ``n`` and which of
    them are new (one file's chunk, or the chunks of a batch one after the other)."""
    c = np.zeros(n, dtype=np.int64)
    cu: Ints | None = None  # allocated at the first unknown contribution
    cx: Ints | None = None
    keyed_parts: list[KeyedPart] = []
    for part in parts:
        found = rows(part.layout)
        if found is None:
            continue
        scope, idx, new = found
        m = idx.size
        w = part.where(scope) if part.where is not None else None
        v = part.value(scope) if part.value is not None else None
        w_true, w_false = (None, None) if w is None else truth(w)
        wt = None if w_true is None else spread(w_true, m)  # None: every record counts
        data = np.ones(m, dtype=np.int64) if v is None else spread(np.asarray(v.data, np.int64), m)
        contributes = new if wt is None else wt & new
        if v is not None and v.unknown is not None:
            contributes = contributes & ~spread(v.unknown, m)
        c[idx] = np.where(contributes, data, 0)
        if (w is None or w.unknown is None) and (v is None or v.unknown is None):
            pass  # the usual case: nothing unknown
        else:
            every = np.ones(m, dtype=np.bool_) if wt is None else wt
            if w is not None and w.unknown is not None and w_false is not None:
                w_unknown = ~(every | spread(w_false, m))
                w_unx = w_unknown & mask(w.unexplained, m)
            else:
                w_unknown = w_unx = np.zeros(m, dtype=np.bool_)
            v_unknown = mask(None if v is None else v.unknown, m)
            v_unx = mask(None if v is None else v.unexplained, m)
            unknown = (w_unknown | (every & v_unknown)) & new
            if some(unknown):
                if cu is None or cx is None:
                    cu = np.zeros(n, dtype=np.int64)
                    cx = np.zeros(n, dtype=np.int64)
                cu[idx] = unknown
                cx[idx] = (w_unx | (every & v_unx)) & new
        if part.key is not None:
            k = part.key(scope)
            kdata = spread(np.asarray(k.data, dtype=np.int64), m)
            if k.unknown is None or not some(k.unknown):
                keyed_parts.append((idx, kdata, None, None))
            else:
                kunk = spread(k.unknown, m)
                keyed_parts.append((idx, kdata, kunk, mask(k.unexplained, m)))
    return c, cu, cx, keyed_parts


_NO_COUNTS = [np.zeros(0, dtype=np.int64)]


def no_counts(n: int) -> Ints:
    """n zero counts (a chunk with nothing unknown): a read-only view of one shared array."""
    zeros = _NO_COUNTS[0]
    if zeros.size < n:
        zeros = np.zeros(max(n, 2 * zeros.size), dtype=np.int64)
        zeros.flags.writeable = False
        _NO_COUNTS[0] = zeros
    return zeros[:n]


def constant(count: int, n: int) -> Ints:
    return no_counts(n) if count == 0 else np.broadcast_to(np.int64(count), (n,))


def mask(m: Bool | None, n: int) -> Bool:
    if m is None:
        return np.zeros(n, dtype=np.bool_)
    return spread(m, n)


def counted(value: Ints, unknown: Ints, unexplained: Ints) -> Val:
    unk = unknown > 0
    if not some(unk):
        return Val(value)
    return Val(value, unk, unk & (unexplained > 0))


def with_key(v: Val, key: Val) -> Val:
    """An aggregate keyed by an unknown key is unknown too."""
    if key.unknown is None:
        return v
    unknown = key.unknown if v.unknown is None else v.unknown | key.unknown
    kx = key.unexplained if key.unexplained is not None else np.zeros_like(key.unknown)
    unexplained = kx if v.unexplained is None else v.unexplained | kx
    return Val(v.data, unknown, unexplained & unknown)


def group_ends(start: Ints, n: int) -> Ints:
    """For each opener index, the last row of its group occurrence (itself if alone)."""
    ends = np.arange(n, dtype=np.int64)
    members = np.flatnonzero(start >= 0)
    if members.size:
        np.maximum.at(ends, start[members], members)
    return ends
