"""Control digits' sums (``charsum`` of an own even-aligned span with a character map) two
characters per table lookup, computed once for all the rows of a chunk (or of a batch's
chunks) and picked per record type: every record type's control digit covers the same span.
"""

from __future__ import annotations

import numpy as np

from validator.scope import Fn, Scope
from validator.values import Val

# records per block of the control digits' sum: np.take copies its uint16 indices as intp,
# 512 x 174 x 8 bytes = 0.7 MB with the output; 4,096 (5.7 MB) cost ~100 more page faults
# per batch of ten 1,000-record files and measured no faster
CHARSUM_BLOCK = 512

_PAIR_TABLES: dict[tuple[int, ...], np.ndarray] = {}


def pair_table(values: tuple[int, ...]) -> np.ndarray:
    """A character map for two characters at once: 65,536 sums indexed by a uint16."""
    found = _PAIR_TABLES.get(values)
    if found is None:
        lut = np.asarray(values, dtype=np.uint16)
        found = (lut[None, :] + lut[:, None]).reshape(-1)
        _PAIR_TABLES[values] = found
    return found


def pair_charsum(span: tuple[int, int], values: tuple[int, ...], fallback: Fn) -> Fn:
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
