"""One record's values with three-valued logic, and the bridge to the check library.

A value is known or unknown; an unknown value is unexplained when nothing already reported
explains it (no finding on the zone it was read from). A rule is violated where its condition
is known false; where it is unknown and unexplained, the rule could not be evaluated (RB0008).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from validator.values import Val

Data = int | bool | bytes


@dataclass(frozen=True, slots=True)
class V:
    """A value of one record."""

    data: Data
    unknown: bool = False
    unexplained: bool = False
    flagged: bool = False  # raw characters of a zone that already has a finding

    @property
    def true(self) -> bool:
        return not self.unknown and bool(self.data)

    @property
    def false(self) -> bool:
        return not self.unknown and not bool(self.data)


def lift(data: Data, *inputs: V) -> V:
    """A result unknown wherever an input is (unexplained if an input is)."""
    return V(
        data,
        any(v.unknown for v in inputs),
        any(v.unexplained for v in inputs),
    )


def kleene_and(a: V, b: V) -> V:
    if a.false or b.false:
        return V(False)
    if a.true and b.true:
        return V(True)
    return V(False, True, a.unexplained or b.unexplained)


def kleene_or(a: V, b: V) -> V:
    if a.true or b.true:
        return V(True)
    if a.false and b.false:
        return V(False)
    return V(False, True, a.unexplained or b.unexplained)


def kleene_not(a: V) -> V:
    return V(not a.data, a.unknown, a.unexplained)


def to_val(v: V) -> Val:
    """A one-record column for the check library (``validator.functions``): the library's
    functions are the language's primitives, shared by both evaluators."""
    if isinstance(v.data, bytes):
        data: np.ndarray = np.frombuffer(v.data, dtype=np.uint8).reshape(-1, 1)
    elif isinstance(v.data, bool):
        data = np.array([v.data], dtype=np.bool_)
    else:
        data = np.array([v.data], dtype=np.int64)
    return Val(
        data,
        np.array([True]) if v.unknown else None,
        np.array([v.unexplained]) if v.unknown else None,
        np.array([v.flagged]),
    )


def from_val(out: Val) -> V:
    data = np.asarray(out.data)
    value: Data
    if data.ndim == 2:
        value = data[:, 0].astype(np.uint8).tobytes()
    else:
        item = data.reshape(-1)[0].item()
        value = item if isinstance(item, bool | int) else int(item)
    unknown = out.unknown is not None and bool(np.asarray(out.unknown).reshape(-1)[0])
    unexplained = out.unexplained is not None and bool(np.asarray(out.unexplained).reshape(-1)[0])
    return V(value, unknown, unexplained and unknown)
