"""The rows a reference reads (previous, next, anchor, prior, final record), computed once
for the chunks of a batch (``ChunkRows.source_rows``), are each chunk's own
(``Chunk.source_rows``) moved to the batch's rows: never a record of another file."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compiler import Compiled
from tests.chunks import chunk_of_rows
from validator.chunk import BAD_TYPE, Chunk, ChunkRows, record_types

TYPES = ["10", "20", "50", "51", "80", "90", "95", "96"]
REFERENCES = [("previous", None), ("next", None)] + [
    (access, record)
    for access in ("anchor", "prior", "final")
    for record in ("ET10", "ET20", "ET50", "ET80", "ET96")
]


def chunk_of(compiled: Compiled, types: list[str]) -> Chunk:
    length = compiled.message.record_length
    rows = np.full((len(types), length), ord("0"), dtype=np.uint8)
    for i, key in enumerate(types):
        rows[i, :2] = np.frombuffer(key.encode(), dtype=np.uint8)
    return chunk_of_rows(compiled, rows)


@settings(max_examples=60, deadline=None)
@given(
    files=st.lists(st.lists(st.sampled_from(TYPES), min_size=1, max_size=8), min_size=1, max_size=4)
)
def test_batch_source_rows_are_each_chunks_own(compiled: Compiled, files: list[list[str]]) -> None:
    chunks = [chunk_of(compiled, types) for types in files]
    batch = ChunkRows(chunks)
    for access, record in REFERENCES:
        expected = []
        for chunk in chunks:
            own = chunk.source_rows(np.arange(chunk.n, dtype=np.int64), access, record)
            expected += [-1 if r < 0 else r + batch.offset[id(chunk)] for r in own.tolist()]
        assert batch.source_rows(access, record).tolist() == expected, (access, record)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=3, max_size=3), min_size=1, max_size=30))
@example([b"5:0", b":50", b"/00", b"0/0", b"99a", b"000", b"999"])  # the digits' edges
def test_record_types_of_two_character_keys(keys: list[bytes]) -> None:
    """The one-lookup path for 2-character keys reads what the digits say, BAD_TYPE else;
    the same as the general path (a key of 3 characters, its last one cut)."""
    rows = np.array([list(k) for k in keys], dtype=np.uint8)
    expected = [
        int(k[:2].decode("latin-1")) if all(48 <= b <= 57 for b in k[:2]) else BAD_TYPE
        for k in keys
    ]
    assert record_types(rows, 2).tolist() == expected
    digits3 = [
        int(k.decode("latin-1")) if all(48 <= b <= 57 for b in k) else BAD_TYPE for k in keys
    ]
    assert record_types(rows, 3).tolist() == digits3
