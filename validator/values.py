"""Column values with three-valued logic, the currency of the vectorised evaluator.

Input: numpy arrays computed over the records of one chunk (one entry per record).
Output: ``Val``: the data, the rows where it is unknown, and among those the rows where
nothing explains why (no other finding on the zone it came from).

A rule is violated where its condition is known false; where it is unknown and unexplained
the validator reports that the rule could not be evaluated, so nothing unchecked passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

Bool = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Bytes2D = npt.NDArray[np.uint8]
A = TypeVar("A", bound=npt.NDArray[Any])


@dataclass(slots=True)
class Val:
    """Values for n rows (or a broadcastable constant) with unknown/unexplained masks."""

    data: npt.NDArray[np.generic]
    unknown: Bool | None = None
    unexplained: Bool | None = None
    flagged: Bool | None = None  # raw zone characters: rows where that zone has a finding

    @staticmethod
    def const(value: object) -> Val:
        if isinstance(value, bytes):
            return Val(np.frombuffer(value, dtype=np.uint8))
        if isinstance(value, bool):
            return Val(np.asarray(value, dtype=np.bool_))
        return Val(np.asarray(value, dtype=np.int64))


def some(mask: npt.NDArray[Any]) -> bool:
    """Whether any entry is set: ``mask.any()`` at a third of its cost (no Python layer)."""
    return bool(np.count_nonzero(mask))


def spread(a: A, n: int) -> A:
    """``a`` with one entry per row: itself when it has them (the usual case, without
    numpy's broadcasting machinery), else a read-only broadcast."""
    return a if a.shape == (n,) else np.broadcast_to(a, (n,))  # type: ignore[return-value]


EXACT_FLOAT = 2**53  # integers below this add exactly in float64


def int_sums(slots: Ints, values: Ints, size: int) -> Ints:
    """Exact integer sums of ``values`` per slot (0 .. size-1): one weighted count (float64)
    when no sum can reach 2**53, so every partial sum is exact; else added one by one."""
    if values.size and int(np.abs(values).max()) * values.size < EXACT_FLOAT:
        return np.bincount(slots, weights=values, minlength=size).astype(np.int64)
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, slots, values)
    return out


def member(data: npt.NDArray[np.generic], values: Ints) -> Bool:
    """Whether each integer of ``data`` is one of ``values`` (sorted, unique, not empty):
    a binary search, a few microseconds where ``np.isin`` costs tens on small inputs."""
    if values.size == 0:
        return np.zeros(np.shape(data), dtype=np.bool_)
    at = np.searchsorted(values, data)
    return np.asarray(values.take(at, mode="clip") == data, dtype=np.bool_)


def sorted_ints(values: object) -> Ints:
    """The sorted unique integers of an iterable, for ``member``."""
    return np.unique(np.fromiter((int(v) for v in values), dtype=np.int64))  # type: ignore[attr-defined]


def merge(*vals: Val) -> tuple[Bool | None, Bool | None]:
    """Unknown if any input is unknown; unexplained if any unknown input is unexplained."""
    unknown: Bool | None = None
    unexplained: Bool | None = None
    for v in vals:
        if v.unknown is not None:
            unknown = v.unknown if unknown is None else unknown | v.unknown
        if v.unexplained is not None:
            unexplained = v.unexplained if unexplained is None else unexplained | v.unexplained
    return unknown, unexplained


def lift(data: npt.NDArray[np.generic], *inputs: Val) -> Val:
    """A result that is unknown wherever one of its inputs is."""
    for v in inputs:
        if v.unknown is not None or v.unexplained is not None:
            unknown, unexplained = merge(*inputs)
            return Val(data, unknown, unexplained)
    return Val(data)


def truth(v: Val) -> tuple[Bool, Bool]:
    """(known true, known false) masks of a boolean value."""
    data = np.asarray(v.data, dtype=np.bool_)
    if v.unknown is None:
        return data, ~data
    known = ~v.unknown
    return data & known, ~data & known


def kleene_and(a: Val, b: Val) -> Val:
    if a.unknown is None and b.unknown is None:
        return Val(np.logical_and(a.data, b.data))
    at, af = truth(a)
    bt, bf = truth(b)
    false = af | bf
    true = at & bt
    unknown = ~(true | false)
    unexplained = _unexplained_of(unknown, a, b)
    return Val(true, unknown, unexplained)


def kleene_or(a: Val, b: Val) -> Val:
    if a.unknown is None and b.unknown is None:
        return Val(np.logical_or(a.data, b.data))
    at, af = truth(a)
    bt, bf = truth(b)
    true = at | bt
    false = af & bf
    unknown = ~(true | false)
    unexplained = _unexplained_of(unknown, a, b)
    return Val(true, unknown, unexplained)


def kleene_not(a: Val) -> Val:
    return Val(np.logical_not(a.data), a.unknown, a.unexplained)


def _unexplained_of(unknown: Bool, *inputs: Val) -> Bool | None:
    parts = [v.unexplained for v in inputs if v.unexplained is not None]
    if not parts:
        return None
    combined = parts[0]
    for p in parts[1:]:
        combined = combined | p
    return unknown & combined


def broadcast(v: Val, n: int) -> Val:
    """Give a (possibly constant) value one entry per row."""
    data = v.data
    if data.ndim == 0:
        data = np.broadcast_to(data, (n,))
    unknown = v.unknown
    unexplained = v.unexplained
    if unknown is not None and unknown.ndim == 0:
        unknown = np.broadcast_to(unknown, (n,))
    if unexplained is not None and unexplained.ndim == 0:
        unexplained = np.broadcast_to(unexplained, (n,))
    return Val(data, unknown, unexplained)
