"""The control-digit sum (``charsum`` over a record span): the two-characters-per-lookup path
computed once per chunk or batch gives the generic function's values, on one chunk and on
a batch of chunks, for the shipped character map and for one whose sums pass 65,535."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import Compiled
from tests.chunks import chunk_of_rows
from validator import charsum as pairs
from validator.chunk import ChunkRows
from validator.functions import charsum
from validator.scope import Env, Scope, layout_scope
from validator.values import Val

ALPHABET = b"0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+-/.,*\xe9"


def records(compiled: Compiled, data: st.DataObject, key: bytes) -> np.ndarray:
    length = compiled.message.record_length
    n = data.draw(st.integers(min_value=1, max_value=6))
    picks = data.draw(st.lists(st.binary(min_size=length, max_size=length), min_size=n, max_size=n))
    rows = np.array(
        [[ALPHABET[b % len(ALPHABET)] for b in p] for p in picks], dtype=np.uint8
    ).reshape(n, length)
    rows[:, : len(key)] = np.frombuffer(key, dtype=np.uint8)
    return rows


def expected(rows: np.ndarray, span: tuple[int, int], values: tuple[int, ...]) -> list[int]:
    offset, length = span
    text = Val(np.ascontiguousarray(rows[:, offset : offset + length].T))
    sums = charsum(text, Val(np.asarray(values, dtype=np.int64)))
    return [int(x) for x in np.asarray(sums.data)]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), big=st.booleans(), block=st.sampled_from([1, 2, 512, 4096]))
def test_charsum_once_per_chunk_and_batch_matches_the_function(
    compiled: Compiled, data: st.DataObject, big: bool, block: int
) -> None:
    saved, pairs.CHARSUM_BLOCK = pairs.CHARSUM_BLOCK, block  # sums block by block
    try:
        check_charsum(compiled, data, big)
    finally:
        pairs.CHARSUM_BLOCK = saved


def check_charsum(compiled: Compiled, data: st.DataObject, big: bool) -> None:
    shipped = compiled.charmaps["control_characters"].values
    values = tuple(200 + v % 56 for v in shipped) if big else shipped  # 348 * 255 > 65,535
    span = (0, 348)
    layout = compiled.layouts["ET50"]
    fn = pairs.pair_charsum(span, values, lambda scope: Val(np.zeros(scope.n, dtype=np.int64)))
    env = Env(compiled=compiled, today=20261101, as_of=None)
    files = [records(compiled, data, b"50"), records(compiled, data, b"50")]
    chunks = [chunk_of_rows(compiled, rows) for rows in files]
    for rows, chunk in zip(files, chunks, strict=True):  # each chunk alone
        got = np.asarray(fn(layout_scope(chunk, layout, env)).data).tolist()
        assert got == expected(rows, span, values)
    batch = ChunkRows(chunks)
    joined = Scope.joined([layout_scope(c, layout, env) for c in chunks], batch)
    assert joined.batch is batch
    got = np.asarray(fn(joined).data).tolist()
    assert got == expected(np.concatenate(files), span, values)
    assert max(got) > 0xFFFF if big else max(got) < 0xFFFF
