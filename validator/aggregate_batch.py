"""Aggregates over the chunks of a batch (one per file) computed at once: running sums in one
pass over all the files' records, keyed totals sorted once, each file's share folded into its
own runtime (``validator.aggregates.AggRuntime``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from compiler import ir
from validator.chunk import Chunk, ChunkRows
from validator.contributions import (
    NO_TOTALS,
    Contributions,
    Totals,
    counted,
    group_ends,
    no_counts,
    with_key,
)
from validator.scope import Scope
from validator.values import Bool, Ints, Val, int_sums, some, spread

if TYPE_CHECKING:
    from validator.aggregates import AggRuntime


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
        found = batch.memo[key] = group_ends(start, start.size)
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
    tainted = any(r.tainted for r in runtimes)  # else every count is 0: values only
    results = []
    for column in (2, 3, 4) if tainted else (2,):
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
    if not tainted:
        return with_key(Val(value), k)
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
    return with_key(counted(value, unk, unx), k)
