"""Scopes: the records of one type in one chunk (or in several files' chunks, joined) that
expressions are evaluated on, with what closures need beyond them (``Env``).

Input: a chunk (``validator.chunk``), a layout, the rows of that layout.
Output: the records transposed once (a zone of width w over n records is a contiguous
``(w, n)`` block), each record's governing dates and the rules in force on it, the zones
already flagged by findings; joined scopes are their parts one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from compiler import ir
from validator.chunk import Chunk, ChunkRows
from validator.values import (
    Bool,
    Ints,
    Val,
    some,
    spread,
)

if TYPE_CHECKING:
    from compiler import Compiled

Fn = Callable[["Scope"], Val]

TRANSPOSE_BLOCK = 256  # records per block when transposing (measured best for 350-byte rows)


class AggregateValues(Protocol):
    """An aggregate's running values in one validation (``validator.aggregates``)."""

    def value_at(self, scope: Scope) -> Val:
        """Its value for each record of the scope."""

    def joined_value(self, runtimes: list[AggregateValues], scope: Scope) -> Val:
        """Its values for a joined scope, ``runtimes[i]`` being the aggregate in the
        validation of ``scope.parts[i]``."""


@dataclass(slots=True)
class Env:
    """What closures need beyond the chunk: the rulebook's data and the reference dates."""

    compiled: Compiled
    today: int
    as_of: int | None
    date_fns: dict[tuple[str, str], Fn] = field(default_factory=dict)
    aggregates: dict[int, AggregateValues] = field(default_factory=dict)  # by id of the node


# every governing date lies in this range (dates of the calendar, YYYYMMDD)
FIRST_DATE, LAST_DATE = ir.FIRST_DATE, ir.LAST_DATE


class Scope:
    """The records of one layout in one chunk that an expression is evaluated on."""

    def __init__(self, chunk: Chunk, layout: ir.Layout, idx: Ints, env: Env) -> None:
        self.chunk = chunk
        self.layout = layout
        self.idx = idx
        self.n = int(idx.shape[0])
        self.env = env
        self.cache: dict[object, Val] = {}
        self._gov: dict[str, Ints] = {}
        self._activity: dict[tuple[str, int, int], Bool | bool] = {}
        self.segment_row: np.ndarray | None = None  # set when the scope is a segment
        self.seg_flags: dict[str, bool] | None = None  # zones of that segment with a finding
        self._cols: np.ndarray | None = None
        self._batch_rows: Ints | None = None
        self._batch_positions: Ints | None = None
        self._segments: np.ndarray | None = None  # joined segment scope: (length, files)
        # joined scopes of a batch by (layout, ids of their chunks), shared by its passes
        self.registry: dict[tuple[str, tuple[int, ...]], Scope] | None = None
        self.parts: tuple[Scope, ...] | None = None  # set on a joined scope
        self.sizes: list[int] = []  # records of each part
        self.batch: ChunkRows | None = None  # the parts' chunks' rows one after the other
        self._sources: dict[tuple[str, str | None], Ints] = {}

    @classmethod
    def joined(cls, parts: list[Scope], batch: ChunkRows | None = None) -> Scope:
        """The records of one layout in several chunks (one file each), one after the other.

        Expressions run once over all of them: the fixed cost of a rule (tens of numpy
        calls) is paid once per batch of files instead of once per file. What depends on
        a file's other records (previous / next / anchor records, record types, segments,
        aggregates) is read in each part's own chunk and joined (``join_vals``), or, when the
        parts' chunks are those of ``batch``, in its rows one after the other; a joined scope
        has no chunk or row indexes of its own (``idx`` is empty).
        """
        first = parts[0]
        scope = cls(first.chunk, first.layout, np.zeros(0, dtype=np.int64), first.env)
        scope.parts = tuple(parts)
        if batch is not None and batch.fits and all(id(p.chunk) in batch.offset for p in parts):
            scope.batch = batch
        scope.sizes = [p.n for p in parts]
        scope.n = sum(scope.sizes)
        return scope

    @property
    def is_segment(self) -> bool:
        """Whether the scope reads a segment (its characters are not chunk rows)."""
        return self.segment_row is not None or (
            self.parts is not None and self.parts[0].segment_row is not None
        )

    def sources(self, access: str, record: str | None) -> Ints:
        """For a joined scope with a batch: the record each record reads (``access`` of
        ``record``), as an index in the batch's rows (-1: none)."""
        key = (access, record)
        found = self._sources.get(key)
        if found is None:
            assert self.parts is not None and self.batch is not None
            found = self.batch.source_rows(access, record)[self.batch_rows]
            self._sources[key] = found
        return found

    def own_sources(self, access: str, record: str | None) -> list[Ints]:
        """``sources`` as an index in each part's chunk (-1: none)."""
        assert self.parts is not None and self.batch is not None
        rows = self.sources(access, record)
        own = []
        at = 0
        for p in self.parts:
            mine = rows[at : at + p.n]
            own.append(np.where(mine < 0, -1, mine - self.batch.offset[id(p.chunk)]))
            at += p.n
        return own

    @property
    def batch_rows(self) -> Ints:
        """For a joined scope with a batch: its records' rows in the batch's rows."""
        if self._batch_rows is None:
            assert self.parts is not None and self.batch is not None
            offset = self.batch.offset
            self._batch_rows = np.concatenate([p.idx + offset[id(p.chunk)] for p in self.parts])
        return self._batch_rows

    @property
    def batch_positions(self) -> Ints:
        """The inverse of ``batch_rows``: for each of the batch's rows, its position in this
        scope (-1: not one of its records)."""
        if self._batch_positions is None:
            assert self.batch is not None
            at = np.full(self.batch.layout_of.shape[0], -1, dtype=np.int64)
            at[self.batch_rows] = np.arange(self.n, dtype=np.int64)
            self._batch_positions = at
        return self._batch_positions

    def each(self, fn: Callable[[Scope], Val]) -> Val:
        """``fn`` on each part of a joined scope, joined."""
        assert self.parts is not None
        return join_vals([fn(p) for p in self.parts], self.sizes)

    def flagged(self, zone: str) -> Bool | None:
        """Records whose zone ``zone`` already has a finding (None: none has)."""
        if self.segment_row is not None:
            flags = self.seg_flags
            return None if flags is None else np.full(self.n, flags.get(zone, False))
        if self.parts is None:
            return self.chunk.flagged(zone, self.idx)
        if not self.is_segment:
            if not any(zone in p.chunk.flags for p in self.parts):
                return None  # the usual case: no finding on this zone in any of the files
        elif all(p.n == 1 and p.seg_flags is not None for p in self.parts):  # one per file
            return np.array([bool(p.seg_flags.get(zone, False)) for p in self.parts])  # type: ignore[union-attr]
        return join_masks([p.flagged(zone) for p in self.parts], self.sizes)

    @property
    def cols(self) -> np.ndarray:
        """This scope's records, transposed once: one contiguous row per character position."""
        if self._cols is None:
            if self.batch is not None and self.parts is not None:  # one gather
                self._cols = gather_transposed(self.batch.rows, self.batch_rows)
            elif self.parts is not None:
                self._cols = np.concatenate([p.cols for p in self.parts], axis=1)
            else:
                self._cols = gather_transposed(self.chunk.rows, self.idx)
        return self._cols

    def text(self, offset: int, length: int) -> np.ndarray:
        """The characters of positions offset .. offset+length as a (length, n) array."""
        if self.segment_row is not None:
            return np.broadcast_to(
                self.segment_row[offset : offset + length, None], (length, self.n)
            )
        if self.parts is not None and self.is_segment:
            if self._segments is None:  # the files' segments side by side, one column each
                raws = [p.segment_row for p in self.parts]
                same = all(r is not None and r.shape == raws[0].shape for r in raws)  # type: ignore[union-attr]
                if same and all(p.n == 1 for p in self.parts):
                    self._segments = np.stack(raws, axis=1)  # type: ignore[arg-type]
                else:
                    return np.concatenate([p.text(offset, length) for p in self.parts], axis=1)
            return self._segments[offset : offset + length]
        return self.cols[offset : offset + length]

    def gov(self, name: str) -> Ints:
        """The governing date of each record (the reference date where it cannot be read)."""
        found = self._gov.get(name)
        if found is None:
            env = self.env
            if env.as_of is not None:
                found = np.full(self.n, env.as_of, dtype=np.int64)
            else:
                fn = env.date_fns.get((name, self.layout.name))
                if fn is None:
                    found = np.full(self.n, env.today, dtype=np.int64)
                else:
                    v = fn(self)
                    data = spread(np.asarray(v.data, dtype=np.int64), self.n)
                    month, day = data // 100 % 100, data % 100
                    bad = (data < 10000101) | (data > 99991231) | (month < 1) | (month > 12)
                    bad |= (day < 1) | (day > 31)
                    if v.unknown is not None:
                        bad = bad | v.unknown
                    found = np.where(bad, env.today, data)
            self._gov[name] = found
        return found

    def activity(self, gov: str, start: int, end: int) -> Bool | bool:
        """Which records a rule valid from start to end applies to: True (all), False (none)
        or a mask. Computed once per scope for each distinct period."""
        if start <= FIRST_DATE and end >= LAST_DATE:
            return True  # in force on any date: the governing dates are not needed
        key = (gov, start, end)
        found = self._activity.get(key)
        if found is None:
            dates = self.gov(gov)
            active = (dates >= start) & (dates <= end)
            found = (
                True if np.logical_and.reduce(active) else (False if not some(active) else active)
            )
            self._activity[key] = found
        return found


def gather_transposed(rows: np.ndarray, idx: Ints) -> np.ndarray:
    """rows[idx].T without materialising rows[idx]: gathered and transposed block by block
    (``take`` gathers whole rows faster than fancy indexing)."""
    n = idx.shape[0]
    out = np.empty((rows.shape[1], n), dtype=rows.dtype)
    for start in range(0, n, TRANSPOSE_BLOCK):
        block = idx[start : start + TRANSPOSE_BLOCK]
        out[:, start : start + TRANSPOSE_BLOCK] = rows.take(block, axis=0).T
    return out


def layout_scope(chunk: Chunk, layout: ir.Layout, env: Env) -> Scope:
    """The scope of all records of ``layout`` in a chunk, shared by every rule and aggregate."""
    found = chunk.scopes.get(layout.name)
    if not isinstance(found, Scope):
        found = Scope(chunk, layout, chunk.rows_of(layout.name), env)
        chunk.scopes[layout.name] = found
    return found


def join_vals(vals: list[Val], sizes: list[int]) -> Val:
    """Values computed on the parts of a joined scope (``sizes`` records each), one after
    the other: constants are broadcast to their part, a mask absent from a part is False
    there."""
    datas = []
    for v, n in zip(vals, sizes, strict=True):
        data = np.asarray(v.data)
        if data.ndim == 0:
            data = spread(data, n)
        elif data.ndim == 2 and data.shape[1] != n:
            data = np.broadcast_to(data, (data.shape[0], n))
        datas.append(data)

    return Val(
        np.concatenate(datas, axis=-1),
        join_masks([v.unknown for v in vals], sizes),
        join_masks([v.unexplained for v in vals], sizes),
        join_masks([v.flagged for v in vals], sizes),
    )


def join_masks(masks: list[Bool | None], sizes: list[int]) -> Bool | None:
    """Masks of the parts of a joined scope (``sizes`` records each), one after the other;
    a part without a mask is False there."""
    if all(m is None for m in masks):
        return None
    joined = np.zeros(sum(sizes), dtype=np.bool_)
    at = 0
    for m, n in zip(masks, sizes, strict=True):
        if m is not None:
            joined[at : at + n] = m
        at += n
    return joined
