"""Character checks screened together: the rules that only ask every character of a span of
their own record to be in a set.

Input: the rules of one record type and phase (``RulePlan``), each with its ``CharCheck`` if
it is one: ``numeric(Z)``, ``zero(Z)``, ``blank(Z)``, ``only(Z, "…")``, ``not has_any(Z,
"…")``, ``Z[1] in ("+", "-")``, ``Z[1] = "0"`` … on raw characters of the record, with no
``when``.
Output: the rules worth evaluating on a scope. Each such rule costs microseconds of overhead
for nanoseconds of work; screened together, the smallest and largest character of each
column over all the records tell at once which checks cannot be violated (every column's
range within one run of allowed characters). Only the others go through their own closure
and the report. A raw character is never unknown, so a screened rule has nothing to say.

Likewise the rules that only ask a zone of their own record to equal the same-length zone of
their anchor record (``self.Z = anchor ET20.Z``, both digits or both text, no ``when``):
where every record's characters equal its anchor's, all digits where the zones are numeric,
and every record has its anchor, the values are known and equal. The anchor's characters are
read once per record type and anchor type for all such rules, from the rows the rules read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from compiler.screens import AnchorCheck, CharCheck, runs_of
from validator.scope import Scope
from validator.values import Bool, Ints, some
from validator.zones import batch_sources, chunk_sources

if TYPE_CHECKING:
    from validator.plan import RulePlan


@dataclass(frozen=True, slots=True)
class AnchorScreen:
    """The anchor checks among one record type's rules of one phase against one anchor
    record type, flattened: each check is its columns one after the other."""

    anchor: str
    positions: Ints  # each check's position in the rule list
    check_starts: Ints  # where each check's columns start among the columns
    own: Ints  # each column's character position in the own record
    theirs: Ints  # and in the anchor record
    digits: Bool  # per column: its character must be a digit

    def quiet(self, scope: Scope) -> Bool | None:
        """Per check, whether it holds on every record of ``scope`` (None: not told)."""
        if scope.parts is None:
            found = chunk_sources(scope, "anchor", self.anchor)
        elif scope.batch is not None:
            found = batch_sources(scope, "anchor", self.anchor)
        else:
            return None
        if found is None:
            return None
        target, positions, missing = found
        if some(missing):  # a record without its anchor: evaluated
            return None
        theirs = target.cols[self.theirs].take(positions, axis=1)
        mine = scope.cols[self.own]
        same = mine == theirs
        if self.digits.any():
            same[self.digits] &= mine[self.digits] - np.uint8(48) < 10  # others wrap
        return np.logical_and.reduceat(np.logical_and.reduce(same, axis=1), self.check_starts)


@dataclass(frozen=True, slots=True)
class ZoneScreen:
    """The character checks among one record type's rules of one phase (see the module),
    flattened: each check is its columns one after the other, each column its allowed runs
    (``pair_*``: one entry per column and run); and its anchor checks, per anchor type."""

    positions: Ints  # each check's position in the rule list
    check_starts: Ints  # where each check's columns start among the columns
    column_starts: Ints  # where each column's runs start among the pairs
    pair_column: Ints  # the character position of each pair
    pair_first: Ints  # the first code of its run
    pair_end: Ints  # one past its last code
    anchors: tuple[AnchorScreen, ...] = ()

    def keep(self, scope: Scope, plans: list[RulePlan]) -> list[RulePlan]:
        """The rules of ``plans`` to evaluate one by one on ``scope``."""
        if scope.is_segment or scope.n == 0:
            return plans
        quiet = np.zeros(len(plans), dtype=np.bool_)
        if self.positions.size:
            cols = scope.cols  # per character position, its smallest and largest character
            low = np.minimum.reduce(cols, axis=1).astype(np.int16)[self.pair_column]
            high = np.maximum.reduce(cols, axis=1).astype(np.int16)[self.pair_column]
            fits = (low >= self.pair_first) & (high < self.pair_end)  # the range within the run
            column_ok = np.logical_or.reduceat(fits, self.column_starts)
            quiet[self.positions] = np.logical_and.reduceat(column_ok, self.check_starts)
        for anchored in self.anchors:
            holds = anchored.quiet(scope)
            if holds is not None:
                quiet[anchored.positions] = holds
        return [rp for rp, q in zip(plans, quiet.tolist(), strict=True) if not q]


def ints(values: list[int], dtype: type = np.intp) -> Ints:
    return np.array(values, dtype=dtype)


def zone_screen(plans: list[RulePlan]) -> ZoneScreen | None:
    checks = [(i, rp.check) for i, rp in enumerate(plans) if isinstance(rp.check, CharCheck)]
    anchored = [(i, rp.check) for i, rp in enumerate(plans) if isinstance(rp.check, AnchorCheck)]
    if not checks and not anchored:
        return None
    check_starts: list[int] = []
    column_starts: list[int] = []
    pairs: list[tuple[int, int, int]] = []
    for _, check in checks:
        check_starts.append(len(column_starts))
        runs = runs_of(check.allowed) or ((0, 0),)  # nothing allowed: an empty run
        for column in range(check.offset, check.end):
            column_starts.append(len(pairs))
            pairs.extend((column, first, first + count) for first, count in runs)
    return ZoneScreen(
        positions=ints([i for i, _ in checks]),
        check_starts=ints(check_starts),
        column_starts=ints(column_starts),
        pair_column=ints([c for c, _, _ in pairs]),
        pair_first=ints([f for _, f, _ in pairs], np.int16),
        pair_end=ints([e for _, _, e in pairs], np.int16),
        anchors=tuple(
            anchor_screen(record, [(i, a) for i, a in anchored if a.anchor == record])
            for record in sorted({a.anchor for _, a in anchored})
        ),
    )


def anchor_screen(record: str, checks: list[tuple[int, AnchorCheck]]) -> AnchorScreen:
    starts: list[int] = []
    own: list[int] = []
    theirs: list[int] = []
    digits: list[bool] = []
    for _, a in checks:
        starts.append(len(own))
        own.extend(range(a.offset, a.offset + a.length))
        theirs.extend(range(a.anchor_offset, a.anchor_offset + a.length))
        digits.extend([a.digits] * a.length)
    return AnchorScreen(
        anchor=record,
        positions=ints([i for i, _ in checks]),
        check_starts=ints(starts),
        own=ints(own),
        theirs=ints(theirs),
        digits=np.array(digits, dtype=np.bool_),
    )
