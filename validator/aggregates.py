"""Aggregates over a streamed file: running sums and counts that survive chunk boundaries.

Input: each chunk's contributing records (the sources of an aggregate, with its condition,
value and key), and the state carried from earlier chunks.
Output: for the rule's records, the aggregate's value: running over the sending, within the
current group occurrence (an invoice), complete for the group's opener once the group has
ended, keyed (``where ET20.destination = this.mutuality``), or the file totals at the end.

Unknown contributions (a non-numeric amount) make the aggregate unknown; they stay
"explained" when the contributing zone already has a finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from compiler import ir
from validator.aggregate_batch import (
    KeyedBatch,
    RunningBatch,
    keyed_values,
    sums_by_file_and_key,
)
from validator.chunk import Chunk
from validator.contributions import (
    Contributions,
    KeyedPart,
    Part,
    Totals,
    constant,
    counted,
    group_ends,
    mask,
    no_counts,
    source_contributions,
    with_key,
)
from validator.scope import AggregateValues, Env, Fn, Scope, join_vals, layout_scope
from validator.values import Bool, Ints, Val, some, spread


@dataclass(slots=True)
class AggRuntime:
    """The state and per-chunk results of one aggregate of one rule."""

    node: ir.Aggregate
    mode: str  # mode of the rule: stream | opener | final
    parts: list[Part]
    this_key: Fn | None
    group: ir.Group | None
    share: int = 0  # aggregates with the same source parts share their contributions
    total: Totals = field(default_factory=Totals)
    open_base: Totals = field(default_factory=Totals)
    _by_key: dict[int, Totals] = field(default_factory=dict)  # see ``keyed``
    unkeyed: Totals = field(default_factory=Totals)  # contributions whose key is unknown
    # per chunk
    _s: Ints | None = None
    _u: Ints | None = None
    _x: Ints | None = None
    _c: tuple[Ints, Ints, Ints] | None = None
    _contrib: tuple[Ints, Ints, Ints, Ints, Ints] | None = None  # pos, key, c, u, x
    _unkeyed_run: tuple[Ints, Ints] | None = None
    _base_at: Callable[[Ints], tuple[Ints, Ints, Ints]] | None = None
    _base_value_at: Callable[[Ints], Ints] | None = None
    tainted: bool = False  # an unknown contribution (or key) was seen: counts may not be 0
    _batch: KeyedBatch | None = None  # this chunk's keyed contributions, with its batch's
    _unfolded: KeyedBatch | None = None  # an ended chunk's, not yet in ``keyed``
    _running: RunningBatch | None = None  # this chunk's running sums, with its batch's
    _chunk: Chunk | None = None  # the chunk of those

    @property
    def keyed(self) -> dict[int, Totals]:
        """The keyed totals carried from the chunks ended so far, per key. A batch's are
        folded in when first read: after a file's last chunk they seldom are."""
        self._fold_ended()
        return self._by_key

    def _fold_ended(self) -> None:
        """Fold the batch of the chunk ended last, if not yet (every file's at once)."""
        if self._unfolded is not None:
            self._unfolded.fold()
            self._unfolded = None

    # ------------------------------------------------------------------ contributions

    def contributions(self, chunk: Chunk, env: Env, shared: dict[object, object]) -> None:
        """This chunk's contributions; identical source parts are computed once per chunk."""
        found = shared.get(self.share)
        if found is None:
            found = self._compute_parts(chunk, env)
            shared[self.share] = found
        c, cu, cx, keyed_parts = cast(Contributions, found)
        self._accumulate(chunk, c, cu, cx, keyed_parts)

    def _compute_parts(self, chunk: Chunk, env: Env) -> Contributions:
        def rows(layout: ir.Layout) -> tuple[Scope, Ints, Bool] | None:
            idx = chunk.rows_of(layout.name)
            if idx.size == 0:
                return None
            return layout_scope(chunk, layout, env), idx, chunk.is_new[idx]

        return source_contributions(self.parts, chunk.n, rows)

    def _accumulate(
        self,
        chunk: Chunk,
        c: Ints,
        cu: Ints | None,
        cx: Ints | None,
        keyed_parts: list[KeyedPart],
    ) -> None:
        n = chunk.n
        clean = cu is None or cx is None  # nothing unknown in this chunk: no running counts
        if cu is None or cx is None:
            cu = cx = no_counts(n)
        else:
            self.tainted = True
        self._c = (c, cu, cx)
        if self.node.this_key is not None:
            self._keyed_contributions(chunk, c, cu, cx, keyed_parts)
            return
        if self.mode == "final":  # read at the end of the file only: the totals suffice
            t = self.total
            unknown = (0, 0) if clean else (int(cu.sum()), int(cx.sum()))
            self.total = Totals(
                t.value + int(c.sum()), t.unknown + unknown[0], t.unexplained + unknown[1]
            )
            return
        self._s = self.total.value + np.cumsum(c)
        if clean:  # constant running counts: read-only views, nothing allocated
            self._u = constant(self.total.unknown, n)
            self._x = constant(self.total.unexplained, n)
        else:
            self._u = self.total.unknown + np.cumsum(cu)
            self._x = self.total.unexplained + np.cumsum(cx)
        if self.group is not None:
            self._prepare_group(chunk)
        if n:
            self.total = Totals(int(self._s[-1]), int(self._u[-1]), int(self._x[-1]))

    def accumulate_clean_run(self, chunk: Chunk, c: Ints, s: Ints) -> None:
        """``_accumulate`` of a running total (not keyed, not final) when nothing unknown
        was ever contributed: ``s``, this chunk's running sums, comes from a whole batch's
        sums (``accumulate_batch``), the counts are zero."""
        zeros = no_counts(chunk.n)
        self._c = (c, zeros, zeros)
        self._s, self._u, self._x = s, zeros, zeros
        if self.group is not None:
            self._prepare_group(chunk)
        if chunk.n:
            self.total = Totals(int(s[-1]), 0, 0)

    def _keyed_contributions(
        self,
        chunk: Chunk,
        c: Ints,
        cu: Ints,
        cx: Ints,
        parts: list[KeyedPart],
    ) -> None:
        n = chunk.n
        if all(kunk is None for _, _, kunk, _ in parts):  # every key known: nothing unkeyed
            p = np.concatenate([idx for idx, _, _, _ in parts]) if parts else np.zeros(0, np.int64)
            k = np.concatenate([kd for _, kd, _, _ in parts]) if parts else np.zeros(0, np.int64)
            self._contrib = (p, k, c[p], cu[p], cx[p])
            u = self.unkeyed
            self._unkeyed_run = (constant(u.unknown, n), constant(u.unexplained, n))
            return
        self.tainted = True
        key_unknown = np.zeros(n, dtype=np.int64)
        key_unx = np.zeros(n, dtype=np.int64)
        pos: list[Ints] = []
        keys: list[Ints] = []
        for idx, kdata, kunk, kunx in parts:
            if kunk is None:
                pos.append(idx)
                keys.append(kdata)
                continue
            involved = (c[idx] != 0) | (cu[idx] != 0)
            bad = kunk & involved
            key_unknown[idx] = bad
            key_unx[idx] = bad & mask(kunx, idx.size)
            good = ~kunk
            pos.append(idx[good])
            keys.append(kdata[good])
        p = np.concatenate(pos) if pos else np.zeros(0, np.int64)
        k = np.concatenate(keys) if keys else np.zeros(0, np.int64)
        self._contrib = (p, k, c[p], cu[p], cx[p])
        self._unkeyed_run = (
            self.unkeyed.unknown + np.cumsum(key_unknown),
            self.unkeyed.unexplained + np.cumsum(key_unx),
        )

    def _prepare_group(self, chunk: Chunk) -> None:
        assert self.group is not None and self._c is not None and self._s is not None
        start = chunk.group_start(self.group)
        c, cu, cx = self._c
        s, u, x = self._s, self._u, self._x
        assert u is not None and x is not None
        base = self.open_base

        def base_value_at(starts: Ints) -> Ints:
            safe = np.maximum(starts, 0)
            return np.where(chunk.is_new[safe], s[safe] - c[safe], base.value)

        def base_at(starts: Ints) -> tuple[Ints, Ints, Ints]:
            safe = np.maximum(starts, 0)
            new = chunk.is_new[safe]
            return (
                base_value_at(starts),
                np.where(new, u[safe] - cu[safe], base.unknown),
                np.where(new, x[safe] - cx[safe], base.unexplained),
            )

        self._base_at = base_at
        self._base_value_at = base_value_at
        # the group still open at the end of this chunk keeps its base for the next chunk
        last = chunk.last_new
        opener = int(start[last]) if last >= 0 else -1
        if opener >= 0 and chunk.is_new[opener]:
            self.open_base = Totals(
                int(s[opener] - c[opener]), int(u[opener] - cu[opener]), int(x[opener] - cx[opener])
            )

    # ------------------------------------------------------------------ values

    def value_at(self, scope: Scope) -> Val:
        if self.mode == "final":
            return self._final(scope)
        if self.node.this_key is not None:
            return self._keyed(scope)
        assert self._s is not None and self._u is not None and self._x is not None
        idx = scope.idx
        if self.group is None:
            if not self.tainted:
                return Val(self._s[idx])
            return counted(self._s[idx], self._u[idx], self._x[idx])
        assert self._base_at is not None
        start = scope.chunk.group_start(self.group)
        starts = start[idx]
        outside = starts < 0
        if self.mode == "opener":
            ends = group_ends(start, scope.chunk.n)
            at = ends[np.maximum(starts, 0)]
        else:
            at = idx
        if not self.tainted:  # the counts are 0: only the values and the rows outside a group
            assert self._base_value_at is not None
            value = self._s[at] - self._base_value_at(starts)
            if some(outside):
                return Val(value, outside, np.zeros(idx.size, dtype=np.bool_))
            return Val(value)
        bv, bu, bx = self._base_at(starts)
        value = self._s[at] - bv
        unknown = (self._u[at] - bu) > 0
        unexplained = (self._x[at] - bx) > 0
        if some(outside):
            unknown = unknown | outside  # no group occurrence: explained by the structure rules
        return Val(value, unknown if some(unknown) else None, unexplained & ~outside)

    def _final(self, scope: Scope) -> Val:
        if self.node.this_key is None:
            t = self.total
            n = scope.n
            return counted(np.full(n, t.value), np.full(n, t.unknown), np.full(n, t.unexplained))
        assert self.this_key is not None
        k = self.this_key(scope)
        keys = spread(np.asarray(k.data, dtype=np.int64), scope.n)
        rows = [self.keyed.get(int(key), Totals()) for key in keys]
        value = np.array([r.value for r in rows], dtype=np.int64)
        unk = np.array([r.unknown + self.unkeyed.unknown for r in rows], dtype=np.int64)
        unx = np.array([r.unexplained + self.unkeyed.unexplained for r in rows], dtype=np.int64)
        return with_key(counted(value, unk, unx), k)

    def joined_value(self, runtimes: list[AggregateValues], scope: Scope) -> Val:
        """Values on a joined scope; ``runtimes``: this aggregate in each part's validation.
        Keyed running totals are looked up for all the parts at once."""
        assert scope.parts is not None
        mine = [cast(AggRuntime, r) for r in runtimes]
        if self.mode != "final" and self.this_key is not None:
            return keyed_values(mine, list(scope.parts), self.this_key(scope), scope)
        shared = self._running
        if shared is not None and all(r._running is shared and not r.tainted for r in mine):
            found = shared.value(self, scope)
            if found is not None:
                return found
        return join_vals(
            [r.value_at(p) for r, p in zip(mine, scope.parts, strict=True)], scope.sizes
        )

    def contributions_of_chunk(self) -> tuple[Ints, Ints, Ints, Ints, Ints]:
        """This chunk's keyed contributions: rows in the chunk, keys, values and counts."""
        if self._batch is not None and self._chunk is not None:
            pos, keys, values = self._batch.own(self, self._chunk)
            zeros = no_counts(pos.size)
            return pos, keys, values, zeros, zeros
        assert self._contrib is not None  # contributions of this chunk, by end_chunk's time
        return self._contrib

    def _keyed(self, scope: Scope) -> Val:
        assert self.this_key is not None
        return keyed_values([self], [scope], self.this_key(scope))

    def end_chunk(self) -> None:
        """Fold this chunk's keyed contributions into the carried totals."""
        if self._batch is not None:
            self._fold_ended()  # an earlier chunk's batch, before this one's
            self._unfolded = self._batch  # folded when the totals are read (``keyed``)
            self._batch = self._chunk = None
        self._running = None
        if self._contrib is not None and self._unkeyed_run is not None:
            _, kk, c, cu, cx = self._contrib
            one_file = np.zeros_like(kk)
            for _, key, value in sums_by_file_and_key(one_file, kk, c):
                self.keyed.setdefault(key, Totals()).value += value
            if self.tainted:  # the counts of unknown contributions too (else all 0)
                for _, key, count in sums_by_file_and_key(one_file, kk, cu):
                    self.keyed.setdefault(key, Totals()).unknown += count
                for _, key, count in sums_by_file_and_key(one_file, kk, cx):
                    self.keyed.setdefault(key, Totals()).unexplained += count
            uk_u, uk_x = self._unkeyed_run
            if uk_u.size:
                self.unkeyed = Totals(0, int(uk_u[-1]), int(uk_x[-1]))
        self._contrib = None
        self._unkeyed_run = None
        self._s = self._u = self._x = None
        self._c = None
        self._base_at = self._base_value_at = None


def closed_openers(chunk: Chunk, group: ir.Group, candidates: Ints) -> Ints:
    """The opener rows among ``candidates`` whose group occurrence ends in this chunk."""
    if candidates.size == 0:
        return candidates
    start = chunk.group_start(group)
    ends = group_ends(start, chunk.n)[candidates]
    closed = (ends < chunk.n - 1) | chunk.eof
    return np.asarray(candidates[closed], dtype=np.int64)
