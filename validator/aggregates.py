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
from validator.chunk import Chunk, ChunkRows
from validator.scope import AggregateValues, Env, Fn, Scope, join_vals, layout_scope
from validator.values import Bool, Ints, Val, int_sums, some, spread, truth

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


@dataclass(slots=True)
class KeyedBatch:
    """A keyed aggregate's contributions in the chunks of a batch (one per file), one
    after the other, when every key and value is known: read by ``keyed_values`` for all
    the files at once and folded into each file's totals in one sort (``fold``)."""

    runtimes: list[AggRuntime]  # each file's runtime, in the batch's order
    starts: dict[int, int]  # id of each file's chunk -> its first row in the batch
    pos: Ints  # rows of the contributing records in the batch
    keys: Ints
    values: Ints
    owner: Ints  # index of each contribution's file
    folded: bool = False

    def own(self, runtime: AggRuntime, chunk: Chunk) -> tuple[Ints, Ints, Ints]:
        """One file's contributions (rows in its chunk, keys, values)."""
        mine = self.owner == self.file_of(runtime)
        return self.pos[mine] - self.starts[id(chunk)], self.keys[mine], self.values[mine]

    def file_of(self, runtime: AggRuntime) -> int:
        """The index of a file's runtime in the batch (by identity)."""
        return next(i for i, r in enumerate(self.runtimes) if r is runtime)

    def fold(self) -> None:
        """Add this batch's sums per file and key to each file's carried totals (once)."""
        if self.folded:
            return
        self.folded = True
        for f, key, value in sums_by_file_and_key(self.owner, self.keys, self.values):
            self.runtimes[f]._by_key.setdefault(key, Totals()).value += value


@dataclass(slots=True)
class RunningBatch:
    """A running total's sums in the chunks of a batch (one per file), one after the other,
    when nothing unknown was contributed (``accumulate_batch``): read by ``joined_value``
    for all the files at once instead of file by file."""

    starts: dict[int, int]  # id of each file's chunk -> its first row in the batch
    running: Ints  # per row: its file's running sum (the total carried from earlier chunks in)
    c: Ints  # per row: its contribution
    base: Ints | None  # per row: its file's sum before the group occurrence left open earlier

    def value(self, node: AggRuntime, scope: Scope) -> Val | None:
        """``value_at`` on a joined scope of the batch (None: not this batch's rows)."""
        batch = scope.batch
        assert scope.parts is not None
        if batch is None or any(
            self.starts.get(id(p.chunk)) != batch.offset.get(id(p.chunk)) for p in scope.parts
        ):
            return None
        rows = scope.batch_rows
        if node.group is None:
            return Val(self.running[rows])
        assert self.base is not None
        start = batch_group_start(batch, node.group)
        starts = start[rows]
        outside = starts < 0
        safe = np.maximum(starts, 0)
        at = batch_group_ends(batch, node.group)[safe] if node.mode == "opener" else rows
        is_new = batch_is_new(batch)
        running, c = self.running, self.c
        value = running[at] - np.where(is_new[safe], running[safe] - c[safe], self.base[safe])
        if some(outside):
            return Val(value, outside, np.zeros(rows.size, dtype=np.bool_))
        return Val(value)


def batch_is_new(batch: ChunkRows) -> Bool:
    """Whether each of the batch's rows is new in its chunk."""
    found = batch.memo.get("is_new")
    if found is None:
        found = batch.memo["is_new"] = np.concatenate([c.is_new for c in batch.chunks])
    return found


def batch_group_start(batch: ChunkRows, group: ir.Group) -> Ints:
    """``Chunk.group_start`` of each chunk, in the batch's rows (-1: in no occurrence)."""
    key = ("group_start", group.name)
    found = batch.memo.get(key)
    if found is None:
        parts = []
        for chunk in batch.chunks:
            start = chunk.group_start(group)
            parts.append(np.where(start >= 0, start + batch.offset[id(chunk)], -1))
        found = batch.memo[key] = np.concatenate(parts)
    return found


def batch_group_ends(batch: ChunkRows, group: ir.Group) -> Ints:
    """For each opener row of the batch, the last row of its occurrence (occurrences do not
    cross chunks: ``_group_ends`` over the batch's rows)."""
    key = ("group_ends", group.name)
    found = batch.memo.get(key)
    if found is None:
        start = batch_group_start(batch, group)
        found = batch.memo[key] = _group_ends(start, start.size)
    return found


def sums_by_file_and_key(owner: Ints, keys: Ints, values: Ints) -> list[tuple[int, int, int]]:
    """(file, key, sum of values) for each file and key among the contributions (a zero sum
    may be left out: absent keys read as zero). Keys in a narrow range are summed into one
    slot per file and key (``int_sums``); others are sorted."""
    if not keys.size:
        return []
    low = int(keys.min())
    span = int(keys.max()) - low + 1
    files = int(owner.max()) + 1
    if files * span <= 4 * keys.size + 1024:  # narrow: one slot per file and key
        sums = int_sums(owner * span + (keys - low), values, files * span)
        hit = np.flatnonzero(sums)
        return [
            (s // span, s % span + low, v)
            for s, v in zip(hit.tolist(), sums[hit].tolist(), strict=True)
        ]
    order = np.lexsort((keys, owner))
    by_key, by_file = keys[order], owner[order]
    change = (by_key[1:] != by_key[:-1]) | (by_file[1:] != by_file[:-1])
    first = np.flatnonzero(np.concatenate(([True], change)))
    totals = np.add.reduceat(values[order], first)
    return list(zip(by_file[first].tolist(), by_key[first].tolist(), totals.tolist(), strict=True))


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
            self._u = _constant(self.total.unknown, n)
            self._x = _constant(self.total.unexplained, n)
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
            self._unkeyed_run = (_constant(u.unknown, n), _constant(u.unexplained, n))
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
            key_unx[idx] = bad & _mask(kunx, idx.size)
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
            return _val(self._s[idx], self._u[idx], self._x[idx])
        assert self._base_at is not None
        start = scope.chunk.group_start(self.group)
        starts = start[idx]
        outside = starts < 0
        if self.mode == "opener":
            ends = _group_ends(start, scope.chunk.n)
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
            return _val(np.full(n, t.value), np.full(n, t.unknown), np.full(n, t.unexplained))
        assert self.this_key is not None
        k = self.this_key(scope)
        keys = spread(np.asarray(k.data, dtype=np.int64), scope.n)
        rows = [self.keyed.get(int(key), Totals()) for key in keys]
        value = np.array([r.value for r in rows], dtype=np.int64)
        unk = np.array([r.unknown + self.unkeyed.unknown for r in rows], dtype=np.int64)
        unx = np.array([r.unexplained + self.unkeyed.unexplained for r in rows], dtype=np.int64)
        return _with_key(_val(value, unk, unx), k)

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


def accumulate_batch(
    runtimes: list[AggRuntime], chunks: list[Chunk], offsets: list[int], found: Contributions
) -> bool:
    """One aggregate's contributions for the chunks of a batch (one per file, ``offsets``:
    where each starts in ``found``, computed over them one after the other), folded into
    each file's runtime when nothing unknown was ever contributed to any of them: the
    running sums in one pass over the batch, end-of-file totals in one reduction. False
    (nothing done) otherwise: each file then accumulates its own share."""
    c, cu, _, keyed = found
    first = runtimes[0]
    if cu is not None or any(r.tainted for r in runtimes) or any(ch.n == 0 for ch in chunks):
        return False
    starts = offsets[:-1]
    if first.node.this_key is not None:
        if any(kunk is not None for _, _, kunk, _ in keyed):
            return False
        empty = np.zeros(0, dtype=np.int64)
        pos = np.concatenate([idx for idx, _, _, _ in keyed]) if keyed else empty
        batch = KeyedBatch(
            runtimes=runtimes,
            starts={id(chunk): lo for chunk, lo in zip(chunks, starts, strict=True)},
            pos=pos,
            keys=np.concatenate([k for _, k, _, _ in keyed]) if keyed else empty,
            values=c[pos],
            owner=np.searchsorted(np.asarray(offsets[1:], dtype=np.int64), pos, side="right"),
        )
        for runtime, chunk, lo in zip(runtimes, chunks, starts, strict=True):
            zeros = no_counts(chunk.n)
            runtime._c = (c[lo : lo + chunk.n], zeros, zeros)
            runtime._batch, runtime._chunk = batch, chunk
            runtime._unkeyed_run = (zeros, zeros)  # no unknown key: the counts stay 0
        return True
    if first.mode == "final":
        sums = np.add.reduceat(c, starts).tolist()
        for runtime, chunk, lo, value in zip(runtimes, chunks, starts, sums, strict=True):
            zeros = no_counts(chunk.n)
            runtime._c = (c[lo : lo + chunk.n], zeros, zeros)
            runtime.total = Totals(runtime.total.value + value, 0, 0)
        return True
    running = np.cumsum(c)
    before = np.concatenate(([0], running[np.asarray(offsets[1:-1], dtype=np.int64) - 1]))
    carried = np.array([r.total.value for r in runtimes], dtype=np.int64)
    sizes = [chunk.n for chunk in chunks]
    running += np.repeat(carried - before, sizes)
    base = None  # each file's open occurrence's base, before this chunk updates it
    if first.group is not None:
        base = np.repeat(np.array([r.open_base.value for r in runtimes], dtype=np.int64), sizes)
    shared = RunningBatch(
        starts={id(chunk): lo for chunk, lo in zip(chunks, starts, strict=True)},
        running=running,
        c=c,
        base=base,
    )
    for runtime, chunk, lo, hi in zip(runtimes, chunks, starts, offsets[1:], strict=True):
        runtime.accumulate_clean_run(chunk, c[lo:hi], running[lo:hi])
        runtime._running = shared
    return True


NO_TOTALS = Totals()  # read only


def _shared_batch(
    runtimes: list[AggRuntime], scopes: list[Scope], joined: Scope | None
) -> KeyedBatch | None:
    """The batch of keyed contributions all ``runtimes`` share, when ``joined`` (the scope
    made of ``scopes``) reads the same batch rows: its records' rows can then be compared
    with the contributions' as they are."""
    batch = runtimes[0]._batch
    if batch is None or joined is None or joined.batch is None:
        return None
    if any(r._batch is not batch for r in runtimes):
        return None
    offset = joined.batch.offset
    for scope in scopes:
        start = batch.starts.get(id(scope.chunk))
        if start is None or offset.get(id(scope.chunk)) != start:
            return None
    return batch


def keyed_values(
    runtimes: list[AggRuntime], scopes: list[Scope], k: Val, joined: Scope | None = None
) -> Val:
    """Running keyed totals (``where … = this.key``) for the records of ``scopes``, one
    aggregate runtime each (the files of a batch; ``k``: the records' keys, one after the
    other; ``joined``: the scope they are the parts of): the sums so far of each file's
    contributions with the same key, sorted once."""
    qkeys = spread(np.asarray(k.data, dtype=np.int64), sum(s.n for s in scopes))
    batch = _shared_batch(runtimes, scopes, joined)
    if batch is not None and joined is not None:  # the batch's contributions as they are
        zeros = no_counts(batch.pos.size)  # nothing unknown in a shared batch
        parts = [(batch.pos, batch.keys, batch.values, zeros, zeros)]
        p = batch.pos
        qpos = joined.batch_rows
        files = [batch.file_of(r) for r in runtimes]
        contributors = batch.owner
    else:
        parts = [runtime.contributions_of_chunk() for runtime in runtimes]
        p = np.concatenate([c[0] for c in parts])
        qpos = np.concatenate([s.idx for s in scopes])
        files = list(range(len(runtimes)))
        contributors = np.concatenate(
            [np.full(c[0].size, f, np.int64) for f, c in enumerate(parts)]
        )
    owner = np.concatenate(
        [contributors] + [np.full(s.n, f, np.int64) for f, s in zip(files, scopes, strict=True)]
    )
    order_keys = np.concatenate([*(c[1] for c in parts), qkeys])
    order_pos = np.concatenate([p, qpos])
    is_query = np.concatenate([np.zeros(p.size, np.int64), np.ones(qpos.size, np.int64)])
    order = np.lexsort((is_query, order_pos, order_keys, owner))
    sorted_keys, sorted_owner = order_keys[order], owner[order]
    boundary = np.concatenate(
        ([True], (sorted_keys[1:] != sorted_keys[:-1]) | (sorted_owner[1:] != sorted_owner[:-1]))
    )
    group_id = np.cumsum(boundary) - 1
    first = np.flatnonzero(boundary)
    counted = any(r.tainted for r in runtimes)  # else every count is 0: values only
    results = []
    for column in (2, 3, 4) if counted else (2,):
        arr = np.concatenate([*(c[column] for c in parts), np.zeros(qpos.size, np.int64)])
        run = np.cumsum(arr[order])
        before = np.concatenate(([0], run[:-1]))[first]
        results.append(run - before[group_id])
    query_slots = np.empty(qpos.size, dtype=np.int64)
    query_slots[order[order >= p.size] - p.size] = np.flatnonzero(order >= p.size)
    keys = qkeys.tolist()
    carried_totals: list[Totals] = []  # each query's totals carried from earlier chunks
    at = 0
    for runtime, scope in zip(runtimes, scopes, strict=True):
        carried = runtime.keyed
        carried_totals.extend(carried.get(key, NO_TOTALS) for key in keys[at : at + scope.n])
        at += scope.n
    value = np.array([t.value for t in carried_totals], dtype=np.int64) + results[0][query_slots]
    if not counted:
        return _with_key(Val(value), k)
    uk = np.zeros((2, qpos.size), dtype=np.int64)
    at = 0
    for runtime, scope in zip(runtimes, scopes, strict=True):
        assert runtime._unkeyed_run is not None
        uk[0, at : at + scope.n] = runtime._unkeyed_run[0][scope.idx]
        uk[1, at : at + scope.n] = runtime._unkeyed_run[1][scope.idx]
        at += scope.n
    unk = np.array([t.unknown for t in carried_totals], dtype=np.int64)
    unx = np.array([t.unexplained for t in carried_totals], dtype=np.int64)
    unk += results[1][query_slots] + uk[0]
    unx += results[2][query_slots] + uk[1]
    return _with_key(_val(value, unk, unx), k)


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
                w_unx = w_unknown & _mask(w.unexplained, m)
            else:
                w_unknown = w_unx = np.zeros(m, dtype=np.bool_)
            v_unknown = _mask(None if v is None else v.unknown, m)
            v_unx = _mask(None if v is None else v.unexplained, m)
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
                keyed_parts.append((idx, kdata, kunk, _mask(k.unexplained, m)))
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


def _constant(count: int, n: int) -> Ints:
    return no_counts(n) if count == 0 else np.broadcast_to(np.int64(count), (n,))


def _mask(m: Bool | None, n: int) -> Bool:
    if m is None:
        return np.zeros(n, dtype=np.bool_)
    return spread(m, n)


def _val(value: Ints, unknown: Ints, unexplained: Ints) -> Val:
    unk = unknown > 0
    if not some(unk):
        return Val(value)
    return Val(value, unk, unk & (unexplained > 0))


def _with_key(v: Val, key: Val) -> Val:
    """An aggregate keyed by an unknown key is unknown too."""
    if key.unknown is None:
        return v
    unknown = key.unknown if v.unknown is None else v.unknown | key.unknown
    kx = key.unexplained if key.unexplained is not None else np.zeros_like(key.unknown)
    unexplained = kx if v.unexplained is None else v.unexplained | kx
    return Val(v.data, unknown, unexplained & unknown)


def _group_ends(start: Ints, n: int) -> Ints:
    """For each opener index, the last row of its group occurrence (itself if alone)."""
    ends = np.arange(n, dtype=np.int64)
    members = np.flatnonzero(start >= 0)
    if members.size:
        np.maximum.at(ends, start[members], members)
    return ends


def closed_openers(chunk: Chunk, group: ir.Group, candidates: Ints) -> Ints:
    """The opener rows among ``candidates`` whose group occurrence ends in this chunk."""
    if candidates.size == 0:
        return candidates
    start = chunk.group_start(group)
    ends = _group_ends(start, chunk.n)[candidates]
    closed = (ends < chunk.n - 1) | chunk.eof
    return np.asarray(candidates[closed], dtype=np.int64)
