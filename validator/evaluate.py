"""The evaluator: IR expressions compiled once into closures over numpy columns.

Input: IR expressions of the compiled rulebook.
Output: for each expression a function ``Scope -> Val``; a scope is the set of records of one
type in one chunk. The scope transposes its records once, so a zone of width w over n
records is a contiguous ``(w, n)`` block and every check is a few full-width vector
operations: the cost per record is nanoseconds per rule, not an interpreter step per
character.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from compiler import ir
from compiler.screens import own_span
from validator.chunk import NONE, Chunk, ChunkRows
from validator.functions import FUNCTIONS, parse_digits
from validator.values import (
    Bool,
    Ints,
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

Fn = Callable[["Scope"], Val]

# records per block of the control digits' sum: np.take copies its uint16 indices as intp,
# 512 x 174 x 8 bytes = 0.7 MB with the output; 4,096 (5.7 MB) cost ~100 more page faults
# per batch of ten 1,000-record files and measured no faster
CHARSUM_BLOCK = 512
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
FIRST_DATE, LAST_DATE = 10101, 99991231


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


_PAIR_TABLES: dict[tuple[int, ...], np.ndarray] = {}


def pair_table(values: tuple[int, ...]) -> np.ndarray:
    """A character map for two characters at once: 65,536 sums indexed by a uint16."""
    found = _PAIR_TABLES.get(values)
    if found is None:
        lut = np.asarray(values, dtype=np.uint16)
        found = (lut[None, :] + lut[:, None]).reshape(-1)
        _PAIR_TABLES[values] = found
    return found


def layout_scope(chunk: Chunk, layout: ir.Layout, env: Env) -> Scope:
    """The scope of all records of ``layout`` in a chunk, shared by every rule and aggregate."""
    found = chunk.scopes.get(layout.name)
    if not isinstance(found, Scope):
        found = Scope(chunk, layout, chunk.rows_of(layout.name), env)
        chunk.scopes[layout.name] = found
    return found


# --------------------------------------------------------------------------- zones


def parse_zone(text: np.ndarray, zone: ir.Zone, raw: bool) -> tuple[np.ndarray, Bool | None]:
    """(value, invalid records) of a zone's (width, n) characters."""
    if raw or zone.kind == "A":
        return text, None
    if zone.kind == "S":
        sign = text[0]
        mag = text[1:]
        digits, value = parse_digits(mag)
        ok = ((sign == 43) | (sign == 45)) & digits
        if not np.logical_and.reduce(ok):
            value = np.where(ok, value, 0)  # as for a magnitude that is not all digits
        return np.where(sign == 45, -value, value), ~ok
    ok, value = parse_digits(text)
    return value, ~ok


def _take(v: Val, pos: Ints, missing: Bool) -> Val:
    """Values of another scope's records at positions ``pos`` (missing rows: explained)."""
    data = np.asarray(v.data)
    data = data.take(pos, axis=-1)  # along the records (faster than fancy indexing in 2-D)
    unknown = missing if v.unknown is None else v.unknown[pos] | missing
    unexplained = None if v.unexplained is None else v.unexplained[pos] & ~missing
    flagged = None if v.flagged is None else v.flagged[pos]
    return Val(data, unknown if some(unknown) else None, unexplained, flagged)


_OWN_REFS: dict[int, tuple[ir.ZoneRef, ir.ZoneRef]] = {}  # id(ref) -> (ref, own ref)


def own_ref(ref: ir.ZoneRef) -> ir.ZoneRef:
    """The same zone read on its own record (cached: IR nodes are immutable)."""
    found = _OWN_REFS.get(id(ref))  # by identity: IR nodes hash deeply; ref is kept alive
    if found is None:
        own = ir.ZoneRef(
            access="self", record=ref.zone.layout, zone=ref.zone, raw=ref.raw, ty=ref.ty
        )
        found = _OWN_REFS[id(ref)] = (ref, own)
    return found[1]


def zone_value(scope: Scope, ref: ir.ZoneRef) -> Val:
    key = (ref.access, ref.record, ref.zone.name, ref.raw)
    cached = scope.cache.get(key)
    if cached is not None:
        return cached
    chunk = scope.chunk
    if (
        scope.parts is None
        and ref.access in ("anchor", "prior", "final")
        and ref.record is not None
        and chunk.n
        and ref.record in chunk.layout_index
        and chunk.rows_of(ref.record).size
    ):
        # parse the zone once in its own record type's scope, then pick the anchor rows
        src = chunk.source_rows(scope.idx, ref.access, ref.record)
        target = layout_scope(chunk, chunk.layouts[chunk.layout_index[ref.record]], scope.env)
        own = zone_value(target, own_ref(ref))
        found = _take(own, chunk.position(ref.record)[np.maximum(src, 0)], src < 0)
        scope.cache[key] = found
        return found
    if scope.batch is not None and ref.access in ("anchor", "prior", "final"):
        taken = batch_take(scope, ref)
        if taken is not None:
            scope.cache[key] = taken
            return taken
    if ref.access == "segment":
        # one value per file, read once, then spread over its records
        parts, sizes = (
            (scope.parts, scope.sizes) if scope.parts is not None else ((scope,), [scope.n])
        )
        found = repeat_val(sourced_value(*segment_sources(parts, ref), ref), sizes)
        scope.cache[key] = found
        return found
    if scope.batch is not None and ref.access in ("previous", "next", "anchor", "prior", "final"):
        text, missing, flagged = batch_source(scope, ref)
    elif scope.parts is not None and ref.access != "self":
        # each file's characters, parsed once (a missing record's characters never count)
        sources = [zone_source(part, ref) for part in scope.parts]
        text = np.concatenate([t for t, _, _ in sources], axis=1)
        missing = join_masks([m for _, m, _ in sources], scope.sizes)
        flagged = join_masks([f for _, _, f in sources], scope.sizes)
    else:
        text, missing, flagged = zone_source(scope, ref)
    result = sourced_value(text, missing, flagged, ref)
    scope.cache[key] = result
    return result


def sourced_value(
    text: np.ndarray, missing: Bool | None, flagged: Bool | None, ref: ir.ZoneRef
) -> Val:
    """A zone's value from its characters as the records see them (``zone_source``): a
    character that does not fit the zone's format makes the value unknown, unexplained
    unless the record is missing or the zone already has a finding."""
    data, invalid = parse_zone(text, ref.zone, ref.raw)
    unknown = missing
    unexplained = None
    if invalid is not None and some(invalid):
        fresh = invalid if missing is None else invalid & ~missing
        unexplained = fresh if flagged is None else fresh & ~flagged
        unknown = invalid if missing is None else invalid | missing
    if unknown is not None and not some(unknown):
        unknown = None
    return Val(data, unknown, unexplained, flagged)


def segment_sources(
    parts: tuple[Scope, ...], ref: ir.ZoneRef
) -> tuple[np.ndarray, Bool | None, Bool | None]:
    """A segment's zone as ``zone_source`` gives other zones, but with one column per part's
    file (not per record): the characters of each file's segment, the files without that
    segment, and those whose zone has a finding."""
    zone = ref.zone
    text = np.full((zone.length, len(parts)), 32, dtype=np.uint8)
    missing = np.zeros(len(parts), dtype=np.bool_)
    flagged = np.zeros(len(parts), dtype=np.bool_)
    for f, part in enumerate(parts):
        chunk = part.chunk
        seg = chunk.segments.get(ref.record or "")
        if seg is None:
            missing[f] = True
        else:
            text[:, f] = seg[zone.offset : zone.end]
            flagged[f] = chunk.segment_flags.get(ref.record or "", {}).get(zone.name, False)
    return text, missing if missing.any() else None, flagged if flagged.any() else None


def repeat_val(v: Val, sizes: list[int]) -> Val:
    """A value with one entry per file, repeated for each of the file's ``sizes`` records."""
    counts = np.asarray(sizes, dtype=np.int64)

    def rep(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.repeat(a, counts, axis=-1)

    return Val(
        np.repeat(np.asarray(v.data), counts, axis=-1),
        rep(v.unknown),
        rep(v.unexplained),
        rep(v.flagged),
    )


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


def zone_source(scope: Scope, ref: ir.ZoneRef) -> tuple[np.ndarray, Bool | None, Bool | None]:
    """A zone's characters as the scope's records see it, (width, n), with the records for
    which there is no such record (``missing``) and those whose zone has a finding (a
    segment's zones: ``segment_sources``)."""
    zone = ref.zone
    chunk = scope.chunk
    missing: Bool | None = None
    flagged: Bool | None = None
    if ref.access == "self":
        text = scope.text(zone.offset, zone.length)
        flagged = scope.flagged(zone.name)
    elif chunk.n == 0:
        text = np.zeros((zone.length, scope.n), dtype=np.uint8)
        missing = np.ones(scope.n, dtype=np.bool_)
    else:
        src = chunk.source_rows(scope.idx, ref.access, ref.record)
        text, missing = read_records(chunk, chunk.rows, chunk.layout_of, src, ref)
        flagged = chunk.flagged(zone.name, src)
    return text, missing, flagged


def read_records(
    chunk: Chunk, rows: np.ndarray, layout_of: Ints, src: Ints, ref: ir.ZoneRef
) -> tuple[np.ndarray, Bool]:
    """The zone's characters in rows ``src`` of ``rows`` (-1: no such record), and the
    records missing: none, or (previous / next record) one without that zone."""
    zone = ref.zone
    safe = np.maximum(src, 0)
    missing = src < 0
    if ref.access in ("previous", "next"):
        holds = chunk.holds(zone.name, zone.offset)  # by layout index, -1 last
        missing = missing | ~holds[layout_of[safe]]
    return np.ascontiguousarray(rows[safe, zone.offset : zone.end].T), missing


def batch_take(scope: Scope, ref: ir.ZoneRef) -> Val | None:
    """For a joined scope with a batch, a zone of a given record type (anchor, prior or
    final): parsed once on that record type's joined scope (the one its own rules use, from
    ``registry``), then picked for each record, as ``zone_value`` does on one chunk. None
    when the batch has no record of that type or the scope no registry."""
    found = None if ref.record is None else batch_sources(scope, ref.access, ref.record)
    if found is None:
        return None
    target, positions, missing = found
    return _take(zone_value(target, own_ref(ref)), positions, missing)


def batch_sources(scope: Scope, access: str, record: str) -> tuple[Scope, Ints, Bool] | None:
    """For a joined scope with a batch, the records of type ``record`` its records read
    (``access``: anchor, prior or final): the joined scope of that type's records (the one
    its own rules use, from ``registry``), each record's position in it, and the records
    that have none. None when the batch has no record of that type or the scope no registry."""
    assert scope.parts is not None and scope.batch is not None
    chunk = scope.parts[0].chunk
    if scope.registry is None or record not in chunk.layout_index:
        return None
    layout = chunk.layouts[chunk.layout_index[record]]
    holders = [p for p in scope.parts if p.chunk.rows_of(record).size]
    if len(holders) < 2:
        return None
    key = (layout.name, tuple(id(p.chunk) for p in holders))
    target = scope.registry.get(key)
    if target is None:
        parts = [layout_scope(p.chunk, layout, p.env) for p in holders]
        target = scope.registry[key] = Scope.joined(parts, scope.batch)
        target.registry = scope.registry
    if target.parts is None or target.batch is not scope.batch:
        return None
    rows = scope.sources(access, record)  # in the batch's rows, -1: none
    return target, target.batch_positions[np.maximum(rows, 0)], rows < 0


def chunk_sources(scope: Scope, access: str, record: str) -> tuple[Scope, Ints, Bool] | None:
    """``batch_sources`` for the scope of one chunk: the scope of the chunk's ``record``
    records, the position in it of the one each record reads, and the records without one."""
    chunk = scope.chunk
    if record not in chunk.layout_index:
        return None
    target = layout_scope(chunk, chunk.layouts[chunk.layout_index[record]], scope.env)
    src = chunk.source_rows(scope.idx, access, record)
    return target, np.searchsorted(target.idx, np.maximum(src, 0)), src < 0


def batch_source(scope: Scope, ref: ir.ZoneRef) -> tuple[np.ndarray, Bool | None, Bool | None]:
    """``zone_source`` for a joined scope with a batch: the records read, gathered at once
    from the batch's rows (a missing record's characters never count)."""
    assert scope.parts is not None and scope.batch is not None
    zone = ref.zone
    rows = scope.sources(ref.access, ref.record)
    batch = scope.batch
    text, missing = read_records(scope.parts[0].chunk, batch.rows, batch.layout_of, rows, ref)
    flagged = None
    if any(zone.name in p.chunk.flags for p in scope.parts):
        own = scope.own_sources(ref.access, ref.record)
        flagged = join_masks(
            [p.chunk.flagged(zone.name, src) for p, src in zip(scope.parts, own, strict=True)],
            scope.sizes,
        )
    return text, missing, flagged


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


def as_columns(v: Val, n: int) -> Val:
    """A text value with one column per record (constants are broadcast)."""
    data = np.asarray(v.data)
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    if data.shape[1] != n:
        data = np.broadcast_to(data, (data.shape[0], n))
    return Val(data, v.unknown, v.unexplained, v.flagged)


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
            constant = Val.const(_version_value(versions, FIRST_DATE, width))
            return lambda scope: constant  # one value on any date

        def fn(scope: Scope) -> Val:
            dates = scope.gov(gov_name)
            first = dates[0] if scope.n else 0
            if scope.n == 0 or bool(np.all(dates == first)):
                return Val.const(_version_value(versions, int(first), width))
            values = [Val.const(_version_value(versions, int(d), width)).data for d in dates]
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
                return self._pair_charsum(span, values, self._generic_call(e))
        return self._generic_call(e)

    def _pair_charsum(self, span: tuple[int, int], values: tuple[int, ...], fallback: Fn) -> Fn:
        """charsum of an own even-aligned span, two characters per table lookup, computed
        once for all the rows of the chunk (or of the batch's chunks) and picked per
        record type: every record type's control digit covers the same span."""
        table = pair_table(values)
        offset, length = span
        # the sum's type: the smallest that cannot overflow (uint16 for the usual maps)
        total = np.uint16 if length * max(values, default=0) <= 0xFFFF else np.uint32
        key = ("charsum", offset, length, values)

        def sums(rows: np.ndarray, memo: dict[object, np.ndarray]) -> np.ndarray:
            found = memo.get(key)
            if found is None:
                pairs = rows[:, offset : offset + length].view(np.uint16)
                found = memo[key] = np.empty(rows.shape[0], dtype=total)
                # block by block: the lookup's index copy stays small (memory bound)
                for at in range(0, rows.shape[0], CHARSUM_BLOCK):
                    block = np.take(table, pairs[at : at + CHARSUM_BLOCK])
                    np.add.reduce(block, axis=1, dtype=total, out=found[at : at + CHARSUM_BLOCK])
            return found

        def fn(scope: Scope) -> Val:
            if scope.is_segment or max(values) > 255:
                return fallback(scope)
            if scope.parts is None:
                chunk = scope.chunk
                picked = sums(chunk.rows, chunk.memo)[scope.idx]
            elif scope.batch is not None:
                batch = scope.batch
                picked = sums(batch.rows, batch.memo)[scope.batch_rows]
            else:
                return scope.each(fn)
            return Val(picked.astype(np.int64))

        return fn

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


def _version_value(versions: tuple[ir.Version, ...], date: int, width: int | None = None) -> object:
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
