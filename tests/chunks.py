"""Chunks built directly from rows, for tests of the validator's per-chunk machinery: every
row new, numbered from 0, no invoice, the rulebook's record layouts."""

from __future__ import annotations

import numpy as np

from compiler import Compiled
from validator.chunk import Chunk


def chunk_of_rows(compiled: Compiled, rows: np.ndarray) -> Chunk:
    n = rows.shape[0]
    return Chunk(
        rows=rows,
        ordinals=np.arange(n, dtype=np.int64),
        is_new=np.ones(n, dtype=np.bool_),
        invoices=np.zeros(n, dtype=np.int64),
        layouts=tuple(compiled.layouts[name] for name in compiled.message.records),
        key_length=compiled.message.key_length,
        eof=True,
    )
