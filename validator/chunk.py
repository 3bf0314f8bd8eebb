"""A chunk: the records one evaluation pass sees, as a 2-D byte array.

Input: context records carried from earlier chunks (the previous record, the last record of
each type that rules refer to), the new records of this chunk, and one lookahead record.
Output: per-record columns the evaluator needs: record types, layouts, "last record of type X
at or before this one" (anchors), group membership (which invoice a record belongs to), and
the flags telling which zones already have a finding (to explain unknown values).
"""

from __future__ import annotations

import numpy as np

from compiler import ir
from validator.values import Bool, Bytes2D, Ints

NONE = -1  # record type of "no record" (before the first or after the last)
BAD_TYPE = -2  # record type that is not two digits


def _pair_types() -> Ints:
    """Record type of every two-character key, indexed by its bytes read as one uint16."""
    pairs = np.arange(65536, dtype=np.int64)
    first, second = pairs % 256 - 48, pairs // 256 - 48  # little-endian: first byte low
    ok = (first >= 0) & (first < 10) & (second >= 0) & (second < 10)
    table = np.where(ok, first * 10 + second, BAD_TYPE)
    return table if np.little_endian else table.reshape(256, 256).T.ravel()


_PAIR_TYPES = _pair_types()


def record_types(rows: Bytes2D, key_length: int) -> Ints:
    """The numeric record type of each row, BAD_TYPE where it is not digits."""
    if key_length == 2 and rows.shape[1] >= 2:  # one table lookup per row
        keys = np.ascontiguousarray(rows[:, :2]).view(np.uint16)[:, 0]
        return np.asarray(np.take(_PAIR_TYPES, keys), dtype=np.int64)
    value = np.zeros(rows.shape[0], dtype=np.int64)
    ok = np.ones(rows.shape[0], dtype=np.bool_)
    for k in range(key_length):
        digit = rows[:, k] - np.uint8(48)
        ok &= digit < 10
        value = value * 10 + digit
    return np.where(ok, value, BAD_TYPE)


_LOOKUPS: dict[int, tuple[tuple[ir.Layout, ...], dict[str, int], Ints]] = {}


def _layout_lookup(layouts: tuple[ir.Layout, ...]) -> tuple[dict[str, int], Ints]:
    """Layout index by name, and by 2-digit record type (-1: none); built once per plan."""
    found = _LOOKUPS.get(id(layouts))
    if found is None or found[0] is not layouts:
        index = {lay.name: i for i, lay in enumerate(layouts)}
        lookup = np.full(100, -1, dtype=np.int64)
        for i, lay in enumerate(layouts):
            if lay.key and lay.key.isdigit() and 0 <= int(lay.key) < 100:
                lookup[int(lay.key)] = i
        lookup.flags.writeable = False
        if len(_LOOKUPS) > 16:
            _LOOKUPS.clear()
        found = _LOOKUPS[id(layouts)] = (layouts, index, lookup)
    return found[1], found[2]


class Chunk:
    """Rows plus the per-row facts rules are evaluated against."""

    def __init__(
        self,
        *,
        rows: Bytes2D,
        ordinals: Ints,
        is_new: Bool,
        invoices: Ints,
        layouts: tuple[ir.Layout, ...],
        key_length: int,
        eof: bool,
        final: bool = False,
    ) -> None:
        self.rows = rows
        self.n = rows.shape[0]
        self.ordinals = ordinals
        self.is_new = is_new
        self.invoices = invoices
        self.eof = eof
        self.final = final
        self.layouts = layouts
        self.layout_index, lookup = _layout_lookup(layouts)
        self.types = record_types(rows, key_length) if self.n else np.zeros(0, np.int64)
        valid = (self.types >= 0) & (self.types < 100)
        self.layout_of = np.where(valid, lookup[np.minimum(np.maximum(self.types, 0), 99)], -1)
        self.flags: dict[str, Bool] = {}
        self.flag_count = 0  # calls of ``flag`` so far
        self.flags_at_phase1 = 0  # ``flag_count`` when the rules of phase 1 started
        self.segments: dict[str, np.ndarray] = {}  # segment name -> its characters
        self.segment_flags: dict[str, dict[str, bool]] = {}  # segment -> zones with a finding
        self._indices: dict[str, Ints] = {}
        self._anchors: dict[tuple[str, bool], Ints] = {}
        self._groups: dict[str, Ints] = {}
        self.arange = np.arange(self.n, dtype=np.int64)
        self.scopes: dict[str, object] = {}  # layout -> Scope over all its rows (evaluate.py)
        self._holders: dict[tuple[str, int], Bool] = {}
        self._positions: dict[str, Ints] = {}
        self._last_new: int | None = None
        self.memo: dict[object, np.ndarray] = {}  # per-row values of all its rows (evaluate.py)
        # per group, the context row known to be in no occurrence of it: the records between
        # the context rows are not all here, so an occurrence seen across them may have ended
        self.cut: dict[str, int] = {}

    # ------------------------------------------------------------------ rows by type

    def holds(self, zone: str, offset: int) -> Bool:
        """Per layout index, whether it has a zone of this name at this offset; one more
        entry (False) at the end answers for rows of no known layout (index -1)."""
        key = (zone, offset)
        found = self._holders.get(key)
        if found is None:
            found = np.array(
                [zone in lay.by_name and lay.by_name[zone].offset == offset for lay in self.layouts]
                + [False],
                dtype=np.bool_,
            )
            self._holders[key] = found
        return found

    def rows_of(self, layout: str) -> Ints:
        """The rows of ``layout``, in order (every layout's found at the first call: one
        stable sort of the rows by layout instead of a scan per layout)."""
        found = self._indices.get(layout)
        if found is None:
            if not self._indices:
                shifted = self.layout_of + 1  # -1 (no layout) first
                small = shifted.astype(np.uint8) if len(self.layouts) < 255 else shifted
                order = np.argsort(small, kind="stable")  # a radix sort on uint8
                counts = np.bincount(shifted, minlength=len(self.layouts) + 1)
                bounds = np.cumsum(counts).tolist()
                for lay, start, end in zip(self.layouts, bounds, bounds[1:], strict=False):
                    self._indices[lay.name] = order[start:end]
            found = self._indices.get(layout)
            if found is None:  # not a layout of this chunk
                found = self._indices[layout] = np.zeros(0, dtype=np.int64)
        return found

    def position(self, layout: str) -> Ints:
        """For each row of ``layout``, its index among that layout's rows (0 elsewhere)."""
        found = self._positions.get(layout)
        if found is None:
            found = np.zeros(self.n, dtype=np.int64)
            rows = self.rows_of(layout)
            found[rows] = np.arange(rows.size, dtype=np.int64)
            self._positions[layout] = found
        return found

    def anchor(self, layout: str, strict: bool) -> Ints:
        """Index of the last record of ``layout`` at (or strictly) before each row; -1 if none."""
        key = (layout, strict)
        found = self._anchors.get(key)
        if found is None:
            index = self.layout_index.get(layout, -99)
            marks = np.where(self.layout_of == index, self.arange, -1)
            last = np.maximum.accumulate(marks) if self.n else marks
            if strict:
                last = np.concatenate(([-1], last[:-1])) if self.n else last
            found = last.astype(np.int64)
            self._anchors[key] = found
        return found

    @property
    def last_new(self) -> int:
        """Index of the last new row (-1 if none)."""
        if self._last_new is None:
            new = np.flatnonzero(self.is_new)
            self._last_new = int(new[-1]) if new.size else -1
        return self._last_new

    def last_of(self, layout: str) -> int:
        rows = self.rows_of(layout)
        return int(rows[-1]) if rows.size else -1

    def source_rows(self, idx: Ints, access: str, record: str | None) -> Ints:
        """For rows ``idx``, the row a reference reads from (-1 when there is none)."""
        if access == "previous":
            return idx - 1
        if access == "next":
            nxt = idx + 1
            return np.where(nxt < self.n, nxt, -1)
        assert record is not None
        if access == "final":
            last = self.last_of(record)
            return np.full(idx.shape, last, dtype=np.int64)
        return self.anchor(record, access == "prior")[idx]

    # ------------------------------------------------------------------ groups

    def group_start(self, group: ir.Group) -> Ints:
        """For each row, the index of the opener of the group occurrence it belongs to, or -1."""
        found = self._groups.get(group.name)
        if found is not None:
            return found
        table = np.zeros(len(self.layouts) + 1, dtype=np.bool_)  # by layout index, -1 last
        table[[self.layout_index[m] for m in group.members if m in self.layout_index]] = True
        is_member = table[self.layout_of]
        if group.opener is None or self.n == 0:
            found = np.full(self.n, -1, dtype=np.int64)
        else:
            opener = self.anchor(group.opener, strict=False)
            outside = np.where(~is_member, self.arange, -1)
            boundary = np.maximum.accumulate(outside)
            boundary = np.concatenate(([-1], boundary[:-1]))
            if group.closer is not None:
                boundary = np.maximum(boundary, self.anchor(group.closer, strict=True))
            inside = is_member & (opener >= 0) & (opener > boundary)
            found = np.where(inside, opener, -1)
            cut = self.cut.get(group.name)
            if cut is not None and found[cut] >= 0:  # the occurrence ended before it
                ended = found == found[cut]
                ended[:cut] = False
                found[ended] = -1
        self._groups[group.name] = found
        return found

    def release(self) -> None:
        """Drop everything derived from the rows so the chunk's memory is freed at once."""
        self.scopes.clear()
        self.memo.clear()
        self._anchors.clear()
        self._groups.clear()
        self.flags.clear()

    @property
    def flagged_in_phase1(self) -> bool:
        """Whether the rules of phase 1 flagged zones: values read before miss the flags."""
        return self.flag_count != self.flags_at_phase1

    def forget_values(self) -> None:
        """Drop cached zone values (the transposed records stay) if phase 1 flagged zones:
        the values read before would miss the flags. Without a finding they are the same."""
        if self.flagged_in_phase1:
            for scope in self.scopes.values():
                scope.cache.clear()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ flags

    def flag(self, zone: str, rows: Ints) -> None:
        """Remember that these rows have a finding on the zone named ``zone``."""
        mask = self.flags.get(zone)
        if mask is None:
            mask = np.zeros(self.n, dtype=np.bool_)
            self.flags[zone] = mask
        mask[rows] = True
        self.flag_count += 1

    def flagged(self, zone: str, src: Ints) -> Bool | None:
        mask = self.flags.get(zone)
        if mask is None:
            return None
        return mask[np.maximum(src, 0)]


class ChunkRows:
    """The rows of several chunks one after the other (the chunks of a batch of files), and
    their record types and layouts: one gather serves every file's references to other
    records. Built when first needed, and only for batches of at most ``MAX_BYTES``."""

    MAX_BYTES = 64 * 1024 * 1024

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        starts = np.cumsum([0] + [c.n for c in chunks]).tolist()
        self.offset = {id(c): start for c, start in zip(chunks, starts, strict=False)}
        self.fits = sum(c.rows.nbytes for c in chunks) <= self.MAX_BYTES and all(
            c.n for c in chunks
        )
        self._rows: Bytes2D | None = None
        self._types: Ints | None = None
        self._layout_of: Ints | None = None
        self._sources: dict[tuple[str, str | None], Ints] = {}
        self.memo: dict[object, np.ndarray] = {}  # per-row values of all the rows (evaluate.py)

    @property
    def rows(self) -> Bytes2D:
        if self._rows is None:
            self._rows = np.concatenate([c.rows for c in self.chunks])
        return self._rows

    def source_rows(self, access: str, record: str | None) -> Ints:
        """For every row, the row a reference reads (``Chunk.source_rows`` of its chunk, in
        the batch's rows; -1 when there is none): computed once for all the chunks."""
        key = (access, record)
        found = self._sources.get(key)
        if found is None:
            found = self._sources[key] = self._source_rows(access, record)
        return found

    def _source_rows(self, access: str, record: str | None) -> Ints:
        sizes = [c.n for c in self.chunks]
        starts = np.cumsum([0, *sizes])
        n = int(starts[-1])
        at = np.arange(n, dtype=np.int64)
        if access == "previous":  # none before a chunk's first row
            first = np.repeat(starts[:-1], sizes)
            return np.where(at == first, -1, at - 1)
        if access == "next":  # none after a chunk's last row
            end = np.repeat(starts[1:], sizes)
            return np.where(at + 1 < end, at + 1, -1)
        assert record is not None
        if access == "final":
            lasts = [c.last_of(record) for c in self.chunks]
            firsts = starts[:-1].tolist()
            own = [
                last + first if last >= 0 else -1 for last, first in zip(lasts, firsts, strict=True)
            ]
            return np.repeat(np.array(own, dtype=np.int64), sizes)
        index = self.chunks[0].layout_index.get(record, -99)  # the chunks share their layouts
        last = np.maximum.accumulate(np.where(self.layout_of == index, at, -1))
        if access == "prior":  # strictly before
            last = np.concatenate(([-1], last[:-1]))
        first = np.repeat(starts[:-1], sizes)
        return np.where(last >= first, last, -1)  # not from an earlier chunk

    @property
    def types(self) -> Ints:
        if self._types is None:
            self._types = np.concatenate([c.types for c in self.chunks])
        return self._types

    @property
    def layout_of(self) -> Ints:
        if self._layout_of is None:
            self._layout_of = np.concatenate([c.layout_of for c in self.chunks])
        return self._layout_of
